"""Screen rules: who is in a saved screen now, and who entered or left since the last evaluation.

A screen is a :class:`~domain.screens.ScreenSpec` (a preset of the app or the rule's
``filters``) run over ``marts.mart_screener_latest`` (one row per ticker, on its latest trade
date) with the screen compiler the app uses (:func:`domain.screens.build_screen_query`), so a
rule sees exactly the rows the screener page lists, including its sort and ``limit``. A rule's
``tickers``, when given, keep only those tickers of the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from domain.alerts.rules import AlertRule
from domain.screens import build_screen_query
from domain.warehouse import Warehouse


@dataclass(frozen=True)
class ScreenChange:
    """Tickers that entered and left a screen between two evaluations (sorted)."""

    entered: list[str]
    exited: list[str]


def screen_members(warehouse: Warehouse, rule: AlertRule, screener_table: str) -> pl.DataFrame:
    """The rows of ``rule``'s screen now: columns ``ticker``, ``trade_date`` (the ticker's latest
    bar), ``close`` (USD); one row per ticker."""
    query = build_screen_query(rule.screen_spec(), table=screener_table, dialect=warehouse.backend)
    sql = f"select ticker, trade_date, close from ({query.sql}) as screen"
    params = list(query.params)
    if rule.tickers:
        sql += f" where ticker in ({', '.join('?' for _ in rule.tickers)})"
        params += list(rule.tickers)
    return warehouse.fetch_frame(sql + " order by ticker", params)


def screen_change(current: set[str], previous: set[str]) -> ScreenChange:
    """Entered = in ``current`` only; exited = in ``previous`` only."""
    return ScreenChange(entered=sorted(current - previous), exited=sorted(previous - current))
