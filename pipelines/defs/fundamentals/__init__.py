"""SEC fundamentals: the ticker -> CIK map and XBRL companyfacts as a long raw table."""

from dagster import Definitions

from pipelines.defs.fundamentals.assets import sec_company_tickers, sec_facts

defs = Definitions(assets=[sec_company_tickers, sec_facts])
