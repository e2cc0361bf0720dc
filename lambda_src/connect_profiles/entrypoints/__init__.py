"""The two front doors, kept thin: the `connect-profiles` command and the Lambda handler."""
