"""Run a Great Expectations suite on a pandas frame and split it by failed rule.

Shared by every source's row suites (prices: :mod:`pipelines.defs.prices.validation`, news): an ephemeral GE context (no progress bars), the ``COMPLETE`` result format,
and each expectation's ``meta["rule"]`` as the rule name. :func:`failed_rules_by_row` gives, per
row position, the names of the rules it fails (the quarantine reasons); :func:`outcome` sums a
run up. GE 1.x is imported lazily (it takes seconds).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd
import polars as pl

_names = itertools.count()


@dataclass(frozen=True)
class SuiteOutcome:
    """Result of one suite run: overall success and, per failed rule, the failing row count."""

    success: bool
    failed_rows_by_rule: dict[str, int]
    evaluated_expectations: int


@cache
def gx():
    """The ``great_expectations`` module (imported on first use)."""
    import great_expectations

    return great_expectations


@cache
def context():
    """One ephemeral GE data context per process, progress bars off."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx().get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def run_suite(suite, frame: pd.DataFrame) -> list[Any]:
    """Validate ``frame`` (row positions 0..n-1 as its index) with ``suite``; return the
    per-expectation results. The temporary data source and validation definition are removed."""
    ctx = context()
    name = f"{suite.name}_{next(_names)}"
    source = ctx.data_sources.add_or_update_pandas(name)
    batch = source.add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")
    try:
        stored = ctx.suites.add_or_update(suite)
        validation = ctx.validation_definitions.add_or_update(
            gx().ValidationDefinition(name=name, data=batch, suite=stored)
        )
        result = validation.run(
            batch_parameters={"dataframe": frame.reset_index(drop=True)},
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0},
        )
    finally:
        if any(v.name == name for v in ctx.validation_definitions.all()):
            ctx.validation_definitions.delete(name)
        ctx.data_sources.delete(name)
    return list(result.results)


def outcome(results: Iterable[Any]) -> SuiteOutcome:
    """Success and failing row counts per rule of a suite run."""
    results = list(results)
    failed = {
        r.expectation_config.meta["rule"]: int(r.result.get("unexpected_count") or 0) for r in results if not r.success
    }
    return SuiteOutcome(success=not failed, failed_rows_by_rule=failed, evaluated_expectations=len(results))


def combined_outcome(outcomes: Iterable[SuiteOutcome]) -> SuiteOutcome:
    """The outcome of one suite run over several chunks of a batch: failing rows summed per rule."""
    outcomes = list(outcomes)
    failed: dict[str, int] = {}
    for part in outcomes:
        for rule, rows in part.failed_rows_by_rule.items():
            failed[rule] = failed.get(rule, 0) + rows
    evaluated = max((part.evaluated_expectations for part in outcomes), default=0)
    return SuiteOutcome(success=not failed, failed_rows_by_rule=failed, evaluated_expectations=evaluated)


def split_by_reason(frame: pl.DataFrame, results: Iterable[Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``frame`` split by a row suite's ``results`` on it (rows in the same order): the rows that
    pass every rule (``frame``'s columns), and the rows that fail one (plus ``reason``: the failed
    rule names joined by ``"; "``). Nothing is dropped: the two add up to ``frame``.

    Raises:
        RuntimeError: a failed rule without row indexes (see :func:`failed_rules_by_row`).
    """
    reasons = failed_rules_by_row(results)
    failing = sorted(reasons)
    reason = pl.Series("reason", [None] * frame.height, dtype=pl.Utf8).scatter(
        failing, ["; ".join(reasons[i]) for i in failing]
    )
    labelled = frame.with_columns(reason)
    return labelled.filter(pl.col("reason").is_null()).drop("reason"), labelled.filter(pl.col("reason").is_not_null())


def failed_rules_by_row(results: Iterable[Any]) -> dict[int, list[str]]:
    """Row position -> names of the rules that row fails (rows passing everything are absent).

    Raises:
        RuntimeError: GE reported a failed rule without row indexes (it cannot be attributed),
            e.g. because the expectation raised; the message includes GE's error.
    """
    reasons: dict[int, list[str]] = {}
    for r in results:
        if r.success:
            continue
        rule = r.expectation_config.meta["rule"]
        indexes = r.result.get("unexpected_index_list")
        if indexes is None:
            errors = [e.get("exception_message") for e in (r.exception_info or {}).values() if isinstance(e, dict)]
            detail = f": {'; '.join(m for m in errors if m)}" if any(errors) else ""
            raise RuntimeError(f"Great Expectations gave no row indexes for failed rule {rule}{detail}")
        for index in indexes:
            reasons.setdefault(int(index), []).append(rule)
    return reasons
