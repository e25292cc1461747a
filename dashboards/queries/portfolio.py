"""Reads of the portfolio marts for the Portfolio page (read-only, through a :class:`~domain.warehouse.readers.Reader`).

Tables (built by dbt from the transaction files of ``PORTFOLIOS_DIR``; see README "Portfolios"):

* ``portfolios.fct_portfolio_daily`` — one row per (portfolio, trade_date): market value and cash
  flows in USD, time-weighted daily and cumulative returns, drawdown, and the benchmark's.
* ``portfolios.fct_portfolio_positions_daily`` — one row per (portfolio, ticker, trade_date).
* ``portfolios.mart_portfolio_risk`` — one row per portfolio: annualised risk figures (252 trading days).
* ``portfolios.mart_portfolio_sector_allocation`` — (portfolio, trade_date, sector) weights.
* ``portfolios.fct_portfolio_transactions`` — the transactions with the position after each one.
* ``portfolios.fct_portfolio_rejected_rows`` — rows of files that were not loaded, with reasons.

All of them are in the private schema ``<prefix>portfolios`` (role ``app_reader`` on PostgreSQL;
BI's ``bi_reader`` sees only ``marts``); the app reads no raw, staging or intermediate table.

Money is in the portfolio's currency (``currency`` of ``mart_portfolio_risk``: USD, KRW; a
warehouse built before that column existed holds USD portfolios only, :data:`DEFAULT_CURRENCY`);
returns, weights and drawdowns are fractions. Every function returns a pandas frame (or dict)
with ``trade_date`` columns as pandas datetimes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from domain.warehouse.readers import Reader

#: The currency of every portfolio of marts without a ``currency`` column (the US market's).
DEFAULT_CURRENCY = "USD"


def currency(risk_row: dict[str, Any]) -> str:
    """The currency of a portfolio from its :func:`risk` row (:data:`DEFAULT_CURRENCY` when the
    marts have no ``currency`` column yet)."""
    value = risk_row.get("currency")
    return str(value) if isinstance(value, str) and value else DEFAULT_CURRENCY


def position_currencies(reader: Reader, portfolio: str) -> list[str]:
    """The distinct ``currency`` values of the portfolio's positions
    (``portfolios.fct_portfolio_positions_daily``), sorted; ``[]`` when the mart has no such column."""
    positions = reader.table("portfolios", "fct_portfolio_positions_daily")
    if "currency" not in reader.query(f"SELECT * FROM {positions} LIMIT 0").columns:
        return []
    frame = reader.query(
        f"SELECT currency FROM {positions} WHERE portfolio = ? AND currency IS NOT NULL GROUP BY currency "
        f"ORDER BY {reader.text_order('currency')}",
        [portfolio],
    )
    return [str(c) for c in frame["currency"]]


def portfolio_names(reader: Reader) -> list[str]:
    """Names of the portfolios in ``portfolios.mart_portfolio_risk``, sorted by code point."""
    frame = reader.query(
        f"SELECT portfolio FROM {reader.table('portfolios', 'mart_portfolio_risk')} ORDER BY {reader.text_order('portfolio')}"
    )
    return [str(name) for name in frame["portfolio"]]


def risk(reader: Reader, portfolio: str) -> dict[str, Any] | None:
    """The portfolio's row of ``portfolios.mart_portfolio_risk`` as a dict, or None."""
    frame = reader.query(
        f"SELECT * FROM {reader.table('portfolios', 'mart_portfolio_risk')} WHERE portfolio = ?", [portfolio]
    )
    return None if frame.empty else frame.iloc[0].to_dict()


#: Columns of :func:`daily` (``portfolios.fct_portfolio_daily``).
DAILY_COLUMNS: tuple[str, ...] = (
    "trade_date", "market_value", "net_cash_flow", "buy_amount", "sell_amount", "dividend_amount", "fees",
    "total_pnl", "daily_return", "cumulative_return", "drawdown",
    "benchmark_id", "benchmark_daily_return", "benchmark_cumulative_return", "benchmark_drawdown",
)  # fmt: skip


def daily(reader: Reader, portfolio: str) -> pd.DataFrame:
    """The portfolio's daily rows, oldest first. Columns: :data:`DAILY_COLUMNS`."""
    return reader.query(
        f"SELECT {', '.join(DAILY_COLUMNS)} FROM {reader.table('portfolios', 'fct_portfolio_daily')} "
        "WHERE portfolio = ? ORDER BY trade_date",
        [portfolio],
    )


#: Columns of :func:`holdings` (``portfolios.fct_portfolio_positions_daily`` on the latest date).
HOLDING_COLUMNS: tuple[str, ...] = (
    "ticker", "company_name", "sector", "quantity", "average_cost", "close_price", "price_date",
    "market_value", "cost_basis", "unrealised_pnl", "realised_pnl", "dividend_income", "total_pnl", "weight",
)  # fmt: skip


def holdings(reader: Reader, portfolio: str) -> pd.DataFrame:
    """Positions on the portfolio's latest trade_date, largest market value first: open
    positions and closed ones (quantity 0) that still carry realised P&L or dividends.
    Columns: :data:`HOLDING_COLUMNS`."""
    positions = reader.table("portfolios", "fct_portfolio_positions_daily")
    return reader.query(
        f"SELECT {', '.join(HOLDING_COLUMNS)} FROM {positions} "
        f"WHERE portfolio = ? AND trade_date = (SELECT max(trade_date) FROM {positions} WHERE portfolio = ?) "
        f"ORDER BY market_value DESC, {reader.text_order('ticker')}",
        [portfolio, portfolio],
    )


def sector_allocation(reader: Reader, portfolio: str) -> pd.DataFrame:
    """``sector, market_value, weight, holding_count`` on the portfolio's latest trade_date,
    largest weight first."""
    allocation = reader.table("portfolios", "mart_portfolio_sector_allocation")
    return reader.query(
        f"SELECT sector, market_value, weight, holding_count FROM {allocation} "
        f"WHERE portfolio = ? AND trade_date = (SELECT max(trade_date) FROM {allocation} WHERE portfolio = ?) "
        f"ORDER BY weight DESC, {reader.text_order('sector')}",
        [portfolio, portfolio],
    )


#: Columns of :func:`transactions` (``portfolios.fct_portfolio_transactions``).
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "trade_date", "ticker", "side", "quantity", "price", "fees", "cash_amount", "realised_pnl",
    "quantity_after", "average_cost_after", "source_file", "source_line",
)  # fmt: skip


def transactions(reader: Reader, portfolio: str) -> pd.DataFrame:
    """The portfolio's transactions, newest first, with the position after each and the file
    line they come from (``portfolios.fct_portfolio_transactions``). Columns:
    :data:`TRANSACTION_COLUMNS` (``cash_amount`` signed from the investor's side: buys negative)."""
    return reader.query(
        f"SELECT {', '.join(TRANSACTION_COLUMNS)} FROM {reader.table('portfolios', 'fct_portfolio_transactions')} "
        "WHERE portfolio = ? ORDER BY trade_date DESC, source_line DESC",
        [portfolio],
    )


def rejected_rows(reader: Reader) -> pd.DataFrame:
    """Rows of transaction files that were not loaded (``source_file, source_line, portfolio,
    field, reason``), by file and line; empty when every file loaded."""
    return reader.query(
        "SELECT source_file, source_line, portfolio, field, reason "
        f"FROM {reader.table('portfolios', 'fct_portfolio_rejected_rows')} "
        f"ORDER BY {reader.text_order('source_file')}, source_line"
    )


def day_ranges(reader: Reader, ticker: str) -> pd.DataFrame:
    """``trade_date, low, high`` (the market's currency, unadjusted as loaded) of every bar of ``ticker``
    (``marts.fct_daily_indicators``): the upload form checks buy and sell prices against them."""
    return reader.query(
        f"SELECT trade_date, low, high FROM {reader.table('marts', 'fct_daily_indicators')} WHERE ticker = ?",
        [ticker],
    )


def price_history_bounds(reader: Reader) -> pd.DataFrame:
    """``ticker, first_trade_date, last_trade_date, market`` of every ticker with prices
    (``marts.fct_daily_indicators``; a ticker has one market): the reference the upload form
    validates against (sessions of the ticker's exchange, one currency per portfolio)."""
    return reader.query(
        "SELECT ticker, min(trade_date) AS first_trade_date, max(trade_date) AS last_trade_date, "
        f"min(market) AS market FROM {reader.table('marts', 'fct_daily_indicators')} GROUP BY ticker"
    )
