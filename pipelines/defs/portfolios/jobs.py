"""Job ``portfolio_refresh``: ``raw/portfolio_transactions`` and everything downstream of it (the
dbt portfolio models, including those of the rejected rows, the snapshot the app reads)."""

from dagster import AssetSelection, define_asset_job

from pipelines.defs.portfolios.assets import portfolio_transactions, rejected_portfolio_transactions

portfolio_refresh_job = define_asset_job(
    name="portfolio_refresh",
    # the rejected rows' spec is written by portfolio_transactions itself (not executable)
    selection=AssetSelection.assets(portfolio_transactions).downstream()
    - AssetSelection.assets(rejected_portfolio_transactions.key),
    description="Reload the transaction files of PORTFOLIOS_DIR, then rebuild the dbt models downstream of "
    "raw.portfolio_transactions and publish the snapshot.",
)
