"""The app beside the Korean market: money in each market's currency, KRX codes and Korean names
in the stock search, the XKRX session axis, the benchmark index, halts and the survivorship
note, market-aware screens, alerts and portfolios.

Unit tests format, search and chart the real bundled files (KRX prices, listing, index, the
recorded KRX portal day of 2021-01-04, the S&P 500 files). The page tests run the app (AppTest)
on :func:`tests.app_harness.korean_snapshot`: the session's built snapshot plus four KRX tickers
of the real files (until the Korean price build lands; then the same tests can read that build),
and compare with values read from the files or the snapshot directly, not through the app's code.
"""

from __future__ import annotations

import base64
import json
import shutil
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
import yaml

from dashboards.lib import charts, tables
from dashboards.lib import filter_form as ff
from dashboards.lib import formatting as fmt
from dashboards.lib import markets as market_notes
from dashboards.lib.stock_ticker import company_labels, krx_code, name_key, search
from domain import screens
from domain.calendar import sessions_between
from domain.settings import Settings
from domain.warehouse import readers
from tests.app_harness import frame, korean_snapshot, krx_index, krx_prices, krx_sessions, rerun, run_app
from tests.conftest import REPO_ROOT
from tests.data_files import sample_file, sample_fixture

SAMSUNG = "005930"
KRX_DAY = date(2021, 1, 4)  # the recorded KRX portal day (whole market, with market caps)


def _portal_day() -> dict[str, dict[str, str]]:
    """The recorded KRX portal answer of 2021-01-04 (every ticker's OHLCV and market cap), by code."""
    body = json.loads(sample_fixture("krx/krx_MDCSTAT01501_ALL_20210104.json").read_text())
    return {row["ISU_SRT_CD"]: row for row in body["OutBlock_1"]}


def _won(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def samsung() -> pd.DataFrame:
    return krx_prices([SAMSUNG])


@pytest.fixture(scope="module")
def companies() -> pd.DataFrame:
    """Every company of the bundled files as the app lists them: the KRX listing of 2022-05-16
    (codes as text) and the S&P 500 constituents."""
    krx = pd.read_csv(sample_file("krx/krx_listing_fdr_20220516.csv"), dtype={"Symbol": str}, usecols=[
        "Symbol", "Name", "Market"])  # fmt: skip
    us = pd.read_csv(sample_file("constituents_2018-04-02.csv"), usecols=["Symbol", "Name"]).assign(Market="US")
    listed = pd.concat([krx, us], ignore_index=True)
    return listed.rename(columns={"Symbol": "ticker", "Name": "company_name", "Market": "market"})


# ----------------------------------------------------------------------------- money


def test_prices_are_in_the_currency_of_their_market(samsung):
    close = samsung.loc[samsung["date"] == pd.Timestamp(KRX_DAY), "close"].item()
    assert fmt.money(close, fmt.market_currency("KOSPI")) == "₩83,000"
    sp500 = pd.read_csv(sample_file("sp500_all_stocks_5yr.csv.gz"))
    aapl = sp500.loc[(sp500["Name"] == "AAPL") & (sp500["date"] == "2018-02-07"), "close"].item()
    assert fmt.money(aapl, fmt.market_currency("US")) == "$159.54"
    assert fmt.money(-1234.5, "USD") == "-$1,234.50" and fmt.money(None, "KRW") == fmt.MISSING
    assert fmt.by_format(close, "dollar", "usd_per_share", currency="KRW") == "₩83,000"


def test_market_caps_in_won_read_in_jo_and_eok():
    """KRW market caps in 조 (10^12) and 억 (10^8) with one decimal, from the KRX portal's own
    figures of 2021-01-04; US dollars in billions, from the vendor snapshot."""
    day = _portal_day()
    assert _won(day[SAMSUNG]["MKTCAP"]) == 495_491_951_650_000
    assert fmt.money_compact(_won(day[SAMSUNG]["MKTCAP"]), "KRW") == "₩495.5조"
    assert fmt.money_compact(_won(day["091990"]["MKTCAP"]), "KRW") == "₩23조"  # 22.97조, Celltrion Healthcare
    small = _won(day["060310"]["MKTCAP"])  # 3S, KOSDAQ: 101,253,674,860 won
    assert fmt.money_compact(small, "KRW") == "₩1012.5억"
    vendor = pd.read_csv(sample_file("constituents-financials_2018-02-08.csv")).set_index("Symbol")
    assert fmt.money_compact(vendor.loc["AAPL", "Market Cap"], "USD") == "$809.51B"


def test_tables_format_money_per_currency():
    """One currency: its symbol and decimals in the cells, market cap compact in USD and in 억
    for KRW (header with the unit); several currencies: plain numbers beside a currency column."""
    assert fmt.table_money("USD") == fmt.TableMoney("dollar")
    assert fmt.table_money("KRW") == fmt.TableMoney("₩%,.0f")
    assert fmt.table_money("USD", large=True) == fmt.TableMoney("compact", "USD")
    assert fmt.table_money("KRW", large=True) == fmt.TableMoney("%,.0f", "KRW 억", 1e-8)
    assert fmt.table_money(None) == fmt.TableMoney("localized")
    registry = screens.registry()
    assert tables.header(registry["market_cap"], "KRW") == "Market cap (KRW 억)"
    assert (
        tables.header(registry["market_cap"], None) == "Market cap"
        and tables.header(registry["close"], "KRW") == "Close"
    )
    result = pd.DataFrame(
        {"ticker": [SAMSUNG], "market": ["KOSPI"], "market_cap": [_won(_portal_day()[SAMSUNG]["MKTCAP"])]}
    )
    shown = tables.display_values(tables.with_currency(result), registry, "KRW")
    assert shown["market_cap"].item() == pytest.approx(4_954_919.5165) and shown["currency"].item() == "KRW"
    assert result["market_cap"].item() == 495_491_951_650_000  # the CSV keeps warehouse units


# ----------------------------------------------------------------------------- search


def test_krx_codes_keep_their_leading_zeros(companies):
    assert companies.set_index("company_name").loc["삼성전자", "ticker"] == SAMSUNG  # text, not the number 5930
    assert [krx_code(t) for t in ("5930", "005930", "005930.KS", "091990.kq", " 5930 ")] == [
        SAMSUNG, SAMSUNG, SAMSUNG, "091990", SAMSUNG]  # fmt: skip
    assert [krx_code(t) for t in ("1234567", "A005930", "AAPL", "")] == [None] * 4
    assert company_labels(companies.head(2)) == {
        "060310": "060310 · 3S (KOSDAQ)",
        "095570": "095570 · AJ네트웍스 (KOSPI)",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [("삼성전자", [SAMSUNG]), ("5930", [SAMSUNG]), ("005930", [SAMSUNG]), ("005930.KS", [SAMSUNG]),
     ("삼성 전자", [SAMSUNG]), ("셀트리온헬스케어", ["091990"]), ("nvda", ["NVDA"]), ("brk-b", ["BRK.B"]),
     ("apple", ["AAPL", "DPS"]), ("Alphabet", ["GOOG", "GOOGL"]), ("zzzz-no-such", []), ("  ", [])],
)  # fmt: skip
def test_search_by_ticker_code_or_name(companies, query, expected):
    assert search(query, companies) == expected


def test_an_ambiguous_name_lists_every_company_names_starting_with_it_first(companies):
    found = search("삼성", companies)
    names = companies.set_index("ticker").loc[found, "company_name"]
    assert {SAMSUNG, "005935", "028260", "006400"} <= set(found)  # Electronics, its preferred, C&T, SDI
    assert all("삼성" in name_key(n) for n in names)
    starts = [name_key(n).startswith("삼성") for n in names]
    assert starts == sorted(starts, reverse=True)  # "삼성..." first, then names containing it
    assert len(found) == int(companies["company_name"].map(lambda n: "삼성" in name_key(n)).sum())


# ----------------------------------------------------------------------------- charts


def test_korean_charts_have_the_krx_session_axis(samsung):
    """A year of Samsung bars on the XKRX calendar: every weekday is a bar or a hidden KRX
    holiday, and the hidden ones are exactly the weekdays on which no KRX ticker traded."""
    year = samsung[(samsung["date"] >= "2021-01-01") & (samsung["date"] <= "2021-12-31") & ~samsung["is_halt"]]
    breaks = charts.session_rangebreaks(year["date"], "XKRX")
    assert breaks[0] == {"bounds": ["sat", "mon"]}
    traded = krx_sessions()
    first, last = year["date"].min().date(), year["date"].max().date()
    closed = [d for d in pd.date_range(first, last, freq="B").date if d not in traded]
    assert breaks[1]["values"] == [d.isoformat() for d in closed]
    assert {"2021-02-11", "2021-02-12", "2021-09-21", "2021-10-11"} <= set(breaks[1]["values"])  # Seollal, Chuseok
    assert set(sessions_between(first, last, "XKRX")) == {d for d in traded if first <= d <= last}
    bars = year.assign(trade_date=year["date"], volume=year["volume"])
    for column in ("sma_20", "sma_50", "sma_200", "bb_upper", "bb_middle", "bb_lower", "rsi_14", "macd",
                   "macd_signal", "macd_hist"):  # fmt: skip
        bars[column] = None
    fig = charts.stock_figure(bars, currency="KRW", exchange="XKRX")
    assert fig.layout.yaxis.tickprefix == "₩" and fig.layout.yaxis.title.text == "KRW"
    assert fig.layout.yaxis.hoverformat == ",.0f" and fig.layout.yaxis.tickformat == ",.0f"  # ₩70,000, not ₩70k
    assert [rb.to_plotly_json() for rb in fig.layout.xaxis.rangebreaks] == breaks


def test_relative_returns_against_the_kospi(samsung):
    """Samsung and the KOSPI from 2021-01-04 (83,000 won; 2,944.45 points) to the end of 2021."""
    bars = samsung[(samsung["date"] >= "2021-01-04") & (samsung["date"] <= "2021-12-30") & ~samsung["is_halt"]]
    history = bars.rename(columns={"date": "trade_date"})
    index = krx_index("2021-12-30")
    kospi = index[(index["index_code"] == "KS11") & (index["trade_date"] >= "2021-01-04")]
    assert kospi["close"].iloc[0] == pytest.approx(2944.45) and history["close"].iloc[0] == 83_000
    relative = charts.relative_returns(history, kospi)
    assert relative["trade_date"].iloc[0] == pd.Timestamp(KRX_DAY) and len(relative) == len(history)
    assert relative["stock"].iloc[-1] == pytest.approx(history["close"].iloc[-1] / 83_000 - 1)
    assert relative["index"].iloc[-1] == pytest.approx(kospi["close"].iloc[-1] / 2944.45 - 1)
    fig = charts.benchmark_figure(relative, SAMSUNG, "KOSPI", "XKRX")
    assert [t.name for t in fig.data] == [SAMSUNG, "KOSPI"] and fig.layout.yaxis.tickformat == "+.0%"
    assert charts.relative_returns(history, kospi.iloc[0:0]).empty


def test_markets_notes():
    assert market_notes.benchmark_index("KOSPI") == "KS11" and market_notes.benchmark_index("KOSDAQ") == "KQ11"
    assert market_notes.benchmark_index("US") is None  # the equal-weight universe is no index
    assert market_notes.survivorship_note(["US"], date(2018, 2, 7)) is None
    assert market_notes.survivorship_note(["KOSPI", "US", "KOSDAQ"], date(2022, 5, 16)) == (
        "The KOSPI and KOSDAQ universe is the KRX listing of 2022-05-16: companies delisted before then are "
        "absent, so past results look better than they were."
    )


# ----------------------------------------------------------------------------- the pages (Korean rows added)


@pytest.fixture(scope="module")
def korean(built_warehouse, tmp_path_factory):
    """Settings of the app on the built snapshot plus the Korean tickers, and that file."""
    path = korean_snapshot(built_warehouse.snapshot_path, tmp_path_factory.mktemp("korean") / "snapshot.duckdb")
    yield Settings.from_values(snapshot_path=path), path
    readers.close_all()


def _read(path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetch_df()


def _table(at):
    return next(d for d in at.dataframe if d.key == "scr_table")


def _formats(table) -> dict[str, str | None]:
    config = json.loads(table.proto.columns)
    return {name: c.get("type_config", {}).get("format") for name, c in config.items()}


def _figures(at) -> list:
    return [pio.from_json(el.proto.spec) for el in at.get("plotly_chart")]


def _numbers(values) -> list[float]:
    """A trace's numbers as floats, whether plain or a typed array (``bdata``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float).tolist()
    return [float(v) for v in values]


def _open_stock(settings, ticker: str):
    at = run_app(settings)
    at.query_params["ticker"] = ticker
    at.switch_page("views/stock.py")
    return rerun(at)


def test_screener_over_all_markets_labels_each_rows_currency(korean):
    settings, path = korean
    mart = _read(path, "SELECT ticker, market, market_cap FROM marts.mart_screener_latest")
    at = run_app(settings)
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert (
        "**KOSPI (Korea) market data as of 2022-05-16**" in sidebar and "**US market data as of 2018-02-07**" in sidebar
    )
    assert at.selectbox(key=ff.KEY_MARKET).options == ["US", "KOSPI (Korea)", "KOSDAQ (Korea)", "All markets"]
    table = _table(at)
    assert list(table.proto.column_order)[:4] == ["ticker", "company_name", "market", "currency"]
    shown = table.value
    assert (shown["currency"] == shown["market"].map({"US": "USD", "KOSPI": "KRW", "KOSDAQ": "KRW"})).all()
    assert len(shown) == len(mart) and list(shown["currency"]) == sorted(shown["currency"], key=["USD", "KRW"].index)
    assert _formats(table)["close"] == "localized" and _formats(table)["market_cap"] == "compact"
    assert any("within each currency (USD, then KRW)" in c.value for c in at.caption)
    assert at.number_input(key="scr_market_cap_min").disabled  # no exchange rate: one currency only
    assert any("KOSPI and KOSDAQ universe is the KRX listing of 2022-05-16" in c.value for c in at.caption)


def test_screener_filters_apply_within_the_chosen_market(korean):
    settings, path = korean
    mart = _read(path, "SELECT ticker, market, close, rsi_14 FROM marts.mart_screener_latest")
    at = run_app(settings)
    at.selectbox(key=ff.KEY_MARKET).set_value("KOSPI")
    at = rerun(at)
    kospi = mart[mart["market"] == "KOSPI"]
    table = _table(at)
    assert set(table.value["ticker"]) == set(kospi["ticker"]) and SAMSUNG in set(kospi["ticker"])
    assert f"**{len(kospi)}** of {len(kospi)} stocks match" in [m.value for m in at.markdown]
    assert "currency" not in table.proto.column_order  # one currency: the cells carry it
    assert _formats(table)["close"] == "₩%,.0f"
    assert json.loads(table.proto.columns)["market_cap"]["label"] == "Market cap (KRW 억)"
    assert at.number_input(key="scr_market_cap_min").label == "Market cap (KRW 억) over"
    at.number_input(key="scr_rsi_14_max").set_value(50.0)
    at = rerun(at)
    assert set(_table(at).value["ticker"]) == set(kospi.loc[kospi["rsi_14"] < 50, "ticker"])


def test_market_cap_filter_restarts_empty_in_another_currency(korean):
    settings, path = korean
    mart = _read(path, "SELECT ticker, market, market_cap FROM marts.mart_screener_latest")
    at = run_app(settings)
    at.selectbox(key=ff.KEY_MARKET).set_value("US")
    at = rerun(at)
    at.number_input(key="scr_market_cap_min").set_value(500.0)  # USD bn
    at = rerun(at)
    expected = mart.loc[(mart["market"] == "US") & (mart["market_cap"] > 500e9), "ticker"]
    assert set(_table(at).value["ticker"]) == set(expected) and 0 < len(expected) < 10
    at.selectbox(key=ff.KEY_MARKET).set_value("KOSDAQ")
    at = rerun(at)
    assert at.number_input(key="scr_market_cap_min").value is None  # 500 USD bn is no amount in won
    assert set(_table(at).value["ticker"]) == set(mart.loc[mart["market"] == "KOSDAQ", "ticker"])


def test_a_korean_preset_chooses_its_market(korean):
    settings, path = korean
    mart = _read(path, "SELECT ticker, market, rsi_14, stoch_k FROM marts.mart_screener_latest")
    at = run_app(settings)
    at.selectbox(key="scr_preset").set_value("KOSDAQ oversold")
    at = rerun(at)
    assert at.selectbox(key=ff.KEY_MARKET).value == "KOSDAQ"
    expected = mart[(mart["market"] == "KOSDAQ") & (mart["rsi_14"] < 30) & (mart["stoch_k"] < 20)]
    total, n = int((mart["market"] == "KOSDAQ").sum()), len(expected)
    count = f"**{n}** of {total} {fmt.noun(total, 'stock')} {fmt.noun(n, 'matches', 'match')}"
    assert count in [m.value for m in at.markdown]
    shown = _table(at).value["ticker"] if n else []  # no table when nothing matches
    assert set(shown) == set(expected["ticker"])
    at.selectbox(key=ff.KEY_MARKET).set_value("KOSPI")  # another market than the preset's
    at = rerun(at)
    assert at.selectbox(key="scr_preset").value == "Custom"


def test_stock_page_of_a_korean_ticker(korean, samsung):
    settings, _ = korean
    at = _open_stock(settings, "5930")
    assert at.selectbox(key="ticker").value == SAMSUNG and at.subheader[0].value == f"{SAMSUNG} · 삼성전자"
    assert at.markdown[0].value == ":gray-badge[KOSPI (Korea) · KRW]"
    last = samsung[~samsung["is_halt"]].iloc[-1]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Close ({last['date']:%Y-%m-%d})"] == f"₩{last['close']:,.0f}"
    assert metrics["52-week high"].startswith("₩")
    price = _figures(at)[0]
    assert price.layout.yaxis.tickprefix == "₩" and price.layout.yaxis.title.text == "KRW"
    candles = next(t for t in price.data if t.type == "candlestick")
    shown = pd.to_datetime(pd.Series(candles.x)).dt.date
    traded = krx_sessions()
    closed = {d for d in pd.date_range(shown.min(), shown.max(), freq="B").date if d not in traded}
    assert set(price.layout.xaxis.rangebreaks[1]["values"]) == {d.isoformat() for d in closed}
    assert any("KOSPI universe is the KRX listing of 2022-05-16" in c.value for c in at.caption)
    # the benchmark: KS11 over the sessions shown, from the index file
    assert "Against the KOSPI index" in [s.value for s in at.subheader]
    kospi = krx_index(last["date"]).query("index_code == 'KS11'").set_index("trade_date")["close"]
    first = pd.Timestamp(shown.min())
    assert metrics["KOSPI return"] == fmt.pct(kospi[pd.Timestamp(last["date"])] / kospi[first] - 1, signed=True)
    # a range ending on the recorded day: its last candle is Samsung's close of 2021-01-04
    at.date_input(key="stock_dates").set_value((date(2020, 12, 1), KRX_DAY))
    at = rerun(at)
    candles = next(t for t in _figures(at)[0].data if t.type == "candlestick")
    assert _numbers(candles.close)[-1] == 83_000 and pd.Timestamp(candles.x[-1]).date() == KRX_DAY


def _companies(path) -> pd.DataFrame:
    return _read(path, "SELECT ticker, company_name, market, is_halted FROM marts.mart_screener_latest ORDER BY ticker")


def test_stock_page_finds_a_korean_name_and_lists_ambiguous_ones(korean):
    settings, path = korean
    names = _companies(path)
    keys = names["company_name"].map(name_key)
    # names starting with the query first, then names containing it; by ticker within each
    samsungs = pd.concat(
        [names[keys.str.startswith("삼성")], names[keys.str.contains("삼성") & ~keys.str.startswith("삼성")]]
    )
    assert SAMSUNG in set(samsungs["ticker"]) and len(samsungs) >= 2
    at = _open_stock(settings, "삼성전자")
    assert at.selectbox(key="ticker").value == SAMSUNG and not at.error
    at = _open_stock(settings, "삼성")
    choices = at.selectbox(key="stock_choice")
    assert choices.label == f"{len(samsungs)} companies match 삼성: choose one"
    assert choices.options == [f"{r.ticker} · {r.company_name} ({r.market})" for r in samsungs.itertuples()]
    assert at.selectbox(key="ticker").value is None
    other = samsungs["ticker"].iloc[1]
    choices.set_value(other)
    at = rerun(at)
    assert at.selectbox(key="ticker").value == other and at.subheader[0].value.startswith(f"{other} · 삼성")
    kosdaq = names[names["market"] == "KOSDAQ"].iloc[0]  # its exact name opens it
    at.text_input(key="stock_search").input(kosdaq["company_name"])
    at = rerun(at)
    assert at.selectbox(key="ticker").value == kosdaq["ticker"]
    at.text_input(key="stock_search").input("no such company")
    at = rerun(at)
    assert [w.value for w in at.warning] == ["No ticker, KRX code or company name matches no such company."]
    assert at.selectbox(key="ticker").value == kosdaq["ticker"]  # nothing else is opened


def test_a_halted_ticker_shows_its_halt(korean):
    """A ticker halted on its market's last sessions (e.g. SsangYong Motor, 003620: last traded on
    2020-12-21, halt rows from the next session to the end of the file) shows when it stopped,
    from the file's halt rows (open = high = low = 0, volume 0)."""
    settings, path = korean
    names = _companies(path)
    halted = names.loc[names["is_halted"].fillna(False).astype(bool), "ticker"].iloc[0]
    rows = krx_prices([halted])
    traded = rows.loc[~rows["is_halt"], "date"].max()
    since = rows.loc[rows["date"] > traded, "date"].min()
    assert rows.loc[rows["date"] > traded, "is_halt"].all()
    at = _open_stock(settings, halted)
    badges = at.markdown[0].value
    assert f":red-badge[:material/block: Halted since {since:%Y-%m-%d}]" in badges
    assert any(c.value.startswith(f"Trading is halted since {since:%Y-%m-%d}") and f"{traded:%Y-%m-%d}" in c.value
               for c in at.caption)  # fmt: skip
    aapl = _open_stock(settings, "AAPL")
    assert "Halted" not in aapl.markdown[0].value and not any("KRX listing" in c.value for c in aapl.caption)


def test_stock_page_without_index_prices_says_so(built_warehouse, tmp_path):
    path = korean_snapshot(built_warehouse.snapshot_path, tmp_path / "no_index.duckdb", with_index=False)
    try:
        at = _open_stock(Settings.from_values(snapshot_path=path), SAMSUNG)
        assert "Benchmark KS11: this warehouse has no index prices yet (marts.fct_index_daily)." in [
            c.value for c in at.caption]  # fmt: skip
        assert _figures(at) and not at.error
    finally:
        readers.close_all()


def test_alerts_on_korean_tickers_in_won(korean, tmp_path):
    settings, path = korean
    rules = tmp_path / "rules.yml"
    shutil.copyfile(REPO_ROOT / "data" / "alerts" / "rules.example.yml", rules)
    at = run_app(settings.with_values(alert_rules_file=rules))
    at.switch_page("views/alerts.py")
    at = rerun(at)
    at.selectbox(key="alerts_new_type").set_value("price_above")
    at = rerun(at)
    tickers = at.multiselect(key="alerts_new_tickers")
    kosdaq = _companies(path).query("market == 'KOSDAQ'").iloc[0]
    labels = {
        "005930 · 삼성전자 (KOSPI)",
        f"{kosdaq['ticker']} · {kosdaq['company_name']} (KOSDAQ)",
        "AAPL · Apple Inc. (US)",
    }
    assert labels <= set(tickers.options)
    assert at.number_input(key="alerts_new_level").label == "Level (close, in the ticker's currency: USD, KRW)"
    at.text_input(key="alerts_new_id").set_value("samsung-above-90000")
    tickers.set_value([SAMSUNG])
    at.number_input(key="alerts_new_level").set_value(90_000.0)
    next(b for b in at.button if b.label == "Create rule").click()
    at = rerun(at)
    saved = {r["id"]: r for r in yaml.safe_load(rules.read_text())["rules"]}["samsung-above-90000"]
    assert saved["tickers"] == [SAMSUNG] and saved["level"] == 90_000.0  # the code stays text
    conditions = frame(at, "id", "status", "condition").set_index("id")["condition"]
    assert conditions["samsung-above-90000"] == "close above ₩90,000"
    assert conditions["aapl-above-170"] == "close above $170.00"
    events = frame(at, "rule_id", "deliveries")
    assert set(events.loc[events["rule_type"] == "price_above", "currency"]) == {"USD"}
    assert events.loc[events["rule_type"] == "rsi_above", "currency"].isna().all()


def test_portfolio_shows_its_currency_and_refuses_to_add_two(korean, tmp_path):
    settings, path = korean
    at = run_app(settings)
    at.switch_page("views/portfolio.py")
    at = rerun(at)
    risk = _read(path, "SELECT * FROM portfolios.mart_portfolio_risk ORDER BY portfolio LIMIT 1").iloc[0]
    expected_currency = risk.get("currency", "USD")  # until the portfolio marts have the column: USD
    assert f":gray-badge[:material/payments: Amounts in {expected_currency}]" in [m.value for m in at.markdown]
    market_value = next(m.value for m in at.metric if m.label.startswith("Market value"))
    assert market_value == fmt.money(risk["market_value"], expected_currency)
    mixed = tmp_path / "mixed.duckdb"
    mixed.write_bytes(path.read_bytes())
    with duckdb.connect(str(mixed)) as con:  # a position in won beside positions in dollars
        con.execute("ALTER TABLE portfolios.fct_portfolio_positions_daily ADD COLUMN IF NOT EXISTS currency VARCHAR")
        con.execute("UPDATE portfolios.fct_portfolio_positions_daily SET currency = "
                    "CASE WHEN ticker = (SELECT min(ticker) FROM portfolios.fct_portfolio_positions_daily) "
                    "THEN 'KRW' ELSE 'USD' END")  # fmt: skip
    try:
        at = run_app(Settings.from_values(snapshot_path=mixed))
        at.switch_page("views/portfolio.py")
        at = rerun(at)
        assert any("holds positions in KRW, USD" in e.value for e in at.error) and not at.metric
    finally:
        readers.close_all()


def test_upload_form_checks_a_won_portfolio_on_the_krx_calendar(korean, portfolios_dir, samsung):
    """A won portfolio of Samsung Electronics bought at its close of 2021-01-04 (83,000, within
    that day's 80,200..84,400) is saved; the same buy on 2021-02-11 (Seollal, no KRX session)
    or beside a dollar ticker is refused, naming the field, and nothing is written."""
    settings, _ = korean
    day = samsung[samsung["date"] == pd.Timestamp(KRX_DAY)].iloc[0]
    assert (day["low"], day["close"], day["high"]) == (80_200, 83_000, 84_400)
    header = "portfolio,trade_date,ticker,side,quantity,price,fees,currency\n"
    good = header + "won_core,2021-01-04,005930,buy,10,83000,1000,KRW\n"
    holiday = header + "won_core,2021-02-11,005930,buy,10,83000,1000,KRW\n"
    mixed = good + "won_core,2018-02-07,AAPL,buy,1,159.54,0,USD\n"
    at = run_app(settings.with_values(portfolios_dir=portfolios_dir))
    at.switch_page("views/portfolio.py")
    at = rerun(at)
    for name, text, field in (("holiday.csv", holiday, "trade_date"), ("mixed.csv", mixed, "ticker")):
        at.file_uploader(key="portfolio_upload").upload(name, text.encode(), "text/csv")
        at = rerun(at)
        at.button(key="portfolio_upload_save").click()
        at = rerun(at)
        assert any(e.value.startswith(f"{name} was not saved: 1 error") for e in at.error), [e.value for e in at.error]
        errors = next(d.value for d in at.dataframe if {"line", "field", "error"} <= set(d.value.columns))
        assert errors["field"].tolist() == [field]
        assert not (portfolios_dir / name).exists()
    at.file_uploader(key="portfolio_upload").upload("won_core.csv", good.encode(), "text/csv")
    at = rerun(at)
    at.button(key="portfolio_upload_save").click()
    at = rerun(at)
    assert any(s.value.startswith("Saved won_core.csv") for s in at.success)
    assert (portfolios_dir / "won_core.csv").read_text() == good
