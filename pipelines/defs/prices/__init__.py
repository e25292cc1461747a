"""Daily OHLCV prices: reading (CSV or Yahoo), validation (Great Expectations), the partitioned
raw asset, and the corporate actions (splits, dividends) the adjusted prices are derived from."""
