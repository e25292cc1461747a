"""Fundamentals, raw layer: SEC (the ticker -> CIK map, XBRL companyfacts as a long table; ``assets.py``)
and Korea (DART annual key accounts, ``dart.py``; KRX's vendor ratios from stored portal
responses, ``krx_valuation.py``)."""
