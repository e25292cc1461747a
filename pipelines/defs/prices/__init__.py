"""Daily OHLCV prices: reading (CSV or Yahoo), validation (Great Expectations), the partitioned
raw asset, and the corporate actions (splits, dividends) the adjusted prices are derived from."""

from dagster import Definitions

from pipelines.defs.prices.assets import prices_daily
from pipelines.defs.prices.corporate_actions import corporate_actions

defs = Definitions(assets=[prices_daily, corporate_actions])
