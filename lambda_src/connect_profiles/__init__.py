"""Connect User Profile Manager: bulk-apply Amazon Connect routing proficiencies from CSV files."""
