"""Company reference data (constituents, vendor fundamentals snapshot)."""

from dagster import Definitions

from pipelines.defs.companies.assets import companies, company_financials

defs = Definitions(assets=[companies, company_financials])
