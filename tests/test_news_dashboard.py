"""News in the app: the screener's 7-day news filters (SQL builder, filter form, results on the
built warehouse on DuckDB and PostgreSQL, the page through AppTest) and the Stock page's news
panel, checked against independent reads of the raw news tables."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.lib import filter_form as ff
from dashboards.queries import screener as screener_queries
from domain import screens
from domain.warehouse.readers import open_reader
from domain.screens import Range, ScreenSpec, build_screen_query
from tests.app_harness import Source, open_stock_page, rerun, run_app

# ----------------------------------------------------------------------------- spec and form


def test_news_filters_compile_to_parameters():
    q = build_screen_query(ScreenSpec(min_news_count_7d=2, news_sentiment_7d=Range(min=-0.5, max=0.5)))
    assert "news_sentiment_7d > ?" in q.sql and "news_sentiment_7d < ?" in q.sql and "news_count_7d >= ?" in q.sql
    assert q.params == [2, -0.5, 0.5]  # registry order: news count, then sentiment
    assert {"news_count_7d", "news_sentiment_7d"} <= set(screens.registry().result_columns) & set(screens.registry().sort_columns)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_news_count_must_be_a_whole_number(bad):
    with pytest.raises((ValueError, TypeError)):
        ScreenSpec(min_news_count_7d=bad)


def test_filter_form_roundtrip():
    spec = ScreenSpec(min_news_count_7d=1, news_sentiment_7d=Range(min=0.0))
    values = ff.widget_values(spec)
    assert values["scr_min_news_count_7d"] == 1 and values["scr_news_sentiment_7d_min"] == 0.0 and values["scr_news_sentiment_7d_max"] is None
    assert ff.spec_from_widgets(values) == spec
    assert ff.spec_from_widgets({"scr_min_news_count_7d": 1.0}).min_news_count_7d == 1  # number_input may give a float


# ----------------------------------------------------------------------------- on the built warehouse


@pytest.fixture()
def mart(app_on) -> pd.DataFrame:
    return app_on.read(f"SELECT ticker, news_count_7d, news_sentiment_7d FROM {app_on.t('marts', 'mart_screener_latest')}")


SCREENS = {
    "in the news": (ScreenSpec(min_news_count_7d=1), lambda m: m["news_count_7d"] >= 1),
    "positive news": (ScreenSpec(news_sentiment_7d=Range(min=0)), lambda m: m["news_sentiment_7d"] > 0),
    "negative news": (ScreenSpec(news_sentiment_7d=Range(max=0)), lambda m: m["news_sentiment_7d"] < 0),
    "busy week": (ScreenSpec(min_news_count_7d=5), lambda m: m["news_count_7d"] >= 5),
}


@pytest.mark.parametrize("name", list(SCREENS))
def test_news_screens_match_independent_pandas(app_on, mart, name):
    spec, predicate = SCREENS[name]
    expected = set(mart.loc[predicate(mart).fillna(False).astype(bool), "ticker"])
    assert 0 < len(expected) < len(mart), f"screen {name!r} does not discriminate on this data"
    assert set(screener_queries.run_screen(open_reader(app_on.settings), spec)["ticker"]) == expected


def test_sort_by_news_count(app_on, mart):
    result = screener_queries.run_screen(open_reader(app_on.settings), ScreenSpec(sort_by="news_count_7d", descending=True, limit=3))
    assert list(result["ticker"]) == ["ABC", "A", "ABBV"]
    assert list(result["news_count_7d"]) == [7, 3, 1]


# ----------------------------------------------------------------------------- pages


def test_screener_page_news_filter(app_on, mart):
    at = run_app(app_on.settings)
    at.number_input(key="scr_min_news_count_7d").set_value(1)
    rerun(at)
    table = next(d for d in at.dataframe if d.key == "scr_table").value
    assert set(table["ticker"]) == set(mart.loc[mart["news_count_7d"] >= 1, "ticker"]) == {"A", "ABBV", "ABC"}
    assert {"news_count_7d", "news_sentiment_7d"} <= set(table.columns)
    assert at.selectbox(key="scr_preset").value == "Custom"


def expected_headlines(source: Source, ticker: str) -> pd.DataFrame:
    """The ticker's articles straight from the raw tables, newest first (ties by article id)."""
    frame = source.read(
        f"SELECT a.article_id, a.published_at, a.publisher, a.title, a.link, a.sentiment_score "
        f"FROM {source.t('raw', 'news_article_tickers')} t JOIN {source.t('raw', 'news_articles')} a "
        "ON a.article_id = t.article_id WHERE t.ticker = ?",
        [ticker],
    )
    return frame.sort_values(["published_at", "article_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def news_table(at: AppTest) -> pd.DataFrame | None:
    """The Stock page's headline table (the only table with a ``title`` column), or None."""
    tables = [d.value for d in at.dataframe if "title" in d.value.columns]
    assert len(tables) <= 1
    return tables[0] if tables else None


def test_stock_page_news_panel(app_on):
    expected = expected_headlines(app_on, "A")
    at = open_stock_page(app_on.settings, "A")
    assert at.selectbox(key="ticker").value == "A"
    panel = news_table(at)
    assert len(panel) == 20 < len(expected)
    top = expected.head(20)
    assert list(panel["title"]) == list(top["title"])
    assert list(panel["publisher"]) == list(top["publisher"])
    assert [None if pd.isna(v) else v for v in panel["link"]] == [None if pd.isna(v) else v for v in top["link"]]
    assert list(panel["sentiment_score"].astype(float)) == list(top["sentiment_score"].astype(float))
    assert (pd.to_datetime(panel["published_at"]) == pd.to_datetime(top["published_at"])).all()
    # the panel ignores the chart's date range: A's latest news (2020) is after the price history (2018)
    assert pd.to_datetime(panel["published_at"]).dt.year.max() == 2020
    caption = next(c.value for c in at.caption if "articles tagged with A" in c.value)
    assert caption.startswith(f"{len(expected):,} articles tagged with A, ")
    assert len(at.get("plotly_chart")) == 2  # price chart + monthly news chart


def test_stock_page_without_news(app_on):
    tickers = app_on.read(
        f"SELECT ticker FROM {app_on.t('marts', 'mart_screener_latest')} WHERE ticker NOT IN "
        f"(SELECT ticker FROM {app_on.t('raw', 'news_article_tickers')}) ORDER BY ticker LIMIT 1"
    )["ticker"]
    ticker = tickers.iloc[0]
    at = open_stock_page(app_on.settings, ticker)
    assert news_table(at) is None
    assert any(f"No news articles are tagged with {ticker}" in i.value for i in at.info)
