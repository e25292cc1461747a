"""Stock page: one ticker's chart, benchmark comparison, fundamentals, latest indicators and news.

The ticker is bound to the URL query parameter ``ticker`` (the Screener opens
this page with ``?ticker=XYZ``). Prices come from ``marts.fct_daily_indicators``
for the chosen date range, in the currency of the ticker's market (``$``, ``₩``) on its
exchange's sessions (XNYS, XKRX); fundamentals and the latest indicator values from
``marts.mart_screener_latest`` (with a "Halted" badge when the ticker's latest sessions are
trading halts); a ticker of a market whose benchmark is an index (KOSPI: KS11, KOSDAQ: KQ11) is
compared with it (``marts.fct_index_daily``; a caption says so while the warehouse has no such
table); the valuation panel charts the point-in-time
ratios of ``marts.fct_daily_valuation`` over the chosen range and lists quarters of
``marts.fct_quarterly_fundamentals`` (:mod:`dashboards.lib.fundamentals_panel`). The news panel lists the ticker's latest
headlines (``marts.fct_news_articles``) whatever the chosen date range, since the
bundled news mostly lies outside the price history, with a monthly chart from
``marts.mart_news_daily``. A Korean ticker carries the survivorship note of its universe
(:mod:`dashboards.lib.markets`).

A URL ticker is matched case-insensitively (``?ticker=nvda`` opens NVDA,
:mod:`dashboards.lib.stock_ticker`), and so is a KRX code without its leading zeros or a
company name (``?ticker=5930``, ``?ticker=삼성전자``); the search box takes the same
(:mod:`dashboards.lib.stock_picker`). A name several companies match lists them to choose from;
an unknown one shows "Unknown ticker ..." and the picker, never another stock. The benchmark
comparison is :mod:`dashboards.lib.benchmark_panel`. Every read goes through
:class:`dashboards.lib.stock_reads.StockReads`, cached per ticker, range and warehouse build.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboards.lib import benchmark_panel, charts, context, fundamentals_panel, stock_picker, tables
from dashboards.lib import formatting as fmt
from dashboards.lib import markets as market_notes
from dashboards.lib.stock_reads import StockReads
from dashboards.queries import stock as queries
from dashboards.queries.build import DEFAULT_MARKET
from domain import screens
from domain.markets import Market, market

KEY_DATES = "stock_dates"
KEY_PERIOD = "stock_period"
KEY_BOUNDS = "_stock_bounds"
KEY_NEWS = "stock_news"
NEWS_LIMIT = 20
DEFAULT_TICKER = "AAPL"
DEFAULT_PERIOD = "1Y"

PERIODS: dict[str, timedelta | None] = {
    "1M": timedelta(days=31),
    "3M": timedelta(days=92),
    "6M": timedelta(days=183),
    "YTD": None,
    "1Y": timedelta(days=365),
    "2Y": timedelta(days=730),
    "5Y": timedelta(days=1826),
    "Max": None,
}


def period_range(period: str, first: date, last: date) -> tuple[date, date]:
    """Date range ending at ``last`` covering ``period`` (clamped to ``first``)."""
    if period == "Max":
        start = first
    elif period == "YTD":
        start = date(last.year, 1, 1)
    else:
        start = last - PERIODS[period]
    return max(first, start), last


def _on_period() -> None:
    period = st.session_state.get(KEY_PERIOD)
    bounds = st.session_state.get(KEY_BOUNDS)
    if period and bounds:
        st.session_state[KEY_DATES] = period_range(period, *bounds)


def _on_dates() -> None:
    st.session_state[KEY_PERIOD] = None


def _prepare_dates(first: date, last: date) -> None:
    """Keep the stored date range valid for this ticker's history (before the widget exists)."""
    st.session_state[KEY_BOUNDS] = (first, last)
    current = st.session_state.get(KEY_DATES)
    period = st.session_state.get(KEY_PERIOD, DEFAULT_PERIOD)
    if period or not current or len(current) != 2:
        wanted = period_range(period or DEFAULT_PERIOD, first, last)
        if current is None or tuple(current) != wanted:
            st.session_state[KEY_DATES] = wanted
        return
    start, end = (min(max(d, first), last) for d in current)
    if start >= end:
        start, end = period_range(DEFAULT_PERIOD, first, last)
    if (start, end) != tuple(current):
        st.session_state[KEY_DATES] = (start, end)


#: Registered columns shown as metrics at the top (two rows of six); the rest of the
#: registry's technicals and returns go to the table below them.
TOP_METRICS = (
    ("market_cap", "pe_ratio", "pb_ratio", "dividend_yield", "eps"),
    ("return_252d", "high_52w", "low_52w", "pct_from_high_52w", "rsi_14", "relative_volume"),
)


def _metrics(row: dict, registry: screens.Registry, currency: str) -> None:
    top = st.columns(6)
    top[0].metric(
        f"Close ({fmt.day(row.get('trade_date'))})",
        fmt.money(row.get("close"), currency),
        delta=fmt.pct(row.get("return_1d"), signed=True) if not pd.isna(row.get("return_1d")) else None,
    )
    for slot, name in [*zip(top[1:], TOP_METRICS[0], strict=True), *zip(st.columns(6), TOP_METRICS[1], strict=True)]:
        slot.metric(registry[name].label, _value(registry[name], row, currency), help=registry[name].description)


def _value(column: screens.ScreenerColumn, row: dict, currency: str) -> str:
    """A registered column's value as text (returns with a sign, money in ``currency``)."""
    return fmt.by_format(row.get(column.name), column.format, column.unit, signed=column.group == "returns",
                         currency=currency)  # fmt: skip


def _indicator_table(row: dict, registry: screens.Registry, currency: str) -> pd.DataFrame:
    """Every registered technical and return column not shown as a metric: label and value."""
    shown = {name for names in TOP_METRICS for name in names}
    items = [
        (column.label, _value(column, row, currency))
        for column in registry
        if column.group in ("technicals", "returns") and column.name not in shown and column.name in row
    ]
    return pd.DataFrame(items, columns=["Indicator", "Value"])


def _valuation_source(row: dict) -> str:
    """Where the row's market cap, P/E, P/B and EPS come from, as a caption."""
    source = row.get("valuation_source")
    when = fmt.day(row.get("fundamentals_as_of_date"))
    if source == "sec_filings":
        return f"Market cap, P/E, P/B and EPS: computed from SEC filings known on {when} (TTM diluted EPS)."
    if source == "dart_annual":
        return f"Market cap, P/E, P/B and EPS: computed from DART annual statements known on {when}."
    if source == "vendor_snapshot":
        return f"Market cap, P/E, P/B and EPS: vendor snapshot of {when}."
    if isinstance(source, str) and source:
        return f"Market cap, P/E, P/B and EPS: {source.replace('_', ' ')} of {when}."
    return "Market cap, P/E, P/B and EPS: the warehouse has no fundamentals for this ticker."


def _is(flag: object, value: bool) -> bool:
    """True when the (possibly missing: None, NA) boolean ``flag`` is ``value``."""
    return flag is not None and not pd.isna(flag) and bool(flag) is value


def _badges(row: dict | None, where: Market) -> None:
    """The ticker's market, and "Halted" when its market's latest sessions are trading halts
    (``is_halted``, since ``halted_since``; the prices shown are of the last traded session)."""
    badges = f":gray-badge[{where.display_name} · {where.currency}]"
    halted = row is not None and _is(row.get("is_halted"), True)
    if halted:
        badges += f" :red-badge[:material/block: Halted since {fmt.day(row.get('halted_since'))}]"
    st.markdown(badges)
    if halted:
        st.caption(
            f"Trading is halted since {fmt.day(row.get('halted_since'))}: the price and indicators are those of the "
            f"last traded session, {fmt.day(row.get('trade_date'))}."
        )


def _news_panel(reads: StockReads, ticker: str) -> None:
    """Latest headlines of ``ticker`` (any date), their count and a monthly chart."""
    st.subheader("News")
    summary = reads(queries.news_summary, ticker)
    if not summary["articles"]:
        st.info(f"No news articles are tagged with {ticker}.")
        return
    shown = min(summary["articles"], NEWS_LIMIT)
    below = f"the latest {shown} below" if shown > 1 else "shown below"
    st.caption(
        f"{fmt.counted(summary['articles'], 'article')} tagged with {ticker}, {fmt.day(summary['first'])} to "
        f"{fmt.day(summary['last'])} (UTC dates), mean headline sentiment "
        f"{fmt.number(summary['avg_sentiment'], 3)} (-1..1, Loughran-McDonald); {below}."
    )
    headlines = reads(queries.news_headlines, ticker, NEWS_LIMIT)
    st.dataframe(
        headlines[["published_at", "publisher", "title", "link", "sentiment_score", "tag_method"]],
        placeholder=tables.EMPTY_CELL,
        key=KEY_NEWS,
        hide_index=True,
        column_config={
            "published_at": st.column_config.DatetimeColumn("Published (UTC)", format="YYYY-MM-DD HH:mm"),
            "publisher": st.column_config.TextColumn("Publisher"),
            "title": st.column_config.TextColumn("Headline", width="large"),
            "link": st.column_config.LinkColumn("Link", display_text="open"),
            "sentiment_score": st.column_config.NumberColumn("Sentiment", format="%.2f"),
            "tag_method": st.column_config.TextColumn("Tagged by", help="vendor, symbol or company name"),
        },
    )
    daily = reads(queries.news_daily, ticker)
    if len(daily) > 1:
        st.plotly_chart(charts.news_figure(daily), key="stock_news_chart", config={"displaylogo": False})
        monthly = charts.monthly_news(daily)
        gaps = charts.news_gaps(monthly)
        if gaps:
            first, last = max(gaps, key=lambda gap: gap[1] - gap[0])
            span = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m} to {last:%Y-%m}"
            empty = int((monthly["article_count"] == 0).sum())
            st.caption(
                f"No articles in {fmt.counted(empty, 'month')} of {len(monthly)} (longest stretch: {span}); "
                "the sentiment line is not drawn across months without articles."
            )


st.title("Stock")

reader = context.reader()
reads = StockReads(reader)
registry = screens.registry()
companies = reads(queries.companies)
if companies.empty:
    st.info("The warehouse has no tickers yet.")
    st.stop()
names = dict(zip(companies["ticker"], companies["company_name"], strict=True))
markets_of = dict(zip(companies["ticker"], companies["market"], strict=True))

ticker, unknown = stock_picker.render(companies, DEFAULT_TICKER)
if unknown is not None:
    st.error(
        f"Unknown ticker {stock_picker.markdown_text(unknown)}: the warehouse has no such ticker. "
        f"Choose one of its {len(companies)} tickers above."
    )
    st.stop()
if ticker is None:
    st.info("Choose a ticker.")
    st.stop()

bounds = reads(queries.date_bounds, ticker)
if bounds is None:
    st.info(f"No price history for {ticker} in the warehouse.")
    st.stop()
first, last = bounds
_prepare_dates(first, last)
st.session_state.setdefault(KEY_PERIOD, DEFAULT_PERIOD)

period_col, dates_col, overlay_col = st.columns([3, 2, 2], vertical_alignment="bottom")
with period_col:
    st.segmented_control("Period", list(PERIODS), key=KEY_PERIOD, on_change=_on_period)
with dates_col:
    picked = st.date_input(
        "Date range", key=KEY_DATES, min_value=first, max_value=last, on_change=_on_dates, format="YYYY-MM-DD"
    )
with overlay_col:
    show_sma = st.toggle("SMA 20/50/200", value=True, key="stock_show_sma")
    show_bb = st.toggle("Bollinger bands", value=True, key="stock_show_bb")

if not isinstance(picked, (tuple, list)) or len(picked) != 2:
    st.info("Pick an end date for the range.")
    st.stop()
start, end = picked

history = reads(queries.price_history, ticker, start, end)
row = reads(queries.latest_row, ticker)
where = market(markets_of.get(ticker) or DEFAULT_MARKET)

company = names.get(ticker) or ticker
st.subheader(f"{ticker} · {company}")
_badges(row, where)
sector = fmt.text(row.get("sector") if row else None)
if history.empty:
    st.caption(f"Sector: {sector} · prices in {where.currency}")
    st.info(f"No trading days for {ticker} between {start} and {end}.")
else:
    first_shown, last_shown = (fmt.day(history["trade_date"].iloc[i]) for i in (0, -1))
    st.caption(
        f"Sector: {sector} · {len(history)} trading days, {first_shown} to {last_shown} · prices in {where.currency}"
    )
    fig = charts.stock_figure(history, show_sma=show_sma, show_bollinger=show_bb, currency=where.currency,
                              exchange=where.exchange_calendar)  # fmt: skip
    st.plotly_chart(fig, key="stock_chart", config={"displaylogo": False})
if market_notes.has_survivorship_bias(where.code):
    listed = reads(queries.market_last_trade_date, where.code)
    st.caption(f":material/info: {market_notes.survivorship_note([where.code], listed)}")

benchmark_panel.render(reads, ticker, history, where)

if row is None:
    st.info(f"{ticker} has no row in the latest screener mart.")
else:
    st.subheader("Fundamentals and latest indicators")
    _metrics(row, registry, where.currency)
    st.caption(_valuation_source(row))
    if _is(row.get("fundamentals_known_on_trade_date"), False):
        st.warning(
            f"The fundamentals are dated {fmt.day(row.get('fundamentals_as_of_date'))}, after this price "
            f"({fmt.day(row.get('trade_date'))}): they were not known on that day (look-ahead)."
        )
    st.dataframe(_indicator_table(row, registry, where.currency), hide_index=True, width=480,
                 placeholder=tables.EMPTY_CELL)  # fmt: skip

fundamentals_panel.render(reads, ticker, start, end, where.currency, where.exchange_calendar,
                          vendor_snapshot=bool(row) and row.get("valuation_source") == "vendor_snapshot")  # fmt: skip

_news_panel(reads, ticker)

st.page_link("views/screener.py", label="Back to the screener", icon=":material/arrow_back:")
