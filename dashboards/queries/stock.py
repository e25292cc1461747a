"""Reads of the Stock page: one ticker's bars and indicators (``marts.fct_daily_indicators``), its
latest screener row, its market's benchmark index (``marts.fct_index_daily``), its news
(``marts.fct_news_articles``, ``marts.mart_news_daily``) and its point-in-time fundamentals
(``marts.fct_daily_valuation``, ``marts.fct_quarterly_fundamentals``).

Units are the warehouse's: prices in the currency of the ticker's market (USD, KRW), volume
shares, returns and ratios fractions, RSI and the stochastic 0-100; ``trade_date`` columns come
back as pandas datetimes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from dashboards.queries import is_missing_table
from domain.warehouse.readers import DATABASE_ERRORS, Reader


def companies(reader: Reader) -> pd.DataFrame:
    """``ticker, company_name, sector, market`` of every company that has a latest screener row,
    by ticker (code point order: KRX codes before US symbols)."""
    return reader.query(
        f"SELECT ticker, company_name, sector, market FROM {reader.table('marts', 'mart_screener_latest')} "
        f"ORDER BY {reader.text_order('ticker')}"
    )


def market_last_trade_date(reader: Reader, market: str) -> date | None:
    """The latest trade date of any ticker of ``market`` (``marts.dim_companies``), None without one."""
    frame = reader.query(
        f"SELECT max(last_trade_date) AS d FROM {reader.table('marts', 'dim_companies')} WHERE market = ?", [market]
    )
    value = frame.at[0, "d"]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def latest_row(reader: Reader, ticker: str) -> dict[str, Any] | None:
    """The ticker's row of ``marts.mart_screener_latest`` as a dict (all contract columns), or None."""
    frame = reader.query(f"SELECT * FROM {reader.table('marts', 'mart_screener_latest')} WHERE ticker = ?", [ticker])
    if frame.empty:
        return None
    return frame.iloc[0].to_dict()


def date_bounds(reader: Reader, ticker: str) -> tuple[date, date] | None:
    """First and last ``trade_date`` of the ticker in ``marts.fct_daily_indicators`` (None if none)."""
    frame = reader.query(
        "SELECT min(trade_date) AS first_date, max(trade_date) AS last_date "
        f"FROM {reader.table('marts', 'fct_daily_indicators')} WHERE ticker = ?",
        [ticker],
    )
    first, last = frame.at[0, "first_date"], frame.at[0, "last_date"]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def price_history(reader: Reader, ticker: str, start: date, end: date) -> pd.DataFrame:
    """Daily rows of one ticker with ``start <= trade_date <= end``, oldest first: every column of
    ``marts.fct_daily_indicators`` (OHLCV as loaded, the adjusted bars the indicators are computed
    on, every indicator; ``trade_date`` as pandas datetime), so a new indicator needs no change here.
    """
    return reader.query(
        f"SELECT * FROM {reader.table('marts', 'fct_daily_indicators')} "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
        [ticker, start, end],
    )


#: Columns of :func:`index_history` (``marts.fct_index_daily``).
INDEX_COLUMNS: tuple[str, ...] = ("trade_date", "index_code", "index_name", "close", "daily_return")


def index_history(reader: Reader, index_code: str, start: date, end: date) -> pd.DataFrame | None:
    """Daily closes of the index ``index_code`` (``KS11``, ``KQ11``) with ``start <= trade_date <=
    end``, oldest first, from ``marts.fct_index_daily`` (columns :data:`INDEX_COLUMNS`; close in
    index points, ``daily_return`` a fraction); None when the warehouse has no such table yet."""
    try:
        return reader.query(
            f"SELECT {', '.join(INDEX_COLUMNS)} FROM {reader.table('marts', 'fct_index_daily')} "
            "WHERE index_code = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
            [index_code, start, end],
        )
    except DATABASE_ERRORS as exc:
        if is_missing_table(exc):
            return None
        raise


#: Columns of :func:`news_headlines` (``marts.fct_news_articles``; ``published_at`` in UTC).
NEWS_COLUMNS: tuple[str, ...] = (
    "published_at", "publisher", "title", "link", "sentiment_score", "tag_method", "news_source", "article_id",
)  # fmt: skip


def news_headlines(reader: Reader, ticker: str, limit: int = 20) -> pd.DataFrame:
    """The ticker's latest ``limit`` headlines of ``marts.fct_news_articles``, newest first (ties
    by ``article_id``), whatever their date. Columns: :data:`NEWS_COLUMNS`; ``published_at`` is
    UTC (naive), ``sentiment_score`` in [-1, 1]."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")
    return reader.query(
        f"SELECT {', '.join(NEWS_COLUMNS)} FROM {reader.table('marts', 'fct_news_articles')} WHERE ticker = ? "
        f"ORDER BY published_at DESC, {reader.text_order('article_id')} LIMIT ?",
        [ticker, limit],
    )


def news_summary(reader: Reader, ticker: str) -> dict[str, Any]:
    """``articles`` (count), ``first``/``last`` UTC publication dates (None without news) and
    ``avg_sentiment`` of all the ticker's articles in ``marts.fct_news_articles``."""
    frame = reader.query(
        "SELECT count(*) AS articles, min(published_date) AS first_date, max(published_date) AS last_date, "
        f"avg(sentiment_score) AS avg_sentiment FROM {reader.table('marts', 'fct_news_articles')} WHERE ticker = ?",
        [ticker],
    )
    row = frame.iloc[0]
    first, last = row["first_date"], row["last_date"]
    return {
        "articles": int(row["articles"]),
        "first": None if pd.isna(first) else pd.Timestamp(first).date(),
        "last": None if pd.isna(last) else pd.Timestamp(last).date(),
        "avg_sentiment": None if pd.isna(row["avg_sentiment"]) else float(row["avg_sentiment"]),
    }


def news_daily(reader: Reader, ticker: str) -> pd.DataFrame:
    """The ticker's rows of ``marts.mart_news_daily`` (``news_date, article_count, positive_count,
    negative_count, avg_sentiment``), oldest first."""
    return reader.query(
        "SELECT news_date, article_count, positive_count, negative_count, avg_sentiment "
        f"FROM {reader.table('marts', 'mart_news_daily')} WHERE ticker = ? ORDER BY news_date",
        [ticker],
    )


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


def valuation_history(reader: Reader, ticker: str, start: date, end: date) -> pd.DataFrame:
    """Point-in-time valuation of ``ticker`` for ``start <= trade_date <= end``, oldest first."""
    return reader.query(
        f"SELECT {', '.join(VALUATION_COLUMNS)} FROM {reader.table('marts', 'fct_daily_valuation')} "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ? ORDER BY trade_date",
        [ticker, start, end],
    )


def quarterly_fundamentals(reader: Reader, ticker: str, limit: int = 12) -> pd.DataFrame:
    """The latest ``limit`` fiscal quarters of the ticker's company as first reported, newest first.

    Only quarters first reported on or before the ticker's last trade date are returned, so
    the page never shows figures from after the price history.
    """
    valuation = reader.table("marts", "fct_daily_valuation")
    return reader.query(
        f"SELECT {', '.join(QUARTER_COLUMNS)} FROM {reader.table('marts', 'fct_quarterly_fundamentals')} "
        f"WHERE cik = (SELECT max(cik) FROM {valuation} WHERE ticker = ?) "
        f"AND first_reported_date <= (SELECT max(trade_date) FROM {valuation} WHERE ticker = ?) "
        f"ORDER BY period_end DESC LIMIT {int(limit)}",
        [ticker, ticker],
    )
