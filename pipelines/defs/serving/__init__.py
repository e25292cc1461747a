"""Publishing the built warehouse to readers (the atomic read-only snapshot)."""
