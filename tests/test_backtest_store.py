"""The point-in-time screener view and the stored runs of ``python -m pipelines.backtest``
(integration: the session's DuckDB build)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import copy_built_warehouse

pytestmark = pytest.mark.integration

STRATEGIES = Path(__file__).resolve().parents[1] / "data" / "strategies"
#: Registered columns the history computes like mart_screener_latest on a ticker's latest bar (the
#: rest come from the vendor snapshot, which the history leaves out as it is not point in time).
SAME_ON_THE_LATEST_BAR = [
    "ticker", "company_name", "sector", "trade_date", "return_1d", "return_5d", "return_21d", "return_63d",
    "return_126d", "return_252d", "sma_20", "sma_50", "sma_200", "ema_12", "ema_26", "macd", "macd_signal",
    "macd_hist", "rsi_14", "stoch_k", "stoch_d", "bb_upper", "bb_middle", "bb_lower", "atr_14", "high_52w",
    "low_52w", "avg_volume_20", "relative_volume", "above_sma_50", "above_sma_200", "golden_cross_20d",
    "pct_from_high_52w", "new_high_52w", "rsi_overbought", "rsi_oversold", "roe", "debt_to_equity", "net_margin",
    "revenue_growth_yoy", "news_count_7d", "news_sentiment_7d", "market", "currency",
]  # fmt: skip


def test_the_history_on_each_latest_bar_is_the_screener(warehouse_con):
    history = (
        warehouse_con.sql(
            "select h.* from marts.mart_screener_history as h join marts.mart_screener_latest as l "
            "using (ticker, trade_date)"
        )
        .pl()
        .select(SAME_ON_THE_LATEST_BAR)
        .sort("ticker")
    )
    latest = warehouse_con.sql("select * from marts.mart_screener_latest").pl().select(SAME_ON_THE_LATEST_BAR)
    latest = latest.filter(pl.col("ticker").is_in(history["ticker"].to_list())).sort("ticker")
    assert history.height > 500 and history.equals(latest)
    # close is the adjusted close: on the latest bar the vendor's close (no later corporate action)
    closes = warehouse_con.sql(
        "select h.close as history_close, l.close as latest_close from marts.mart_screener_history as h "
        "join marts.mart_screener_latest as l using (ticker, trade_date)"
    ).pl()
    assert (closes["history_close"] - closes["latest_close"]).abs().max() < 1e-9


def test_the_history_is_a_view_in_the_snapshot_reading_its_own_tables(built_warehouse):
    import duckdb

    with duckdb.connect(str(built_warehouse.snapshot_path), read_only=True) as con:
        kind = con.execute(
            "select table_type from information_schema.tables where table_schema = 'marts' "
            "and table_name = 'mart_screener_history'"
        ).fetchall()
        aapl = con.execute(
            "select close, rsi_14, golden_cross_20d from marts.mart_screener_history "
            "where ticker = 'AAPL' and trade_date = '2016-06-01'"
        ).fetchall()
    assert kind == [("VIEW",)]
    assert aapl == [(pytest.approx(98.46, abs=1e-9), pytest.approx(52.043988885534, rel=1e-9), False)]


def test_a_rerun_of_a_spec_on_the_same_build_stores_identical_rows(built_warehouse, tmp_path, capsys):
    import duckdb

    from pipelines.backtest import main

    settings = copy_built_warehouse(built_warehouse, tmp_path / "warehouse")
    spec = STRATEGIES / "us_momentum_top20.yml"
    assert main(["--spec", str(spec), "--spec", str(spec)], settings=settings) == 0
    assert main(["--spec", str(tmp_path / "missing.yml")], settings=settings) == 1
    out = capsys.readouterr()
    assert "us_momentum_top20" in out.out and "sharpe" in out.out
    assert "missing.yml: no such strategy file" in out.err

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        # the build's own run of the strategy (make build runs the shipped ones), then the two above
        runs = con.sql(
            "select * from backtests.backtest_runs where strategy_name = 'us_momentum_top20' order by started_at"
        ).pl()
        stamp = con.execute("select max(computed_at) from marts.fct_daily_indicators").fetchall()[0][0]
        assert runs.height == 3 and runs["spec_hash"].n_unique() == 1 and runs["run_id"].n_unique() == 3
        assert runs["data_build"].to_list() == [str(stamp)] * 3
        for table in ("backtest_daily", "backtest_holdings", "backtest_trades", "backtest_metrics"):
            frames = [
                con.sql(
                    f"select * exclude (run_id) from backtests.{table} where run_id = ? order by all", params=[run_id]
                ).pl()
                for run_id in runs["run_id"]
            ]
            assert frames[0].height > 0 and frames[0].equals(frames[1]), table
        daily = con.sql("select * from backtests.backtest_daily where run_id = ? order by session",
                        params=[runs["run_id"][0]]).pl()  # fmt: skip
        metrics = dict(con.execute("select metric, value from backtests.backtest_metrics where run_id = ?",
                                   [runs["run_id"][0]]).fetchall())  # fmt: skip
    assert str(daily["session"][0]) == "2014-01-02" and str(daily["session"][-1]) == "2018-02-07"
    assert metrics["rebalances"] == 50
    assert metrics["cagr"] == pytest.approx(daily["equity"][-1] ** (252 / daily.height) - 1, rel=1e-12)
