"""The dbt indicator mart reproduces TA-Lib exactly, on both markets.

Two warehouses (the module's ``con`` is parametrised): the session build (the US file and a cut
of the KRX file) and the whole bundled KRX file (2,474 tickers, 2.4 M rows; halts are no bars).
For every ticker in ``raw.prices_daily`` (its traded rows) the indicators are recomputed in
process with TA-Lib (default compatibility, no unstable period) on the ticker's
bars ordered by trade date, and compared with ``marts.fct_daily_indicators``
row by row: the absolute difference must be at most 1e-6 on every row, and the
mart must be NULL exactly where TA-Lib returns NaN (the warm-up bars).
Returns are checked against numpy over trading days (rows), not calendar days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

#: every test but the TA-Lib oracle checks reads a built warehouse (``con`` is parametrised
#: through ``request.getfixturevalue``, which the automatic marking cannot see)
pytestmark = pytest.mark.integration

TOLERANCE = 1e-6
MAX_REPORTED = 5

RETURN_HORIZONS = {
    "return_1d": 1,
    "return_5d": 5,
    "return_21d": 21,
    "return_63d": 63,
    "return_126d": 126,
    "return_252d": 252,
}

INDICATOR_COLUMNS = [
    "sma_20",
    "sma_50",
    "sma_200",
    "ema_12",
    "ema_26",
    "macd",
    "macd_signal",
    "macd_hist",
    "rsi_14",
    "stoch_k",
    "stoch_d",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "high_52w",
    "low_52w",
    "avg_volume_20",
    "relative_volume",
    *RETURN_HORIZONS,
]


def _talib_indicators(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> dict:
    """All indicators of one ticker's ordered history, NaN during warm-up."""
    macd, macd_signal, macd_hist = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    bb_upper, bb_middle, bb_lower = talib.BBANDS(close, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    stoch_k, stoch_d = talib.STOCH(
        high, low, close, fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0
    )
    avg_volume_20 = talib.SMA(volume, timeperiod=20)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative_volume = np.where(avg_volume_20 == 0, np.nan, volume / avg_volume_20)
    out = {
        "sma_20": talib.SMA(close, timeperiod=20),
        "sma_50": talib.SMA(close, timeperiod=50),
        "sma_200": talib.SMA(close, timeperiod=200),
        "ema_12": talib.EMA(close, timeperiod=12),
        "ema_26": talib.EMA(close, timeperiod=26),
        "macd": macd,
        "macd_signal": macd_signal,
        "macd_hist": macd_hist,
        "rsi_14": talib.RSI(close, timeperiod=14),
        "stoch_k": stoch_k,
        "stoch_d": stoch_d,
        "bb_upper": bb_upper,
        "bb_middle": bb_middle,
        "bb_lower": bb_lower,
        "atr_14": talib.ATR(high, low, close, timeperiod=14),
        "high_52w": talib.MAX(high, timeperiod=252),
        "low_52w": talib.MIN(low, timeperiod=252),
        "avg_volume_20": avg_volume_20,
        "relative_volume": relative_volume,
    }
    for column, n in RETURN_HORIZONS.items():
        ret = np.full(close.shape, np.nan)
        if len(close) > n:
            ret[n:] = close[n:] / close[:-n] - 1
        out[column] = ret
    return out


def _one(con, sql: str):
    """The single row of a query (None when it returns no row)."""
    rows = con.sql(sql).fetchall()
    assert len(rows) <= 1, f"expected at most one row, got {len(rows)}"
    return rows[0] if rows else None


@pytest.fixture(scope="module", params=["us_and_krx_cut", "krx_full"])
def con(request):
    """A read-only connection to the session build, then to the whole-KRX build."""
    if request.param == "us_and_krx_cut":
        yield request.getfixturevalue("warehouse_con")
        return
    import duckdb

    connection = duckdb.connect(str(request.getfixturevalue("krx_full_warehouse").warehouse_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def compared(con) -> pd.DataFrame:
    """Raw bars with TA-Lib results (``<col>_talib``) and the mart's values (``<col>``)."""
    raw = con.sql(
        """
        select ticker, trade_date, high, low, close, cast(volume as double) as volume
        from raw.prices_daily
        where not is_halted
        order by ticker, trade_date
        """
    ).df()
    mart = con.sql(
        f"""
        select ticker, trade_date, bar_number, {", ".join(INDICATOR_COLUMNS)}
        from marts.fct_daily_indicators
        """
    ).df()

    expected_parts = []
    for _, bars in raw.groupby("ticker", sort=False):
        arrays = _talib_indicators(
            bars["high"].to_numpy(np.float64),
            bars["low"].to_numpy(np.float64),
            bars["close"].to_numpy(np.float64),
            bars["volume"].to_numpy(np.float64),
        )
        part = pd.DataFrame({f"{column}_talib": values for column, values in arrays.items()}, index=bars.index)
        part["bar_number_expected"] = np.arange(len(bars))
        expected_parts.append(part)
    expected = pd.concat([raw[["ticker", "trade_date"]], pd.concat(expected_parts)], axis=1)

    merged = expected.merge(mart, on=["ticker", "trade_date"], how="left", validate="one_to_one", indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"raw rows missing from the mart: {missing[['ticker', 'trade_date']].head().to_dict('records')}"
    return merged


def _describe(rows: pd.DataFrame, column: str) -> str:
    return "; ".join(
        f"{row.ticker} {pd.Timestamp(row.trade_date).date()} {column}: mart={getattr(row, column)!r} "
        f"talib={getattr(row, column + '_talib')!r}"
        for row in rows.head(MAX_REPORTED).itertuples()
    )


def test_mart_has_one_row_per_raw_row(con):
    raw_rows = _one(con, "select count(*) from raw.prices_daily where not is_halted")[0]
    mart_rows = _one(con, "select count(*) from marts.fct_daily_indicators")[0]
    keys = _one(con, "select count(*) from (select distinct ticker, trade_date from marts.fct_daily_indicators)")[0]
    assert raw_rows > 0
    assert mart_rows == raw_rows
    assert keys == raw_rows


def test_all_tickers_compared(con, compared):
    raw_tickers, raw_rows = _one(con, "select count(distinct ticker), count(*) from raw.prices_daily where not is_halted")
    assert compared["ticker"].nunique() == raw_tickers
    assert len(compared) == raw_rows


def test_bar_number_is_zero_based_row_index(compared):
    bad = compared[compared["bar_number"] != compared["bar_number_expected"]]
    assert bad.empty, "; ".join(
        f"{row.ticker} {pd.Timestamp(row.trade_date).date()} bar_number={row.bar_number} expected={row.bar_number_expected}"
        for row in bad.head(MAX_REPORTED).itertuples()
    )


@pytest.mark.parametrize("column", INDICATOR_COLUMNS)
def test_indicator_equals_talib(compared, column):
    actual = compared[column].to_numpy(np.float64, na_value=np.nan)
    expected = compared[f"{column}_talib"].to_numpy(np.float64)

    actual_null = np.isnan(actual)
    expected_null = np.isnan(expected)
    null_mismatch = actual_null != expected_null
    assert not null_mismatch.any(), (
        f"{column}: NULL pattern differs from TA-Lib NaN on {int(null_mismatch.sum())} rows: "
        + _describe(compared[null_mismatch], column)
    )
    assert (~expected_null).any(), f"{column}: TA-Lib returned no values at all"

    diff = np.abs(actual - expected)
    diff[expected_null] = 0.0
    too_far = diff > TOLERANCE
    assert not too_far.any(), (
        f"{column}: {int(too_far.sum())} rows differ from TA-Lib by more than {TOLERANCE} "
        f"(max {diff.max():.3g}): " + _describe(compared[too_far], column)
    )


# Values read once from TA-Lib 0.8.2 on raw.prices_daily (AAPL, 2018-02-07, bar 1258),
# so the comparison above cannot pass vacuously (e.g. on an empty mart).
PINNED_AAPL_2018_02_07 = {
    "bar_number": 1258,
    "close": 159.54,
    "rsi_14": 33.68220515102495,
    "stoch_k": 19.42948037572356,
    "stoch_d": 13.439170257565701,
    "sma_200": 159.7646499999999,
    "ema_12": 165.74101225426446,
    "macd": -3.412745056302583,
    "macd_signal": -1.7643157783005305,
    "atr_14": 3.8031720385193135,
    "bb_upper": 184.6507797668909,
    "high_52w": 180.1,
    "low_52w": 131.12,
}


# Values read once from TA-Lib 0.8.2 on the KRX file's traded bars of Samsung Electronics
# (005930, 2021-01-04, bar 735: the 3 halt rows of May 2018 are no bars), KRW.
PINNED_005930_2021_01_04 = {
    "bar_number": 735,
    "close": 83000.0,
    "rsi_14": 82.39016943447102,
    "sma_200": 57026.0,
    "ema_12": 76908.39080613443,
    "macd": 3509.400231445092,
    "macd_signal": 2920.530797496966,
    "atr_14": 2033.2630416417082,
    "bb_upper": 81165.35713316534,
    "stoch_k": 87.75388291517324,
    "high_52w": 84400.0,
    "low_52w": 42300.0,
}


def _assert_pinned(con, ticker: str, day: str, pinned: dict[str, float]) -> None:
    """The mart's row of ``ticker`` on ``day`` has the ``pinned`` values (within TOLERANCE)."""
    columns = list(pinned)
    row = _one(
        con,
        f"""
        select {", ".join(columns)}
        from marts.fct_daily_indicators
        where ticker = '{ticker}' and trade_date = date '{day}'
        """,
    )
    assert row is not None, f"{ticker} {day} missing from marts.fct_daily_indicators"
    for column, expected, actual in zip(columns, pinned.values(), row, strict=True):
        assert actual == pytest.approx(expected, abs=TOLERANCE), f"{ticker} {day} {column}: {actual} != {expected}"


def test_pinned_values_samsung(con):
    _assert_pinned(con, "005930", "2021-01-04", PINNED_005930_2021_01_04)


def test_every_korean_ticker_of_the_file_is_compared(krx_full_warehouse):
    """On the whole-KRX build: every ticker with a traded bar (2,473 of the file's 2,474; one is
    halted over the whole period) is in the comparison above."""
    import duckdb

    with duckdb.connect(str(krx_full_warehouse.warehouse_path), read_only=True) as con:
        _assert_counts(con)


def _assert_counts(con) -> None:
    assert _one(con, "select count(distinct ticker) from raw.prices_daily") == (2474,)
    assert _one(con, "select count(distinct ticker) from marts.fct_daily_indicators") == (2473,)
    assert _one(con, "select count(*) from raw.prices_daily where is_halted") == (58813,)


def test_pinned_values_aapl(warehouse_con):
    _assert_pinned(warehouse_con, "AAPL", "2018-02-07", PINNED_AAPL_2018_02_07)


def test_warmup_boundaries_aapl(warehouse_con):
    """First non-NULL bar of each indicator is TA-Lib's lookback."""
    con = warehouse_con
    first_bar = _one(
        con,
        """
        select
            min(case when sma_20 is not null then bar_number end),
            min(case when ema_12 is not null then bar_number end),
            min(case when ema_26 is not null then bar_number end),
            min(case when macd is not null then bar_number end),
            min(case when macd_signal is not null then bar_number end),
            min(case when rsi_14 is not null then bar_number end),
            min(case when atr_14 is not null then bar_number end),
            min(case when sma_200 is not null then bar_number end),
            min(case when high_52w is not null then bar_number end),
            min(case when stoch_k is not null then bar_number end),
            min(case when stoch_d is not null then bar_number end)
        from marts.fct_daily_indicators
        where ticker = 'AAPL'
        """
    )
    assert first_bar == (19, 11, 25, 33, 33, 14, 14, 199, 251, 17, 17)


def test_talib_stoch_of_a_flat_window_is_zero():
    """The oracle behind the dbt unit test stochastic_warm_up_and_flat_window: when the 14-bar
    highest high equals the lowest low, TA-Lib's fast %K is 0 (not NaN), and both STOCH outputs
    start on bar 17."""
    flat = np.full(20, 50.0)
    stoch_k, stoch_d = talib.STOCH(
        flat, flat, flat, fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0
    )
    assert np.isnan(stoch_k[:17]).all() and np.isnan(stoch_d[:17]).all()
    assert (stoch_k[17:] == 0).all() and (stoch_d[17:] == 0).all()
