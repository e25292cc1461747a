"""The Stock page: URL tickers (case, unknown), the session axis of the price chart, the monthly
news chart (gaps, sentiment ticks) and the cached reads. Unit tests on made-up frames first, then
the page through AppTest on the built warehouse (both backends), checked against direct reads."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
import streamlit as st

from dashboards.lib import charts
from dashboards.lib.fundamentals_panel import valuation_figure
from dashboards.lib.stock_reads import StockReads
from dashboards.lib.stock_ticker import resolve_ticker
from dashboards.queries import stock as queries
from domain.warehouse.readers import BuildInfo
from tests.app_harness import open_stock_page, rerun

# XNYS holidays on weekdays between 2017-11-01 and 2018-01-31 (Thanksgiving, Christmas, New
# Year's Day, Martin Luther King Jr. Day), from the exchange's published calendar.
HOLIDAYS = ["2017-11-23", "2017-12-25", "2018-01-01", "2018-01-15"]


def _bars(days: list[str]) -> pd.DataFrame:
    """A price-history frame (the columns :func:`charts.stock_figure` draws) on ``days``."""
    n = len(days)
    values = {c: [10.0 + i for i in range(n)] for c in (
        "open", "high", "low", "close", "sma_20", "sma_50", "sma_200", "bb_upper", "bb_middle", "bb_lower",
        "macd", "macd_signal", "macd_hist",
    )}  # fmt: skip
    return pd.DataFrame({"trade_date": pd.to_datetime(days), "volume": [1_000_000] * n, "rsi_14": [50.0] * n, **values})


def _weekdays(first: str, last: str) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.bdate_range(first, last)]


# ----------------------------------------------------------------------------- ticker in the URL


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("AAPL", "AAPL"), ("nvda", "NVDA"), (" msft ", "MSFT"), ("brk-b", "BRK.B"), ("BRK/B", "BRK.B"),
     ("ZZZZ", None), ("", None), ("AAP", "AAP"), ("aapl.", None)],
)  # fmt: skip
def test_resolve_ticker(requested, expected):
    assert resolve_ticker(requested, ["AAP", "AAPL", "BRK.B", "MSFT", "NVDA"]) == expected


def test_resolve_ticker_refuses_ambiguous_and_non_text():
    assert resolve_ticker("abc", ["ABC", "abc"]) == "abc"  # exact spelling wins
    assert resolve_ticker("Abc", ["ABC", "abc"]) is None  # two candidates: none chosen
    with pytest.raises(TypeError, match="ticker must be a string"):
        resolve_ticker(None, ["AAPL"])


# ----------------------------------------------------------------------------- session axis


def test_rangebreaks_hide_weekends_and_exchange_holidays():
    sessions = [d for d in _weekdays("2017-11-01", "2018-01-31") if d not in HOLIDAYS]
    breaks = charts.session_rangebreaks(pd.to_datetime(sessions))
    assert breaks == [{"bounds": ["sat", "mon"]}, {"values": HOLIDAYS}]
    assert charts.session_rangebreaks([]) == []


def test_a_session_without_data_stays_visible_and_no_bar_is_hidden():
    sessions = [d for d in _weekdays("2017-12-01", "2018-01-05") if d not in HOLIDAYS]
    missing = "2017-12-14"  # a session with no bar: a real gap, not hidden
    odd = "2017-12-25"  # a bar dated on a holiday (bad data): drawn, not hidden
    days = sorted([d for d in sessions if d != missing] + [odd])
    values = charts.session_rangebreaks(days)[1]["values"]
    assert missing not in values and odd not in values
    assert values == ["2018-01-01"]


def test_price_chart_axis_is_the_session_calendar():
    sessions = [d for d in _weekdays("2017-11-01", "2018-01-31") if d not in HOLIDAYS]
    fig = charts.stock_figure(_bars(sessions))
    breaks = [rb.to_plotly_json() for rb in fig.layout.xaxis.rangebreaks]
    assert breaks == [{"bounds": ["sat", "mon"]}, {"values": HOLIDAYS}]
    assert fig.layout.xaxis4.rangebreaks == fig.layout.xaxis.rangebreaks  # shared by every panel
    assert list(fig.layout.yaxis3.tickvals) == [0, 30, 70, 100]  # RSI: the levels, not 0/20/40...
    assert fig.layout.yaxis3.tickformat == "~g"  # 30, not 30.0
    assert fig.layout.yaxis.tickprefix == "$" and fig.layout.yaxis2.tickformat == "~s"


def test_valuation_chart_uses_the_same_axis():
    days = [d for d in _weekdays("2017-12-20", "2018-01-10") if d not in HOLIDAYS]
    history = pd.DataFrame({"trade_date": pd.to_datetime(days), "pe_ratio": 15.0, "pb_ratio": 5.0, "roe": 0.3,
                            "net_margin": 0.2})  # fmt: skip
    fig = valuation_figure(history)
    assert [rb.to_plotly_json() for rb in fig.layout.xaxis.rangebreaks] == [
        {"bounds": ["sat", "mon"]}, {"values": ["2017-12-25", "2018-01-01"]},
    ]  # fmt: skip
    assert fig.layout.yaxis2.ticksuffix == "%"


# ----------------------------------------------------------------------------- news chart


DAILY = pd.DataFrame(
    {
        "news_date": pd.to_datetime(["2020-03-02", "2020-03-20", "2020-04-10", "2020-08-05", "2025-02-03"]),
        "article_count": [3, 1, 2, 4, 1],
        "avg_sentiment": [0.5, -1.0, 0.25, None, -0.5],
    }
)


def test_monthly_news_fills_empty_months_and_weights_by_articles():
    monthly = charts.monthly_news(DAILY)
    assert len(monthly) == 60  # 2020-03 .. 2025-02
    head = monthly.head(6)
    assert list(head["article_count"]) == [4, 2, 0, 0, 0, 4]
    assert head["sentiment"].iloc[0] == pytest.approx((3 * 0.5 + 1 * -1.0) / 4)
    assert head["sentiment"].iloc[1] == pytest.approx(0.25)
    assert head["sentiment"].iloc[2:].isna().all()  # no news, or news without a score: no point
    assert monthly["sentiment"].iloc[-1] == pytest.approx(-0.5)
    gaps = charts.news_gaps(monthly)
    assert gaps == [(pd.Timestamp("2020-05-01"), pd.Timestamp("2020-07-01")),
                    (pd.Timestamp("2020-09-01"), pd.Timestamp("2025-01-01"))]  # fmt: skip
    with pytest.raises(KeyError, match="article_count"):
        charts.monthly_news(DAILY.drop(columns="article_count"))


def test_news_chart_breaks_the_line_and_has_plain_sentiment_ticks():
    fig = charts.news_figure(DAILY)
    bars, line = fig.data
    assert line.connectgaps is False
    y = pd.Series(line.y, dtype="float64")
    assert y.notna().sum() == 3 and y.isna().sum() == 57  # drawn only in months with scored news
    assert pd.isna(y.iloc[40])  # mid-2023: nothing bridges the 4.5 years without news
    assert list(fig.layout.yaxis2.tickvals) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert list(fig.layout.yaxis2.ticktext) == ["-1", "-0.5", "0", "0.5", "1"]
    assert fig.layout.yaxis2.tickmode == "array" and tuple(fig.layout.yaxis2.range) == (-1.05, 1.05)
    assert fig.layout.yaxis.tickformat == ",d" and fig.layout.yaxis.dtick == 1  # whole articles
    assert list(bars.y)[:6] == [4, 2, 0, 0, 0, 4]


# ----------------------------------------------------------------------------- cached reads


class CountingReader:
    """A stand-in :class:`~domain.warehouse.readers.Reader` that counts its queries."""

    backend = "duckdb"

    def __init__(self, run_id: str) -> None:
        self.run_id, self.queries = run_id, 0

    def describe(self) -> str:
        return "a counting reader"

    def table(self, layer: str, name: str) -> str:
        return f"{layer}.{name}"

    def text_order(self, column: str) -> str:
        return column

    def build_info(self) -> BuildInfo:
        return BuildInfo(built_at=pd.Timestamp("2024-01-02", tz="UTC").to_pydatetime(), run_id=self.run_id)

    def query(self, sql: str, params=None) -> pd.DataFrame:
        self.queries += 1
        return pd.DataFrame({"ticker": ["AAPL"], "company_name": [f"Apple {self.queries}"], "sector": ["IT"]})


def test_reads_are_cached_per_build():
    st.cache_data.clear()
    reader = CountingReader("run-1")
    first = StockReads(reader)(queries.companies)
    again = StockReads(reader)(queries.companies)
    assert reader.queries == 1 and first.equals(again)
    reader.run_id = "run-2"  # a new build: read again
    assert StockReads(reader)(queries.companies)["company_name"].iloc[0] == "Apple 2"
    assert reader.queries == 2
    with pytest.raises(ValueError, match="dashboards.queries.stock"):
        StockReads(reader)(len)


# ----------------------------------------------------------------------------- the page


def _figures(at) -> list:
    return [pio.from_json(el.proto.spec) for el in at.get("plotly_chart")]


def _numbers(values) -> list[float]:
    """A trace's numbers as floats (NaN for gaps), whether plain or a typed array (``bdata``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float).tolist()
    return [np.nan if v is None else float(v) for v in values]


def test_lower_case_ticker_opens_that_stock(app_on):
    at = open_stock_page(app_on.settings, "nvda")
    assert at.selectbox(key="ticker").value == "NVDA"
    assert at.subheader[0].value.startswith("NVDA · ")
    assert not at.error
    end = pd.Timestamp(app_on.read(
        f"SELECT max(trade_date) AS d FROM {app_on.t('marts', 'fct_daily_indicators')} WHERE ticker = 'NVDA'"
    ).at[0, "d"]).date()  # fmt: skip
    candles = next(t for t in _figures(at)[0].data if t.type == "candlestick")
    assert pd.Timestamp(candles.x[-1]).date() == end


def test_unknown_ticker_says_so_and_shows_no_other_stock(app_on):
    at = open_stock_page(app_on.settings, "ZZZZ")
    assert [e.value for e in at.error] == [
        "Unknown ticker ZZZZ: the warehouse has no such ticker. Choose one of its "
        + f"{len(at.selectbox(key='ticker').options)} tickers above."
    ]
    assert at.selectbox(key="ticker").value is None  # the picker still offers the list
    assert "AAPL" in at.selectbox(key="ticker").options
    assert not _figures(at) and not at.metric and not at.subheader
    at.selectbox(key="ticker").set_value("MSFT")
    rerun(at)
    assert not at.error and at.subheader[0].value.startswith("MSFT · ")
    assert _figures(at)


def test_price_chart_on_the_page_shows_sessions_only(app_on):
    at = open_stock_page(app_on.settings, "AAPL")
    fig = _figures(at)[0]
    candles = next(t for t in fig.data if t.type == "candlestick")
    shown = pd.to_datetime(pd.Series(candles.x))
    first, last = shown.min(), shown.max()
    breaks = [rb.to_plotly_json() for rb in fig.layout.xaxis.rangebreaks]
    assert breaks[0] == {"bounds": ["sat", "mon"]}
    holidays = breaks[1]["values"]
    # every weekday in the range is either a bar or a hidden holiday of the calendar
    weekdays = set(_weekdays(str(first.date()), str(last.date())))
    assert weekdays == {d.strftime("%Y-%m-%d") for d in shown} | set(holidays)
    assert "2017-12-25" in holidays and "2017-07-04" in holidays  # the default 1Y range ends 2018-02-07


def test_news_chart_on_the_page_is_not_drawn_across_the_gap(app_on):
    daily = app_on.read(
        f"SELECT news_date FROM {app_on.t('marts', 'mart_news_daily')} WHERE ticker = 'AAPL' ORDER BY news_date"
    )
    months = pd.to_datetime(daily["news_date"]).dt.to_period("M")
    at = open_stock_page(app_on.settings, "AAPL")
    news = next(f for f in _figures(at) if any(t.name == "Mean sentiment" for t in f.data))
    line = next(t for t in news.data if t.name == "Mean sentiment")
    drawn = {pd.Timestamp(x).to_period("M") for x, y in zip(line.x, _numbers(line.y), strict=True) if not np.isnan(y)}
    assert drawn == set(months)  # a point in each month with news, none in between
    assert len(line.x) == (months.max() - months.min()).n + 1
    assert list(news.layout.yaxis2.tickvals) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    caption = next(c.value for c in at.caption if c.value.startswith("No articles in "))
    assert "longest stretch: 2020-07 to 2025-01" in caption
