"""Sweeps: many variants of one strategy, run on one warehouse reading each distinct query once.

Variants that share a market, dates and screen issue the same SQL for their prices and, when
they share ``rank_by`` and rebalance, for their picks; :class:`CachedSource` keeps each distinct
query's frame for the sweep, so a 50-variant sweep reads about as much as its distinct
(rank_by, rebalance) pairs. Results are those of :func:`~domain.backtests.run.run_backtest` run
one by one (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import product

import polars as pl

from domain.backtests.data import Source
from domain.backtests.run import BacktestResult, run_backtest
from domain.backtests.spec import StrategySpec


class CachedSource:
    """A :class:`~domain.backtests.data.Source` that runs each distinct ``(sql, params)`` once
    and returns the same (immutable) frame afterwards. For one sweep over one unchanging build:
    it never notices a new build."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.frames: dict[tuple[str, tuple], pl.DataFrame] = {}

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
        key = (sql, tuple(params))
        if key not in self.frames:
            self.frames[key] = self.source.fetch_frame(sql, params)
        return self.frames[key]

    def table(self, layer: str, name: str) -> str:
        return self.source.table(layer, name)


def variants(
    base: StrategySpec,
    top_n: Iterable[int] = (),
    rank_by: Iterable[str] = (),
    rebalance: Iterable[str] = (),
) -> list[StrategySpec]:
    """Every combination of the given values (an empty iterable keeps the base's value), named
    ``<base>-<rank_by>-<rebalance>-top<n>``.

    Raises:
        pydantic.ValidationError: a value the spec rejects.
    """
    combos = product(tuple(top_n) or (base.top_n,), tuple(rank_by) or (base.rank_by,),
                     tuple(rebalance) or (base.rebalance,))  # fmt: skip
    return [
        StrategySpec.model_validate(
            {
                **base.model_dump(),
                "name": f"{base.name}-{rank}-{period}-top{n}",
                "top_n": n,
                "rank_by": rank,
                "rebalance": period,
            }
        )
        for n, rank, period in combos
    ]


def run_sweep(specs: Sequence[StrategySpec], source: Source) -> list[BacktestResult]:
    """Run ``specs`` in order on ``source`` through one :class:`CachedSource`."""
    cached = CachedSource(source)
    return [run_backtest(spec, cached) for spec in specs]
