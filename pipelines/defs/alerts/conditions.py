"""The condition of each price, SMA, RSI and volume rule, and the SQL that finds its crossings.

Every rule compares one column of ``marts.fct_daily_indicators`` (grain ticker x trade_date) with a
threshold, bar by bar:

=======================  ====================  ====  =================================================
type                     observed_value        op    threshold
=======================  ====================  ====  =================================================
price_above              close (USD)           >     level (USD)
price_below              close (USD)           <     level (USD)
price_cross_above_sma    adjusted_close (USD)  >     sma_<window> (USD; the SMA is computed on the
                                                     adjusted close, so both sides are on one basis)
price_cross_below_sma    adjusted_close (USD)  <     sma_<window>
rsi_above                rsi_14 (0-100)        >     level
rsi_below                rsi_14 (0-100)        <     level
volume_spike             relative_volume       >=    level (relative_volume = adjusted volume /
                                                     mean volume of the last 20 bars incl. today)
indicator_above          <column>              >     level (any column the screener registry marks
                                                     ``alert``; unit of that column)
indicator_below          <column>              <     level
=======================  ====================  ====  =================================================

An event fires on bar t when the condition holds on t and did not hold (false, or NULL: warm-up,
or no earlier bar) on the ticker's previous bar: once per crossing, nothing while it stays true,
again after it has been false. The previous bar is looked up over the ticker's whole history, so
evaluating a date range in pieces gives the same events as evaluating it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.alerts.rules import AlertRule, RuleType
from domain.screens import registry


@dataclass(frozen=True)
class Condition:
    """``observed <op> threshold`` (threshold: a column, or the rule's level when None)."""

    observed: str
    op: str
    threshold_column: str | None = None

    def threshold_sql(self, rule: AlertRule) -> tuple[str, list[Any]]:
        """SQL of the threshold and its parameters."""
        if self.threshold_column is None:
            return "cast(? as double precision)", [rule.level]
        return f"cast({self.threshold_column} as double precision)", []


def _registered(rule: AlertRule) -> str:
    """The column an indicator rule watches, checked again against the registry (it goes into SQL)."""
    if rule.column not in registry().alert_columns:
        raise ValueError(f"rule {rule.id!r}: {rule.column!r} is not an alertable screener column")
    return rule.column


def condition(rule: AlertRule) -> Condition:
    """The condition of a price, SMA, RSI or volume rule.

    Raises:
        ValueError: a screen rule (see :mod:`pipelines.defs.alerts.screens`).
    """
    match rule.type:
        case RuleType.PRICE_ABOVE:
            return Condition("close", ">")
        case RuleType.PRICE_BELOW:
            return Condition("close", "<")
        case RuleType.PRICE_CROSS_ABOVE_SMA:
            return Condition("adjusted_close", ">", f"sma_{rule.window}")
        case RuleType.PRICE_CROSS_BELOW_SMA:
            return Condition("adjusted_close", "<", f"sma_{rule.window}")
        case RuleType.RSI_ABOVE:
            return Condition("rsi_14", ">")
        case RuleType.RSI_BELOW:
            return Condition("rsi_14", "<")
        case RuleType.VOLUME_SPIKE:
            return Condition("relative_volume", ">=")
        case RuleType.INDICATOR_ABOVE:
            return Condition(_registered(rule), ">")
        case RuleType.INDICATOR_BELOW:
            return Condition(_registered(rule), "<")
    raise ValueError(f"rule {rule.id!r}: {rule.type} is not a bar condition")


def crossings_query(rule: AlertRule, indicators_table: str, first: date, last: date) -> tuple[str, list[Any]]:
    """SQL (``?`` placeholders) and parameters returning the crossings of ``rule`` with
    ``first <= trade_date <= last``: columns ``ticker, trade_date, observed_value, threshold``,
    ordered by ticker and trade_date. Runs on DuckDB and PostgreSQL."""
    cond = condition(rule)
    threshold, threshold_params = cond.threshold_sql(rule)
    placeholders = ", ".join("?" for _ in rule.tickers)
    sql = f"""
        with bars as (
            select
                ticker,
                trade_date,
                cast({cond.observed} as double precision) as observed_value,
                {threshold} as threshold
            from {indicators_table}
            where ticker in ({placeholders})
        ),
        flagged as (
            select
                ticker,
                trade_date,
                observed_value,
                threshold,
                observed_value {cond.op} threshold as holds,
                lag(observed_value {cond.op} threshold) over (partition by ticker order by trade_date) as held_before
            from bars
        )
        select ticker, trade_date, observed_value, threshold
        from flagged
        where holds and not coalesce(held_before, false) and trade_date >= ? and trade_date <= ?
        order by ticker, trade_date
    """
    return sql, [*threshold_params, *rule.tickers, first, last]
