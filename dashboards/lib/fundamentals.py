"""Queries of the SEC-filing fundamentals marts for the Stock page.

* :func:`valuation_history`: ``marts.fct_daily_valuation`` rows of one ticker (one row per
  trade date; ratios as fractions, money in USD, per share in USD per share).
* :func:`quarterly_fundamentals`: ``marts.fct_quarterly_fundamentals`` rows of the ticker's
  company (one row per fiscal quarter, newest first, as first reported).

Both return an empty frame when the ticker's company has no SEC facts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from dashboards.lib.warehouse import query, table

#: Columns of :func:`valuation_history`.
VALUATION_COLUMNS: tuple[str, ...] = (
    "trade_date", "close", "knowledge_date", "ttm_eps_diluted", "pe_ratio", "pe_ratio_null_reason",
    "market_cap", "pb_ratio", "pb_ratio_null_reason", "roe", "roe_null_reason", "debt_to_equity",
    "net_margin", "revenue_growth_yoy", "ttm_revenue", "ttm_net_income", "stockholders_equity",
    "ttm_eps_fact_refs", "ttm_net_income_fact_refs", "stockholders_equity_fact_ref",
    "shares_outstanding_fact_ref",
)  # fmt: skip

#: Columns of :func:`quarterly_fundamentals`.
QUARTER_COLUMNS: tuple[str, ...] = (
    "period_end", "first_reported_date", "quarter_revenue", "quarter_net_income", "quarter_eps_diluted",
    "eps_diluted_is_derived", "quarter_operating_cash_flow", "ttm_revenue", "ttm_net_income",
    "ttm_eps_diluted", "stockholders_equity", "total_liabilities", "shares_outstanding",
)  # fmt: skip


def valuation_history(ticker: str, start: date, end: date, path: Path | None = None) -> pd.DataFrame:
    """Point-in-time valuation of ``ticker`` for ``start <= trade_date <= end``, oldest first."""
    return query(
        f"SELECT {', '.join(VALUATION_COLUMNS)} FROM {table('marts', 'fct_daily_valuation')} "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
        [ticker, start, end],
        path=path,
    )


def quarterly_fundamentals(ticker: str, limit: int = 12, path: Path | None = None) -> pd.DataFrame:
    """The latest ``limit`` fiscal quarters of the ticker's company as first reported, newest first.

    Only quarters first reported on or before the ticker's last trade date are returned, so
    the page never shows figures from after the price history.
    """
    valuation = table("marts", "fct_daily_valuation")
    return query(
        f"SELECT {', '.join(QUARTER_COLUMNS)} FROM {table('marts', 'fct_quarterly_fundamentals')} "
        f"WHERE cik = (SELECT max(cik) FROM {valuation} WHERE ticker = ?) "
        f"AND first_reported_date <= (SELECT max(trade_date) FROM {valuation} WHERE ticker = ?) "
        f"ORDER BY period_end DESC LIMIT {int(limit)}",
        [ticker, ticker],
        path=path,
    )
