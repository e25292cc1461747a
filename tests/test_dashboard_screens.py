"""Unit tests of the screen model -> SQL compiler, the presets, the column registry and the filter form
mapping (no warehouse needed)."""

from __future__ import annotations

import math

import duckdb
import pytest

from dashboards.lib import filter_form as ff
from domain import screens
from domain.screens import (
    Range,
    ScreenSpec,
    Trend,
    build_count_query,
    build_screen_query,
)

INJECTION = "x' OR '1'='1'; DROP TABLE marts.mart_screener_latest; --"


@pytest.fixture()
def mart() -> duckdb.DuckDBPyConnection:
    """A tiny in-memory ``marts.mart_screener_latest`` with the contract's screen columns."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA marts")
    cols = ", ".join(
        f"{c} {'VARCHAR' if c in ('ticker', 'company_name', 'sector') else 'DATE' if c == 'trade_date' else 'BOOLEAN' if c in ('new_high_52w', 'golden_cross_20d') else 'DOUBLE'}"
        for c in screens.registry().result_columns
    )
    con.execute(f"CREATE TABLE marts.mart_screener_latest ({cols}, market VARCHAR DEFAULT 'US')")
    rows = [
        # ticker, company, sector, rsi, close, sma_50, sma_200, pe, div, mcap, new_high, golden
        ("AAA", "Alpha Inc", "Energy", 25.0, 110.0, 105.0, 100.0, 12.0, 0.04, 5e10, False, True),
        ("BBB", "Beta_Corp 100%", "Utilities", 29.999, 90.0, 95.0, 100.0, 15.0, 0.03, 2e11, True, False),
        ("CCC", "Gamma Co", "Energy", 30.0, 120.0, 110.0, 100.0, None, None, None, None, None),
        ("DDD", "x' OR '1'='1", "Financials", 75.0, 80.0, 85.0, 90.0, -5.0, 0.031, 1e9, False, False),
    ]
    for t, name, sector, rsi, close, s50, s200, pe, div, mcap, nh, gc in rows:
        con.execute(
            "INSERT INTO marts.mart_screener_latest (ticker, company_name, sector, rsi_14, close, sma_50, sma_200,"
            " pe_ratio, dividend_yield, market_cap, new_high_52w, golden_cross_20d, pct_from_high_52w,"
            " relative_volume, return_21d) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [t, name, sector, rsi, close, s50, s200, pe, div, mcap, nh, gc, close / 125 - 1, close / 100, rsi / 100],
        )
    yield con
    con.close()


def _tickers(con: duckdb.DuckDBPyConnection, spec: ScreenSpec) -> list[str]:
    q = build_screen_query(spec)
    return [r[0] for r in con.execute(q.sql, q.params).fetchall()]


def test_empty_spec_selects_everything_without_params():
    q = build_screen_query(ScreenSpec(sort_by="rsi_14"))
    assert "WHERE" not in q.sql
    assert q.params == []
    assert q.sql.startswith("SELECT ticker, company_name, sector,")
    assert ", market FROM marts.mart_screener_latest ORDER BY rsi_14 DESC NULLS LAST, ticker ASC" in q.sql


def test_a_money_sort_over_two_currencies_keeps_each_currency_together():
    """Sorted by market cap over every market (USD and KRW), rows are grouped by currency in the
    seed's order before the amount: won are never compared with dollars. One currency (US
    alone, or KOSPI) or a sort by a unit-free column needs no grouping."""
    q = build_screen_query(ScreenSpec())
    grouping = "CASE market WHEN 'US' THEN 0 WHEN 'KOSPI' THEN 1 WHEN 'KOSDAQ' THEN 1 END"
    assert f"ORDER BY {grouping} ASC NULLS LAST, market_cap DESC NULLS LAST, ticker ASC" in q.sql
    assert q.params == []  # the seed's codes are the only literals
    for spec in (ScreenSpec(markets=("US",)), ScreenSpec(markets=("KOSPI",)), ScreenSpec(sort_by="rsi_14")):
        assert screens.currency_order(spec) is None
    assert screens.currency_order(ScreenSpec(markets=("US", "KOSDAQ"), sort_by="close")) == (
        "CASE market WHEN 'US' THEN 0 WHEN 'KOSDAQ' THEN 1 END"
    )


def test_values_travel_as_params_not_sql_text():
    spec = ScreenSpec(
        sectors=("Energy", "Utilities"),
        market_cap=Range(min=1e10, max=3e11),
        rsi_14=Range(max=30),
        return_252d=Range(min=0.2),
        max_below_high_52w=0.05,
        min_relative_volume=1.5,
    )
    q = build_screen_query(spec)
    # filters in registry order (YAML order of mart_screener_latest.yml): returns, RSI, relative
    # volume, distance from the high, market cap
    assert q.params == ["Energy", "Utilities", 0.2, 30.0, 1.5, -0.05, 1e10, 3e11]
    assert q.sql.count("?") == len(q.params)
    for literal in ("Energy", "Utilities", "1e10", "30", "0.2", "0.05", "1.5"):
        assert literal not in q.sql
    assert "sector IN (?, ?)" in q.sql
    assert "market_cap > ?" in q.sql and "market_cap < ?" in q.sql
    assert "rsi_14 < ?" in q.sql
    assert "pct_from_high_52w >= ?" in q.sql and "relative_volume >= ?" in q.sql


def test_injection_string_in_text_filter_is_data(mart):
    q = build_screen_query(ScreenSpec(text=INJECTION))
    assert INJECTION not in q.sql
    assert "DROP" not in q.sql
    assert q.params == ["%" + INJECTION.replace("_", "\\_") + "%"] * 2  # LIKE '_' escaped
    assert _tickers(mart, ScreenSpec(text=INJECTION)) == []
    # the table is still there and complete
    assert mart.execute("SELECT count(*) FROM marts.mart_screener_latest").fetchone()[0] == 4
    # a company literally named like an injection is found as plain text
    assert _tickers(mart, ScreenSpec(text="x' OR '1'='1")) == ["DDD"]


def test_injection_string_in_sector_is_data(mart):
    assert _tickers(mart, ScreenSpec(sectors=(INJECTION,))) == []
    assert _tickers(mart, ScreenSpec(sectors=("Energy') OR ('1'='1",))) == []


def test_like_wildcards_in_text_are_literal(mart):
    assert _tickers(mart, ScreenSpec(text="%")) == ["BBB"]  # only the name containing a literal '%'
    assert _tickers(mart, ScreenSpec(text="100%", sort_by="ticker", descending=False)) == ["BBB"]
    assert _tickers(mart, ScreenSpec(text="m_a")) == []  # '_' is not "any character" (would match "Gamma")
    assert _tickers(mart, ScreenSpec(text="beta_", sort_by="ticker", descending=False)) == ["BBB"]
    assert _tickers(mart, ScreenSpec(text="  gamma ")) == ["CCC"]  # case-insensitive, trimmed


@pytest.mark.parametrize("bad", ["close; DROP TABLE x", "1", "market_cap DESC", "random()", "", "MARKET_CAP"])
def test_bad_sort_column_rejected(bad):
    with pytest.raises(ValueError, match="sort"):
        ScreenSpec(sort_by=bad)


def test_sort_whitelist_rechecked_at_build_time():
    spec = ScreenSpec()
    object.__setattr__(spec, "sort_by", "ticker; DROP TABLE marts.mart_screener_latest")
    with pytest.raises(AttributeError):
        spec.sort_by = "close"  # immutable through the normal path
    with pytest.raises(ValueError):
        build_screen_query(spec)


def test_every_sort_column_orders_like_python(mart):
    """Each registered sort column, both directions: the order is Python's sort of the same rows
    (NULLs last, ties by ticker)."""
    rows = mart.execute("SELECT * FROM marts.mart_screener_latest").fetch_df()
    assert len(screens.registry().sort_columns) >= 20
    for column in screens.registry().sort_columns:
        for descending in (True, False):
            present = rows[rows[column].notna()].sort_values(["ticker"])
            present = present.sort_values(column, ascending=not descending, kind="stable")
            expected = [*present["ticker"], *sorted(rows[rows[column].isna()]["ticker"])]
            assert _tickers(mart, ScreenSpec(sort_by=column, descending=descending)) == expected, (column, descending)


def test_sort_direction_and_nulls_last(mart):
    assert _tickers(mart, ScreenSpec(sort_by="pe_ratio", descending=False)) == ["DDD", "AAA", "BBB", "CCC"]
    assert _tickers(mart, ScreenSpec(sort_by="pe_ratio", descending=True)) == ["BBB", "AAA", "DDD", "CCC"]


def test_ranges_are_open_intervals(mart):
    assert _tickers(mart, ScreenSpec(rsi_14=Range(max=30), sort_by="ticker", descending=False)) == ["AAA", "BBB"]
    assert _tickers(mart, ScreenSpec(pe_ratio=Range(max=15), sort_by="ticker", descending=False)) == ["AAA", "DDD"]
    assert _tickers(mart, ScreenSpec(dividend_yield=Range(min=0.03), sort_by="ticker", descending=False)) == ["AAA", "DDD"]


def test_trend_filters(mart):
    assert _tickers(mart, ScreenSpec(vs_sma_200=Trend.ABOVE, sort_by="ticker", descending=False)) == ["AAA", "CCC"]
    assert _tickers(mart, ScreenSpec(vs_sma_50=Trend.BELOW, sort_by="ticker", descending=False)) == ["BBB", "DDD"]
    assert "WHERE close > sma_200" in build_screen_query(ScreenSpec(vs_sma_200=Trend.ABOVE)).sql


def test_flags(mart):
    assert _tickers(mart, ScreenSpec(new_high_52w=True)) == ["BBB"]
    assert _tickers(mart, ScreenSpec(golden_cross_20d=True)) == ["AAA"]


def test_markets_limit_the_rows_and_are_params(mart):
    mart.execute("UPDATE marts.mart_screener_latest SET market = 'KOSPI' WHERE ticker IN ('BBB', 'CCC')")
    kospi = ScreenSpec(markets=("KOSPI",), sort_by="ticker", descending=False)
    assert _tickers(mart, kospi) == ["BBB", "CCC"]
    assert _tickers(mart, kospi.replace(rsi_14=Range(max=30))) == ["BBB"]  # filters apply within the market
    q = build_screen_query(kospi)
    assert "WHERE market IN (?)" in q.sql and q.params == ["KOSPI"] and "'KOSPI'" not in q.sql
    # every market, sorted by market cap: the US rows (USD) first, then the KOSPI rows (KRW)
    assert _tickers(mart, ScreenSpec()) == ["AAA", "DDD", "BBB", "CCC"]
    assert ScreenSpec(markets=["KOSDAQ", "US", "KOSDAQ"]).markets == ("US", "KOSDAQ")  # the seed's order
    with pytest.raises(ValueError, match="unknown markets \\['NYSE'\\]; markets: US, KOSPI, KOSDAQ"):
        ScreenSpec(markets=("NYSE",))
    with pytest.raises(TypeError, match="list of market codes"):
        ScreenSpec(markets="KOSPI")  # type: ignore[arg-type]


def test_limit_is_a_param(mart):
    q = build_screen_query(ScreenSpec(limit=2, sort_by="ticker", descending=False))
    assert q.sql.endswith("LIMIT ?") and q.params == [2]
    assert _tickers(mart, ScreenSpec(limit=2, sort_by="ticker", descending=False)) == ["AAA", "BBB"]
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError):
            ScreenSpec(limit=bad)


def test_count_query_matches(mart):
    spec = ScreenSpec(sectors=("Energy",), rsi_14=Range(max=50))
    q = build_count_query(spec)
    assert "ORDER BY" not in q.sql
    assert mart.execute(q.sql, q.params).fetchone()[0] == len(_tickers(mart, spec)) == 2


def test_invalid_numbers_rejected():
    with pytest.raises(ValueError):
        Range(min=5, max=1)
    with pytest.raises(ValueError):
        Range(min=math.nan)
    with pytest.raises(ValueError):
        Range(max=math.inf)
    with pytest.raises(TypeError):
        Range(min="1 OR 1=1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Range(min=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ScreenSpec(max_below_high_52w=-0.1)
    with pytest.raises(ValueError):
        ScreenSpec(vs_sma_50="sideways")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ScreenSpec(sectors=(1,))  # type: ignore[arg-type]


def test_presets_name_the_markets_they_are_meant_for():
    """Technical presets apply to any market; the fundamental ones to the US (their data); the
    Korean ones to one Korean market each (the market selector holds one market or all)."""
    presets = screens.presets()
    assert presets["Oversold above SMA200"].markets == () and presets["Momentum"].markets == ()
    assert presets["Value: P/E < 15 and dividend yield > 3 %"].markets == ("US",)
    assert presets["Quality (filings): ROE > 15 % and debt/equity < 2"].markets == ("US",)
    assert presets["KOSDAQ oversold"].markets == ("KOSDAQ",)
    assert presets["KOSDAQ oversold"].rsi_14 == Range(max=30) and presets["KOSDAQ oversold"].stoch_k == Range(max=20)
    breakout = presets["KOSPI 52-week high breakout"]
    assert breakout.markets == ("KOSPI",) and breakout.new_high_52w and breakout.min_relative_volume == 2.0
    assert all(len(spec.markets) <= 1 for spec in presets.values())
    q = build_screen_query(presets["KOSDAQ oversold"])
    assert q.params == ["KOSDAQ", 30.0, 20.0]
    assert screens.spec_from_mapping(screens.spec_to_mapping(breakout)) == breakout  # alert rules' YAML form


def test_presets_compile_and_match_their_definitions():
    required = {
        "Oversold above SMA200",
        "New 52-week highs",
        "Golden cross (20d)",
        "Value: P/E < 15 and dividend yield > 3 %",
        "Momentum",
    }
    presets = screens.presets()
    assert required <= set(presets)
    assert set(presets) == set(screens.PRESET_DESCRIPTIONS)
    oversold = presets["Oversold above SMA200"]
    assert oversold.rsi_14 == Range(max=30) and oversold.vs_sma_200 is Trend.ABOVE
    value = presets["Value: P/E < 15 and dividend yield > 3 %"]
    assert value.pe_ratio == Range(max=15) and value.dividend_yield == Range(min=0.03)
    assert presets["New 52-week highs"].new_high_52w
    assert presets["Golden cross (20d)"].golden_cross_20d
    for spec in presets.values():
        q = build_screen_query(spec)
        assert q.sql.count("?") == len(q.params)


# ------------------------------------------------------------------ filter form


def test_widget_units_roundtrip_presets():
    for name, spec in screens.presets().items():
        values = ff.widget_values(spec)
        # the market selector's value only when the preset names its market
        assert set(values) == set(ff.widget_keys()) - ({ff.KEY_MARKET} if not spec.markets else set()), name
        assert ff.spec_from_widgets(values) == spec, name


def test_widget_units_conversion():
    values = {
        "scr_market_cap_min": 10.0,
        "scr_dividend_yield_min": 3.0,
        "scr_return_252d_max": 7.0,
        "scr_max_below_high_52w": 5.0,
        "scr_min_relative_volume": 1.5,
        "scr_pe_ratio_max": 15,
        ff.KEY_SECTORS: ["Energy"],
        "scr_vs_sma_200": "below",
    }
    spec = ff.spec_from_widgets(values)
    assert spec.market_cap == Range(min=10e9)
    assert spec.dividend_yield == Range(min=0.03)
    assert spec.return_252d == Range(max=0.07)
    assert spec.max_below_high_52w == 0.05
    assert spec.min_relative_volume == 1.5
    assert spec.pe_ratio == Range(max=15.0)
    assert spec.sectors == ("Energy",) and spec.vs_sma_200 is Trend.BELOW
    shown = ff.widget_values(spec)
    assert shown["scr_market_cap_min"] == 10.0 and shown["scr_dividend_yield_min"] == 3.0
    assert shown["scr_return_252d_max"] == 7.0


def test_market_cap_input_is_in_the_large_unit_of_the_currency():
    """USD in billions, KRW in 억 (10^8): 100,000 억 = 10 trillion won (10조); over markets of two
    currencies the market-cap inputs are left out of the spec."""
    krw = ff.spec_from_widgets({"scr_market_cap_min": 100_000.0, ff.KEY_MARKET: "KOSPI"}, currency="KRW")
    assert krw.market_cap == Range(min=1e13) and krw.markets == ("KOSPI",)
    assert ff.widget_values(krw, currency="KRW")["scr_market_cap_min"] == 100_000.0
    assert ff.widget_label(screens.registry()["market_cap"], "min", "KRW") == "Market cap (KRW 억) over"
    mixed = ff.spec_from_widgets({"scr_market_cap_min": 20.0, "scr_rsi_14_max": 30.0}, currency=None)
    assert mixed.market_cap == Range() and mixed.rsi_14 == Range(max=30.0) and mixed.markets == ()
    assert ff.widget_values(ScreenSpec(market_cap=Range(min=2e10)), currency=None)["scr_market_cap_min"] is None
    assert set(ff.money_widget_keys()) == {"scr_market_cap_min", "scr_market_cap_max"}
    with pytest.raises(ValueError, match="one market or all"):
        ff.widget_values(ScreenSpec(markets=("KOSPI", "KOSDAQ")))


def test_widget_values_drop_unknown_sectors():
    values = ff.widget_values(ScreenSpec(sectors=("Energy", "Nope")), available_sectors=["Energy"])
    assert values[ff.KEY_SECTORS] == ["Energy"]


def test_empty_widgets_mean_no_filter():
    assert ff.spec_from_widgets({}) == ScreenSpec()
    assert build_screen_query(ff.spec_from_widgets({k: None for k in ff.widget_keys()})).params == []


def test_table_comes_from_the_caller(mart):
    mart.execute("CREATE SCHEMA t_marts")
    mart.execute("CREATE TABLE t_marts.mart_screener_latest AS SELECT * FROM marts.mart_screener_latest WHERE ticker = 'AAA'")
    spec = ScreenSpec(rsi_14=Range(max=50))
    q = build_screen_query(spec, table="t_marts.mart_screener_latest")
    assert " FROM t_marts.mart_screener_latest WHERE " in q.sql
    assert [r[0] for r in mart.execute(q.sql, q.params).fetchall()] == ["AAA"]
    count = build_count_query(spec, table="t_marts.mart_screener_latest")
    assert mart.execute(count.sql, count.params).fetchone()[0] == 1


def test_postgres_dialect_only_changes_text_ordering():
    spec = ScreenSpec(sectors=("Energy",), sort_by="sector")
    duck = build_screen_query(spec)
    pg = build_screen_query(spec, dialect="postgres")
    assert pg.params == duck.params
    assert pg.sql == duck.sql.replace("ORDER BY sector DESC", 'ORDER BY sector COLLATE "C" DESC').replace(
        ", ticker ASC", ', ticker COLLATE "C" ASC'
    )
    numeric = ScreenSpec(sort_by="rsi_14")
    assert 'rsi_14 COLLATE' not in build_screen_query(numeric, dialect="postgres").sql
