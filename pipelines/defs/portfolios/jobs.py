"""Job ``portfolio_refresh``: ``raw/portfolio_transactions`` and everything downstream of it (the
dbt portfolio models, the snapshot the app reads)."""

from dagster import AssetSelection, define_asset_job

from pipelines.defs.portfolios.assets import portfolio_transactions

portfolio_refresh_job = define_asset_job(
    name="portfolio_refresh",
    selection=AssetSelection.assets(portfolio_transactions).downstream(),
    description="Reload the transaction files of PORTFOLIOS_DIR, then rebuild the dbt models downstream of "
    "raw.portfolio_transactions and publish the snapshot.",
)
