"""Daily OHLCV prices: reading, validation (Great Expectations) and the partitioned raw asset."""

from dagster import Definitions

from pipelines.defs.prices.assets import prices_daily

defs = Definitions(assets=[prices_daily])
