"""CDK constructs for the Connect User Profile Manager, one per capability."""
