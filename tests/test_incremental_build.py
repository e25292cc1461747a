"""The incremental daily path gives the marts of a first build (issue 12).

On a cut of the bundled US data (49 tickers, :data:`tests.data_files.US_CUT_TICKERS`: AAPL,
tickers with gaps, quarantined rows and late starts), on DuckDB and on PostgreSQL: a first build
of every session but the last (2013-02-08..2018-02-06), then ``python -m pipelines.build
--partition-range 2018-02-07...2018-02-07`` (the same ``PRICES_CSV``, the ``us`` feed only),
compared column by column with those tickers' rows of the session's first build of all 1,259
sessions (that build holds the whole US file and the KRX cut; indicators are per ticker, so its
rows of a ticker are what any build holding that ticker gives). The increment must recompute one
bar per ticker (``int_price_rebuild_starts``), and every indicator column and every stored
recursive state must equal the first build's.

Equal means bit-identical, except for the columns DuckDB computes with a windowed ``avg`` or
``stddev_pop`` (SMA, Bollinger bands, average volume and relative volume): its segment trees
sum a frame in an order that depends on the length of the ticker's partition, so even two
first builds of 1,258 and 1,259 sessions differ there in the last bits of shared rows (measured:
at most 1.1e-15 relative). Those columns must agree within 1e-12 relative.

Then a re-delivered past session with a corrected close (AAPL on 2016-06-01) recomputes AAPL
from that session on only, and AAPL's indicators equal TA-Lib on the corrected series.
"""

from __future__ import annotations

import gzip
from datetime import date

import numpy as np
import polars as pl
import pytest

from tests.conftest import postgres_settings, scratch_database, test_settings
from tests.data_files import US_CUT_TICKERS, us_cut
from tests.test_indicators_talib import INDICATOR_COLUMNS, TOLERANCE, _talib_indicators

pytestmark = pytest.mark.integration

LAST_SESSION = "2018-02-07"
#: Computed with DuckDB window avg/stddev: equal within this relative tolerance (see above).
WINDOW_AVERAGE_COLUMNS = {"sma_20", "sma_50", "sma_200", "bb_upper", "bb_middle", "bb_lower",
                          "avg_volume_20", "relative_volume"}  # fmt: skip
RELATIVE_TOLERANCE = 1e-12
STATE_COLUMNS = ["ema_12", "ema_26", "macd_fast", "macd_seed_sum", "macd_signal", "avg_gain", "avg_loss", "atr_14"]


def _frame(
    settings, layer: str, table: str, columns: str = "*", tickers: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """A table of the warehouse of ``settings`` (DuckDB: opened read-only, as other test
    processes read the shared build at the same time) as a polars frame sorted by ticker (and
    trade_date); with ``tickers``, only their rows."""

    def query(name) -> str:
        where = ""
        if tickers is not None:
            where = " where ticker in (" + ", ".join(f"'{ticker}'" for ticker in tickers) + ")"
        return f"select {columns} from {name(layer, table)}{where}"

    if settings.postgres is None:
        import duckdb

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            frame = con.sql(query(lambda schema, name: f"{schema}.{name}")).pl()
    else:
        from pipelines.lib.resources import build_resources

        with build_resources(settings, environ={})["warehouse"].connect() as wh:
            frame = wh.fetch_frame(query(wh.table))
    return frame.sort("ticker", "trade_date") if "trade_date" in frame.columns else frame.sort("ticker")


def differences(incremental: pl.DataFrame, first_build: pl.DataFrame) -> dict[str, str]:
    """Column → what differs between two frames of the same grain (empty: equal as specified)."""
    assert incremental.select("ticker", "trade_date").equals(first_build.select("ticker", "trade_date"))
    found = {}
    for column in first_build.columns:
        if column == "computed_at":  # when the row was computed: differs by design (checked apart)
            continue
        a, b = incremental[column], first_build[column]
        if column in WINDOW_AVERAGE_COLUMNS:
            assert a.is_null().equals(b.is_null()), column
            scale = np.maximum(np.abs(b.fill_null(0).to_numpy()), 1e-300)
            worst = float(np.max(np.abs(a.fill_null(0).to_numpy() - b.fill_null(0).to_numpy()) / scale))
            if worst > RELATIVE_TOLERANCE:
                found[column] = f"max relative difference {worst:.3g}"
        elif not a.equals(b, check_names=False):
            unequal = (a.ne_missing(b)).sum()
            found[column] = f"{unequal} rows not identical"
    return found


def _one_new_session(settings, first_build_settings) -> None:
    from dagster import DagsterInstance

    from pipelines.build import run_build

    with DagsterInstance.ephemeral() as instance:
        assert run_build(settings, "2013-02-08", "2018-02-06", instance=instance).success
        assert run_build(settings, LAST_SESSION, LAST_SESSION, instance=instance).success

    # the increment recomputed exactly one bar of every ticker of the cut (each trades on the new session)
    starts = _frame(settings, "intermediate", "int_price_rebuild_starts")
    traded = _frame(settings, "raw", "prices_daily", "ticker, trade_date").filter(
        pl.col("trade_date") == date.fromisoformat(LAST_SESSION)
    )
    assert traded["ticker"].to_list() == sorted(US_CUT_TICKERS)
    assert starts["ticker"].to_list() == traded["ticker"].to_list()
    assert set(starts["rebuild_from"].to_list()) == {date.fromisoformat(LAST_SESSION)}
    assert set(starts["changed_bars"].to_list()) == {1}

    indicators = _frame(settings, "marts", "fct_daily_indicators")
    assert set(indicators["market"].unique().to_list()) == {"US"}  # the us feed only
    first_build = _frame(first_build_settings, "marts", "fct_daily_indicators", tickers=US_CUT_TICKERS)
    assert differences(indicators, first_build) == {}
    # one computed_at stamp per run: the first build's on every bar but the new session's
    new_bar = pl.col("trade_date") == date.fromisoformat(LAST_SESSION)
    first_stamps = indicators.filter(~new_bar)["computed_at"].unique().to_list()
    increment_stamps = indicators.filter(new_bar)["computed_at"].unique().to_list()
    assert len(first_stamps) == 1 and len(increment_stamps) == 1 and first_stamps[0] < increment_stamps[0]
    if settings.postgres is None:
        _assert_snapshot_synced(settings, indicators)
    state = f"ticker, trade_date, bar_number, {', '.join(STATE_COLUMNS)}"
    assert differences(_frame(settings, "intermediate", "int_daily_recursive_indicators", state),
                       _frame(first_build_settings, "intermediate", "int_daily_recursive_indicators", state,
                              tickers=US_CUT_TICKERS)) == {}  # fmt: skip


def _assert_snapshot_synced(settings, indicators: pl.DataFrame) -> None:
    """The second run published incrementally (a copy of the previous snapshot, the new
    session's rows synced), and the snapshot holds exactly the warehouse's rows, every column."""
    import duckdb

    with duckdb.connect(str(settings.snapshot_path), read_only=True) as con:
        published = con.sql("select * from marts.fct_daily_indicators").pl().sort("ticker", "trade_date")
        mode, synced = con.execute("select publish_mode, rows_synced_since_full_publish from meta.build_info").fetchone()
    assert mode == "incremental" and 0 < synced < 5 * len(US_CUT_TICKERS)
    assert published.equals(indicators)


def test_first_build_of_n_minus_1_sessions_plus_one_session_equals_a_first_build_duckdb(built_warehouse, tmp_path):
    cut = us_cut(tmp_path / "us_cut.csv.gz")
    _one_new_session(test_settings(tmp_path, prices_csv=cut), built_warehouse.settings)


def test_first_build_plus_one_session_equals_a_first_build_postgres(built_postgres_warehouse, postgres_server, tmp_path):
    first_build = postgres_settings(built_postgres_warehouse, tmp_path / "first")
    cut = us_cut(tmp_path / "us_cut.csv.gz")
    with scratch_database(postgres_server, "incremental") as database:
        _one_new_session(postgres_settings(database, tmp_path, prices_csv=cut), first_build)


def test_a_redelivered_corrected_session_recomputes_that_ticker_from_it(built_warehouse, tmp_path):
    """AAPL's close of 2016-06-01 corrected (the midpoint of its high and low): a one-session run
    over 2016-06-01 recomputes AAPL from that bar on and nothing else; AAPL equals TA-Lib on the
    corrected series, every other ticker keeps its first-build values."""
    from dagster import DagsterInstance

    from pipelines.build import run_build
    from tests.conftest import copy_built_warehouse

    source = pl.read_csv(built_warehouse.settings.prices_csv)
    corrected_day = pl.col("date") == "2016-06-01"
    is_aapl = (pl.col("Name") == "AAPL") & corrected_day
    corrected = source.with_columns(close=pl.when(is_aapl).then((pl.col("high") + pl.col("low")) / 2).otherwise("close"))
    assert corrected.filter(is_aapl)["close"][0] != source.filter(is_aapl)["close"][0]
    path = tmp_path / "prices_corrected.csv.gz"
    with gzip.open(path, "wb") as handle:
        corrected.write_csv(handle)
    settings = copy_built_warehouse(built_warehouse, tmp_path / "warehouse", prices_csv=path)

    with DagsterInstance.ephemeral() as instance:
        assert run_build(settings, "2016-06-01", "2016-06-01", instance=instance).success

    starts = _frame(settings, "intermediate", "int_price_rebuild_starts")
    assert starts.rows() == [("AAPL", date(2016, 6, 1), 1)]
    after = _frame(settings, "marts", "fct_daily_indicators")
    before = _frame(built_warehouse.settings, "marts", "fct_daily_indicators")
    others = pl.col("ticker") != "AAPL"
    assert differences(after.filter(others), before.filter(others)) == {}
    earlier = others.not_() & (pl.col("trade_date") < date(2016, 6, 1))
    assert differences(after.filter(earlier), before.filter(earlier)) == {}

    aapl = corrected.filter(pl.col("Name") == "AAPL").sort("date")
    expected = _talib_indicators(*(aapl[c].cast(pl.Float64).to_numpy() for c in ("high", "low", "close", "volume")))
    mart = after.filter(pl.col("ticker") == "AAPL")
    assert mart.height == aapl.height
    for column in INDICATOR_COLUMNS:
        got = mart[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        assert np.array_equal(np.isnan(got), np.isnan(expected[column])), column
        assert np.nanmax(np.abs(got - expected[column])) <= TOLERANCE, column
