"""Plotly figure builders for the Stock page. Pure functions of DataFrames (no I/O).

The input is a frame like :func:`dashboards.queries.stock.price_history`:
one row per trade date, oldest first, with ``trade_date``, OHLC prices (in the currency of the
ticker's market, USD or KRW), ``volume`` (shares), ``sma_20/50/200``, ``bb_upper/middle/lower``,
``rsi_14`` (0-100), ``macd``, ``macd_signal``, ``macd_hist``. When the frame has the
``adjusted_*`` columns, candles and volume bars are drawn from them: the
split- and dividend-adjusted bars the overlays are computed on.

Date axes show the sessions of the ticker's exchange only (:func:`session_rangebreaks`, the
market's calendar of :mod:`domain.calendar`: XNYS for the US, XKRX for KOSPI and KOSDAQ):
weekends and exchange holidays leave no empty slot, while a session without a bar (a trading
halt, missing data) stays visible as a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.lib import formatting as fmt
from domain.calendar import EXCHANGE, sessions_between

UP_COLOR = "#26a69a"
DOWN_COLOR = "#ef5350"
SMA_COLORS = {"sma_20": "#1f77b4", "sma_50": "#ff7f0e", "sma_200": "#9467bd"}
BB_COLOR = "rgba(120, 120, 120, 0.8)"

#: Row order of :func:`stock_figure`'s panels.
PANELS: tuple[str, ...] = ("Price", "Volume", "RSI (14)", "MACD (12, 26, 9)")

#: Ticks of the sentiment axis of :func:`news_figure` (scores are in [-1, 1]).
SENTIMENT_TICKS: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0)


def session_rangebreaks(days: Iterable[date | pd.Timestamp], exchange: str = EXCHANGE) -> list[dict]:
    """Plotly ``rangebreaks`` hiding the calendar days between the first and last of ``days``
    that are not sessions of ``exchange`` (an exchange-calendars name: ``XNYS``, ``XKRX``; weekends
    and exchange holidays), so a daily date axis shows sessions only.

    Returns ``[]`` for no days, else the weekend pattern (``bounds: ["sat", "mon"]``) and a
    ``values`` break of each weekday holiday (``YYYY-MM-DD``). A day of ``days`` is never
    hidden, even if the calendar says the exchange was closed; a session missing from ``days``
    is not hidden either, so missing data stays visible as a gap.
    """
    stamps = pd.to_datetime(pd.Series(list(days), dtype="object")).dropna()
    if stamps.empty:
        return []
    first, last = stamps.min().date(), stamps.max().date()
    shown = set(sessions_between(first, last, exchange)) | {ts.date() for ts in stamps}
    calendar_days = [ts.date() for ts in pd.date_range(first, last, freq="D")]
    if any(day.weekday() >= 5 for day in shown):  # a weekend session: list every closed day
        return [{"values": [d.isoformat() for d in calendar_days if d not in shown]}]
    holidays = [d.isoformat() for d in calendar_days if d.weekday() < 5 and d not in shown]
    return [{"bounds": ["sat", "mon"]}, *([{"values": holidays}] if holidays else [])]


def _line(frame: pd.DataFrame, column: str, name: str, **line: object) -> go.Scatter:
    return go.Scatter(x=frame["trade_date"], y=frame[column], name=name, mode="lines", line=line)


def _adjusted_bars(history: pd.DataFrame) -> pd.DataFrame:
    """``open, high, low, close, volume`` from the ``adjusted_*`` columns where present, so the
    candles match the indicator overlays across splits and ex-dividend days."""
    names = ("open", "high", "low", "close", "volume")
    return pd.DataFrame(
        {name: history[f"adjusted_{name}"] if f"adjusted_{name}" in history else history[name] for name in names}
    )


def stock_figure(
    history: pd.DataFrame,
    *,
    title: str = "",
    show_sma: bool = True,
    show_bollinger: bool = True,
    rsi_levels: tuple[float, float] = (30.0, 70.0),
    currency: str = "USD",
    exchange: str = EXCHANGE,
) -> go.Figure:
    """Four stacked panels sharing the date axis of the sessions of ``exchange``.

    1. Candlestick (in ``currency``: axis title, symbol and decimals of the currency) with
       optional SMA 20/50/200 and Bollinger band (20, 2) overlays.
    2. Daily volume (shares) bars, green on up days, red on down days.
    3. RSI(14) with dotted lines at ``rsi_levels`` (oversold / overbought).
    4. MACD line, signal line and histogram.

    The first trace is always the candlestick (one candle per row of ``history``).
    """
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.52, 0.14, 0.15, 0.19],
        subplot_titles=("", *PANELS[1:]),  # the price panel is obvious; its title would hit the legend
    )
    x = history["trade_date"]
    bars = _adjusted_bars(history)
    fig.add_trace(
        go.Candlestick(
            x=x,
            open=bars["open"],
            high=bars["high"],
            low=bars["low"],
            close=bars["close"],
            name="OHLC",
            increasing_line_color=UP_COLOR,
            decreasing_line_color=DOWN_COLOR,
        ),
        row=1,
        col=1,
    )
    if show_sma:
        for column, color in SMA_COLORS.items():
            label = column.replace("sma_", "SMA ")
            fig.add_trace(_line(history, column, label, color=color, width=1.3), row=1, col=1)
    if show_bollinger:
        fig.add_trace(
            _line(history, "bb_upper", "BB upper", color=BB_COLOR, width=1, dash="dot"), row=1, col=1
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=history["bb_lower"],
                name="BB lower",
                mode="lines",
                line={"color": BB_COLOR, "width": 1, "dash": "dot"},
                fill="tonexty",
                fillcolor="rgba(150, 150, 150, 0.12)",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            _line(history, "bb_middle", "BB middle", color=BB_COLOR, width=1), row=1, col=1
        )

    up = bars["close"] >= bars["open"]
    fig.add_trace(
        go.Bar(
            x=x,
            y=bars["volume"],
            name="Volume",
            marker_color=[UP_COLOR if u else DOWN_COLOR for u in up],
            showlegend=False,
        ),
        row=2,
        col=1,
    )

    fig.add_trace(_line(history, "rsi_14", "RSI 14", color="#8c564b", width=1.3), row=3, col=1)
    for level in rsi_levels:
        fig.add_hline(y=level, line_dash="dot", line_color="grey", line_width=1, row=3, col=1)
    fig.update_yaxes(range=[0, 100], row=3, col=1)

    hist_colors = [UP_COLOR if (v or 0) >= 0 else DOWN_COLOR for v in history["macd_hist"]]
    fig.add_trace(
        go.Bar(x=x, y=history["macd_hist"], name="MACD hist", marker_color=hist_colors), row=4, col=1
    )
    fig.add_trace(_line(history, "macd", "MACD", color="#1f77b4", width=1.3), row=4, col=1)
    fig.add_trace(_line(history, "macd_signal", "Signal", color="#ff7f0e", width=1.3), row=4, col=1)

    fig.update_layout(
        title=title or None,
        height=900,
        margin={"l": 40, "r": 20, "t": 60, "b": 30},
        xaxis_rangeslider_visible=False,
        legend={"orientation": "h", "y": 1.01, "x": 0, "yanchor": "bottom", "traceorder": "normal"},
        hovermode="x unified",
        bargap=0.1,
    )
    # exchange sessions only: no empty slots on weekends and holidays
    fig.update_xaxes(rangebreaks=session_rangebreaks(x, exchange))
    decimals = fmt.money_decimals(currency)  # whole won ticks read ₩70,000, not plotly's ₩70k
    fig.update_yaxes(title_text=currency, tickprefix=fmt.currency_symbol(currency), hoverformat=f",.{decimals}f",
                     tickformat=None if decimals else ",.0f", row=1, col=1)  # fmt: skip
    fig.update_yaxes(title_text="shares", tickformat="~s", hoverformat=",d", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(tickmode="array", tickvals=sorted({0.0, *rsi_levels, 100.0}), tickformat="~g", hoverformat=".1f",
                     row=3, col=1)  # fmt: skip
    fig.update_yaxes(hoverformat=".3f", row=4, col=1)
    return fig


def candle_count(fig: go.Figure) -> int:
    """Number of candles in a figure from :func:`stock_figure`."""
    for trace in fig.data:
        if trace.type == "candlestick":
            return len(trace.x) if trace.x is not None else 0
    return 0


def relative_returns(history: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """The ticker against its benchmark index over the sessions both have: ``trade_date``,
    ``stock`` and ``index``, each the cumulative return (fraction) since the first common
    session, from the ticker's ``adjusted_close`` (``close`` when absent; a frame like
    :func:`dashboards.queries.stock.price_history`) and the index's ``close`` (a frame like
    :func:`dashboards.queries.stock.index_history`). Empty when they share no session."""
    price = "adjusted_close" if "adjusted_close" in history else "close"
    stock = history[["trade_date", price]].rename(columns={price: "stock"})
    joined = stock.merge(index[["trade_date", "close"]].rename(columns={"close": "index"}), on="trade_date")
    joined = joined.dropna().sort_values("trade_date").reset_index(drop=True)
    if joined.empty:
        return pd.DataFrame({"trade_date": pd.Series(dtype="datetime64[us]"), "stock": pd.Series(dtype="float64"),
                             "index": pd.Series(dtype="float64")})  # fmt: skip
    for column in ("stock", "index"):
        joined[column] = joined[column].astype("float64") / float(joined[column].iloc[0]) - 1
    return joined


def benchmark_figure(relative: pd.DataFrame, ticker: str, index_name: str, exchange: str = EXCHANGE) -> go.Figure:
    """Two lines of a :func:`relative_returns` frame, on a percent axis over the sessions of
    ``exchange``: the ticker's cumulative return and its benchmark's (``index_name``)."""
    fig = go.Figure()
    for column, name, color in (("stock", ticker, SMA_COLORS["sma_20"]), ("index", index_name, "#555555")):
        fig.add_trace(go.Scatter(x=relative["trade_date"], y=relative[column], name=name, mode="lines",
                                 line={"color": color, "width": 1.5}, hovertemplate="%{y:+.1%}"))  # fmt: skip
    fig.update_xaxes(rangebreaks=session_rangebreaks(relative["trade_date"], exchange))
    fig.update_yaxes(title_text="return since the first day", tickformat="+.0%", zeroline=True)
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.12})  # fmt: skip
    return fig


def monthly_news(daily: pd.DataFrame) -> pd.DataFrame:
    """Calendar months of a frame like :func:`dashboards.queries.stock.news_daily` (``news_date``,
    ``article_count``, ``avg_sentiment``; UTC dates), one row per month from the first month with
    news to the last, oldest first: ``month`` (timestamp of the month's first day),
    ``article_count`` (0 in a month without news) and ``sentiment``, the article-weighted mean
    of the days' ``avg_sentiment`` (-1..1; NaN in a month without news, or whose days have no
    score).

    Raises:
        KeyError: a column above is missing from ``daily`` (named in the message).
    """
    for column in ("news_date", "article_count", "avg_sentiment"):
        if column not in daily:
            raise KeyError(f"daily news frame has no column {column!r}")
    columns = ["month", "article_count", "sentiment"]
    if daily.empty:
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "article_count": pd.Series(dtype="int64"),
                             "sentiment": pd.Series(dtype="float64")})  # fmt: skip
    counts = pd.to_numeric(daily["article_count"], errors="coerce").fillna(0)
    scores = pd.to_numeric(daily["avg_sentiment"], errors="coerce")
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(daily["news_date"]).dt.to_period("M").dt.to_timestamp(),
            "article_count": counts,
            "weighted": scores * counts,
            "scored": counts.where(scores.notna(), 0),
        }
    )
    monthly = frame.groupby("month")[["article_count", "weighted", "scored"]].sum()
    months = pd.date_range(monthly.index.min(), monthly.index.max(), freq="MS")
    monthly = monthly.reindex(months, fill_value=0)
    monthly["sentiment"] = (monthly["weighted"] / monthly["scored"]).where(monthly["scored"] > 0)
    monthly["article_count"] = monthly["article_count"].astype("int64")
    return monthly.rename_axis("month").reset_index()[columns]


def news_gaps(monthly: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Runs of consecutive months without articles in a :func:`monthly_news` frame, as
    ``(first month, last month)`` pairs (month-start timestamps), oldest first."""
    gaps: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    start = None
    for month, count in zip(monthly["month"], monthly["article_count"], strict=True):
        if count == 0 and start is None:
            start = month
        if count == 0:
            end = month
        elif start is not None:
            gaps.append((start, end))
            start = None
    if start is not None:
        gaps.append((start, end))
    return gaps


def news_figure(daily: pd.DataFrame) -> go.Figure:
    """Monthly news of one ticker from a frame like :func:`dashboards.queries.stock.news_daily`
    (see :func:`monthly_news`): bars of articles per calendar month (UTC dates, left axis) and a
    line of the month's article-weighted mean sentiment (-1..1, right axis, ticks at
    :data:`SENTIMENT_TICKS`). The line is broken at every month without news
    (``connectgaps=False``), so it never bridges a stretch with no data.
    """
    monthly = monthly_news(daily)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    bars = go.Bar(
        x=monthly["month"], y=monthly["article_count"], name="Articles", marker_color="#90a4ae",
        hovertemplate="%{y:,d} articles<extra></extra>",
    )  # fmt: skip
    line = go.Scatter(
        x=monthly["month"], y=monthly["sentiment"], name="Mean sentiment", mode="lines+markers",
        line={"color": "#5e35b1", "width": 1.5}, marker={"size": 4}, connectgaps=False,
        hovertemplate="sentiment %{y:.2f}<extra></extra>",
    )  # fmt: skip
    fig.add_trace(bars, secondary_y=False)
    fig.add_trace(line, secondary_y=True)
    top = int(monthly["article_count"].max()) if len(monthly) else 0
    fig.update_yaxes(title_text="articles / month", secondary_y=False, rangemode="tozero", tickformat=",d",
                     **({"dtick": 1} if top <= 5 else {}))  # fmt: skip
    fig.update_yaxes(
        title_text="sentiment", secondary_y=True, range=[-1.05, 1.05], zeroline=True, showgrid=False,
        tickmode="array", tickvals=list(SENTIMENT_TICKS), ticktext=[f"{v:g}" for v in SENTIMENT_TICKS],
    )  # fmt: skip
    fig.update_xaxes(hoverformat="%b %Y")
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, bargap=0.1, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.12})  # fmt: skip
    return fig
