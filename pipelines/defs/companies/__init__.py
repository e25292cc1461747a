"""Company reference data (constituents, vendor fundamentals snapshot)."""
