"""Portfolio page: one portfolio's value, returns and risk against its benchmark, holdings,
sector allocation and transactions, plus a form to upload or edit transaction files.

The portfolio is bound to the URL query parameter ``portfolio``. Figures come from the
portfolio marts (:mod:`dashboards.queries.portfolio`); the upload/edit form validates a file with
the same rules as the pipeline and writes it into ``PORTFOLIOS_DIR`` (:mod:`dashboards.lib.portfolio_form`),
where the ``portfolio_files_sensor`` picks it up and rebuilds the portfolio marts.

Money is in the portfolio's currency (:func:`dashboards.queries.portfolio.currency`: ``$``, ``₩``),
shown beside the portfolio's name. The page adds no amounts itself; a portfolio whose positions
are in several currencies is refused (its totals would add won to dollars).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards.lib import context, portfolio_charts, portfolio_form, tables
from dashboards.lib import formatting as fmt
from dashboards.queries import portfolio
from domain.warehouse.readers import DATABASE_ERRORS

KEY_PORTFOLIO = "portfolio"  # also the query-parameter name


def _rejected_banner() -> None:
    rejected = portfolio.rejected_rows(reader)
    if rejected.empty:
        return
    files = sorted(rejected["source_file"].unique())
    st.warning(
        f"{fmt.counted(len(files), 'transaction file')} {fmt.noun(len(files), 'was', 'were')} not loaded "
        f"because of invalid rows: {', '.join(files)}. "
        "Fix them below or in the folder; nothing of a rejected file is loaded.",
        icon=":material/error:",
    )
    with st.expander("Errors of the rejected files"):
        st.dataframe(
            rejected,
            placeholder=tables.EMPTY_CELL,
            hide_index=True,
            column_config={
                "source_file": "File",
                "source_line": st.column_config.NumberColumn("Line", format="%d"),
                "portfolio": "Portfolio",
                "field": "Field",
                "reason": st.column_config.TextColumn("Reason", width="large"),
            },
        )


def _metrics(risk: dict, currency: str) -> None:
    label = portfolio_charts.benchmark_label(risk.get("benchmark_id"))
    top = st.columns(5)
    top[0].metric(f"Market value ({fmt.day(risk.get('as_of_date'))})", fmt.money(risk.get("market_value"), currency))
    top[1].metric("Total P&L", fmt.money(risk.get("total_pnl"), currency))
    top[2].metric("Time-weighted return", fmt.pct(risk.get("total_return"), signed=True))
    top[3].metric("Annualised return", fmt.pct(risk.get("annualised_return"), signed=True))
    top[4].metric(f"{label} return", fmt.pct(risk.get("benchmark_total_return"), signed=True))
    second = st.columns(5)
    second[0].metric("Annualised volatility", fmt.pct(risk.get("annualised_volatility")))
    second[1].metric("Sharpe", fmt.number(risk.get("sharpe_ratio")))
    second[2].metric("Sortino", fmt.number(risk.get("sortino_ratio")))
    second[3].metric(
        "Max drawdown",
        fmt.pct(risk.get("max_drawdown")),
        help=f"peak {fmt.day(risk.get('max_drawdown_peak_date'))}, trough {fmt.day(risk.get('max_drawdown_trough_date'))}",
    )
    second[4].metric(f"Beta vs {label}", fmt.number(risk.get("beta")))
    st.caption(
        f"{int(risk.get('trading_days') or 0)} trading days from {fmt.day(risk.get('first_trade_date'))} to "
        f"{fmt.day(risk.get('as_of_date'))}; annualised with 252 trading days a year; Sharpe and Sortino "
        f"with a risk-free rate of {fmt.pct(risk.get('risk_free_rate'))} a year; benchmark: {label}."
    )


#: Column order of the holdings table: what a position is worth and earned comes right after
#: the ticker, so that it is visible without scrolling.
HOLDINGS_ORDER: tuple[str, ...] = (
    "ticker", "market_value", "weight", "total_pnl", "unrealised_pnl", "quantity", "close_price", "average_cost",
    "cost_basis", "realised_pnl", "dividend_income", "company_name", "sector", "price_date",
)  # fmt: skip


def _holdings(name: str, currency: str) -> None:
    st.subheader("Holdings")
    frame = portfolio.holdings(reader, name)
    money = {"format": fmt.table_money(currency).format, "width": 105}  # pixels: "Unrealised P&L", "$12,345.67" fit
    st.dataframe(
        frame,
        placeholder=tables.EMPTY_CELL,
        width="stretch",
        hide_index=True,
        key="portfolio_holdings",
        column_order=HOLDINGS_ORDER,
        column_config={
            "ticker": st.column_config.TextColumn("Ticker", width="small", pinned=True),
            "market_value": st.column_config.NumberColumn("Market value", **money),
            "weight": st.column_config.NumberColumn("Weight", format="percent", width=80),
            "total_pnl": st.column_config.NumberColumn("Total P&L", **money),
            "unrealised_pnl": st.column_config.NumberColumn("Unrealised P&L", **money),
            "quantity": st.column_config.NumberColumn("Shares", format="%.4g", width=70),
            "close_price": st.column_config.NumberColumn("Close", **money),
            "average_cost": st.column_config.NumberColumn("Avg cost", **money),
            "cost_basis": st.column_config.NumberColumn("Cost basis", **money),
            "realised_pnl": st.column_config.NumberColumn("Realised P&L", **money),
            "dividend_income": st.column_config.NumberColumn("Dividends", **money),
            "company_name": st.column_config.TextColumn("Company", width="medium"),
            "sector": st.column_config.TextColumn("Sector", width="medium"),
            "price_date": st.column_config.DateColumn("Price date", width=95),
        },
    )


def _allocation(name: str, currency: str) -> None:
    st.subheader("Allocation by sector")
    allocation = portfolio.sector_allocation(reader, name)
    if allocation.empty or not (allocation["market_value"] > 0).any():
        st.info("No open positions.")
        return
    chart_col, table_col = st.columns(2, vertical_alignment="center")
    chart_col.plotly_chart(portfolio_charts.allocation_figure(allocation, currency), key="portfolio_allocation",
                           config={"displaylogo": False})  # fmt: skip
    table_col.dataframe(
        allocation,
        width="stretch",
        hide_index=True,
        key="portfolio_allocation_table",
        column_config={
            "sector": "Sector",
            "market_value": st.column_config.NumberColumn("Market value", format=fmt.table_money(currency).format),
            "weight": st.column_config.NumberColumn("Weight", format="percent"),
            "holding_count": st.column_config.NumberColumn("Holdings", format="%d"),
        },
    )


def _transactions(name: str, currency: str) -> pd.DataFrame:
    st.subheader("Transactions")
    frame = portfolio.transactions(reader, name)
    money = fmt.table_money(currency).format
    st.dataframe(
        frame,
        placeholder=tables.EMPTY_CELL,
        width="stretch",
        hide_index=True,
        key="portfolio_transactions",
        column_config={
            "trade_date": st.column_config.DateColumn("Trade date"),
            "ticker": "Ticker",
            "side": "Side",
            "quantity": st.column_config.NumberColumn("Quantity", format="%.4g"),
            "price": st.column_config.NumberColumn("Price", format=money),
            "fees": st.column_config.NumberColumn("Fees", format=money),
            "cash_amount": st.column_config.NumberColumn("Cash", format=money, help="buys negative"),
            "realised_pnl": st.column_config.NumberColumn("Realised P&L", format=money),
            "quantity_after": st.column_config.NumberColumn("Shares after", format="%.4g"),
            "average_cost_after": st.column_config.NumberColumn("Avg cost after", format=money),
            "source_file": "File",
            "source_line": st.column_config.NumberColumn("Line", format="%d"),
        },
    )
    return frame


st.title("Portfolio")
reader = context.reader()
try:
    names = portfolio.portfolio_names(reader)
except DATABASE_ERRORS as exc:  # a warehouse built before the portfolio models existed
    st.info(f"This warehouse has no portfolio tables yet ({exc.__class__.__name__}): run `make build`.")
    st.stop()
_rejected_banner()

if not names:
    st.info(
        "No portfolio is loaded yet: upload a transaction file below (or put one in `PORTFOLIOS_DIR`) "
        "and run `make build`, or let the `portfolio_files_sensor` rebuild."
    )
    portfolio_form.render(reader, None, None)
    st.stop()

name = st.selectbox("Portfolio", names, key=KEY_PORTFOLIO, bind="query-params")
risk = portfolio.risk(reader, name)
if risk is None:  # pragma: no cover - the names come from the same table
    st.stop()
currency = portfolio.currency(risk)
held_in = portfolio.position_currencies(reader, name)
if len(set(held_in) | {currency}) > 1:
    st.error(
        f"{name} holds positions in {', '.join(sorted(set(held_in) | {currency}))}: its totals would add amounts of "
        "different currencies, so the page does not show them. Keep one currency per portfolio file."
    )
    st.stop()
st.markdown(f":gray-badge[:material/payments: Amounts in {currency}]")
_metrics(risk, currency)

daily = portfolio.daily(reader, name)
if len(daily) > 1:
    st.plotly_chart(portfolio_charts.performance_figure(daily, currency), key="portfolio_performance",
                    config={"displaylogo": False})  # fmt: skip

_holdings(name, currency)  # full width: the table has 14 columns
_allocation(name, currency)

rows = _transactions(name, currency)
source_file = str(rows["source_file"].iloc[0]) if not rows.empty else None
portfolio_form.render(reader, name, source_file)
