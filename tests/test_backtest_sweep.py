"""Sweeps give the results of single runs, reading each distinct query once (integration)."""

from __future__ import annotations

import pytest

from domain.backtests.run import run_backtest
from domain.backtests.spec import strategy_from_mapping
from domain.backtests.sweep import CachedSource, run_sweep, variants

pytestmark = pytest.mark.integration


class CountingSource:
    """The session build's snapshot through DuckDB, counting queries."""

    def __init__(self, path) -> None:
        import duckdb
        import polars as pl

        self.pl = pl
        self.con = duckdb.connect(str(path), read_only=True)
        self.queries = 0

    def fetch_frame(self, sql, params=()):
        self.queries += 1
        return self.pl.from_arrow(self.con.sql(sql, params=list(params)).to_arrow_table())

    def table(self, layer, name):
        return f"{layer}.{name}"


def test_a_sweep_equals_its_single_runs_and_reads_each_query_once(built_warehouse):
    base = strategy_from_mapping({"name": "sweep", "market": "US", "rank_by": "return_126d", "top_n": 20,
                                  "start": "2016-01-01", "end": "2018-02-07"})  # fmt: skip
    specs = variants(base, top_n=(5, 10), rank_by=("return_63d", "rsi_14"), rebalance=("monthly", "quarterly"))
    assert len(specs) == 8 and specs[0].name == "sweep-return_63d-monthly-top5"
    source = CountingSource(built_warehouse.snapshot_path)
    swept = run_sweep(specs, source)
    swept_queries = source.queries
    single = [run_backtest(spec, source) for spec in specs]
    assert swept_queries < (source.queries - swept_queries) / 2  # at least half the queries saved
    for a, b in zip(swept, single, strict=True):
        assert a.daily.equals(b.daily) and a.holdings.equals(b.holdings) and a.trades.equals(b.trades)
        assert a.metrics == b.metrics
    # the variants differ where they should
    assert len({round(r.metrics["cagr"], 12) for r in swept}) == len(specs)


def test_the_cache_returns_the_same_frame_for_the_same_query(built_warehouse):
    source = CountingSource(built_warehouse.snapshot_path)
    cached = CachedSource(source)
    first = cached.fetch_frame("select count(*) as n from marts.fct_daily_indicators where market = ?", ["US"])
    again = cached.fetch_frame("select count(*) as n from marts.fct_daily_indicators where market = ?", ["US"])
    other = cached.fetch_frame("select count(*) as n from marts.fct_daily_indicators where market = ?", ["KOSPI"])
    assert first is again and source.queries == 2 and first["n"][0] > other["n"][0] > 0
