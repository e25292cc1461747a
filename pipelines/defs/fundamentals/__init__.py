"""SEC fundamentals: the ticker -> CIK map and XBRL companyfacts as a long raw table."""
