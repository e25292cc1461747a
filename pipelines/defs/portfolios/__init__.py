"""Portfolios: transaction CSV files of PORTFOLIOS_DIR -> ``raw.portfolio_transactions`` (valid
files) and ``raw.rejected_portfolio_transactions`` (every row of a rejected file), rebuilt with
everything downstream by a sensor when a file is added, changed or deleted."""

from dagster import Definitions

from pipelines.defs.portfolios.assets import portfolio_transactions
from pipelines.defs.portfolios.sensors import portfolio_files_sensor, portfolio_refresh_job

defs = Definitions(assets=[portfolio_transactions], jobs=[portfolio_refresh_job], sensors=[portfolio_files_sensor])
