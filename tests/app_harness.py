"""App test harness shared by the dashboard tests: one built warehouse per backend (DuckDB
snapshot, PostgreSQL), an independent reader of it (not the app's code), and AppTest helpers
that hand the app a :class:`~domain.settings.Settings` value (``st.session_state``, see
:mod:`dashboards.lib.context`); and :func:`korean_snapshot`, the built snapshot with four KRX
tickers of the real bundled files added, for the Korean pages until the Korean build lands.

Fixtures ``source`` (parametrised over both backends) and ``app_on`` (the source, with the app's
cached readers closed after the test) are in ``conftest.py``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
from psycopg.types.numeric import FloatLoader
from streamlit.testing.v1 import AppTest

from dashboards.lib.context import SETTINGS_KEY
from domain.settings import Settings

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"


class Source:
    """One built warehouse, the settings that point the app at it, and an independent reader
    (not the app's code)."""

    def __init__(self, backend: str, settings: Settings, prefix: str = "", snapshot: Path | None = None,
                 conninfo: str | None = None):  # fmt: skip
        self.backend, self.settings, self.prefix, self.snapshot, self.conninfo = (
            backend, settings, prefix, snapshot, conninfo,
        )  # fmt: skip

    def t(self, layer: str, name: str) -> str:
        return f"{self.prefix}{layer}.{name}"

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        if self.backend == "duckdb":
            # the snapshot holds only what readers get (marts, portfolios, alerts, meta): an oracle
            # query of the raw, staging or intermediate layers reads the writer's file beside it
            unpublished = re.search(r"\b(raw|staging|intermediate)\.", sql)
            path = _writer_file(self.snapshot) if unpublished else self.snapshot
            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute(sql, params).fetch_df()
        with psycopg.connect(self.conninfo) as con:
            con.adapters.register_loader("numeric", FloatLoader)
            cur = con.execute(sql.replace("?", "%s"), params)
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])

    def with_settings(self, **values) -> Source:
        """The same source with some settings replaced (e.g. ``alert_rules_file``)."""
        return Source(self.backend, self.settings.with_values(**values), self.prefix, self.snapshot, self.conninfo)


def _writer_file(snapshot: Path) -> Path:
    """The writer's file a test build published ``snapshot`` from (``x.snapshot.duckdb`` -> ``x.duckdb``)."""
    return snapshot.with_name(snapshot.name.replace(".snapshot", ""))


def duckdb_source(snapshot: Path, **values) -> Source:
    """The app reading the DuckDB snapshot at ``snapshot``."""
    return Source("duckdb", Settings.from_values(snapshot_path=snapshot, **values), snapshot=snapshot)


def postgres_source(pg, **values) -> Source:
    """The app reading the PostgreSQL build ``pg`` (:class:`tests.conftest.BuiltPostgresWarehouse`)."""
    settings = Settings.from_values(warehouse_url=pg.url, schema_prefix=pg.schema_prefix, **values)
    return Source("postgres", settings, prefix=pg.schema_prefix, conninfo=pg.conninfo)


def make_source(request) -> Source:
    """The ``Source`` of the backend ``request.param`` (``duckdb`` or ``postgres``)."""
    if request.param == "duckdb":
        return duckdb_source(request.getfixturevalue("built_warehouse").snapshot_path)
    return postgres_source(request.getfixturevalue("built_postgres_warehouse"))


def run_app(settings: Settings, **query_params: str) -> AppTest:
    """Run the app once with ``settings`` (and URL query parameters); fails on any exception."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[SETTINGS_KEY] = settings
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_stock_page(settings: Settings, ticker: str) -> AppTest:
    at = run_app(settings)
    at.query_params["ticker"] = ticker
    at.switch_page("views/stock.py")
    return rerun(at)


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The value of the one ``st.dataframe`` that has all of ``columns`` (AppTest does not keep
    the key of a dataframe without selection)."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, f"{len(found)} dataframes with columns {columns}"
    return found[0]


# ----------------------------------------------------------------------------- a warehouse with Korean rows

#: The KRX tickers :func:`korean_snapshot` adds: Samsung Electronics and its preferred shares
#: (KOSPI), Celltrion Healthcare (KOSDAQ) and SsangYong Motor (KOSPI, halted since December 2020).
KRX_TICKERS = ("005930", "005935", "091990", "003620")
#: Benchmark index of each Korean market (the markets seed) and the name ``fct_index_daily`` gives it.
KRX_INDEXES = {"KS11": ("KOSPI", "KOSPI"), "KQ11": ("KOSDAQ", "KOSDAQ")}


def _krx_daily():
    """The bundled KRX daily file as a polars frame (codes as text: leading zeros kept)."""
    import polars as pl

    from tests.data_files import sample_file

    return pl.read_csv(sample_file("krx/krx_daily_ohlcv_20180102_20220516.csv.gz"),
                       schema_overrides={"code": pl.Utf8, "date": pl.Date})  # fmt: skip


def krx_prices(tickers=KRX_TICKERS) -> pd.DataFrame:
    """The bundled KRX daily file's rows of ``tickers`` (``date, open, high, low, close, volume,
    code, name, market``; codes as text, leading zeros kept), with ``is_halt`` (a halt row: open =
    high = low = 0 and volume 0, see data/README)."""
    import polars as pl

    frame = _krx_daily().filter(pl.col("code").is_in(list(tickers))).sort("code", "date").to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["is_halt"] = (frame[["open", "high", "low", "volume"]] == 0).all(axis=1)
    return frame


def krx_sessions() -> set:
    """Every date of the bundled KRX daily file (any ticker): the sessions the exchange held."""
    return set(_krx_daily()["date"].unique().to_list())


def krx_index(last) -> pd.DataFrame:
    """KS11 and KQ11 closes of the bundled index file up to ``last``, as ``marts.fct_index_daily``
    has them (``index_code, index_name, market, trade_date, close, daily_return``)."""
    from tests.data_files import sample_file

    raw = pd.read_csv(sample_file("krx/krx_index_daily_KS11_KQ11_KS200.csv.gz"), usecols=["index_code", "Date", "Close"],
                      parse_dates=["Date"])  # fmt: skip
    raw = raw[raw["index_code"].isin(KRX_INDEXES) & (raw["Date"] >= "2018-01-01") & (raw["Date"] <= pd.Timestamp(last))]
    frame = raw.rename(columns={"Date": "trade_date", "Close": "close"}).sort_values(["index_code", "trade_date"])
    frame["index_name"] = frame["index_code"].map(lambda code: KRX_INDEXES[code][0])
    frame["market"] = frame["index_code"].map(lambda code: KRX_INDEXES[code][1])
    frame["daily_return"] = frame.groupby("index_code")["close"].pct_change()
    return frame[["index_code", "index_name", "market", "trade_date", "close", "daily_return"]]


def _bars(prices: pd.DataFrame) -> pd.DataFrame:
    """``fct_daily_indicators`` rows of one ticker's traded bars (halts are no bars): the file's
    prices (split-adjusted already, so adjusted = as loaded), returns, and the indicators computed
    with TA-Lib (the oracle the dbt indicators are tested against)."""
    import talib

    bars = prices.loc[~prices["is_halt"]].reset_index(drop=True)
    close, high, low = (bars[c].astype("float64").to_numpy() for c in ("close", "high", "low"))
    out = pd.DataFrame({"ticker": bars["code"], "trade_date": bars["date"], "bar_number": range(len(bars))})
    for name in ("open", "high", "low", "close"):
        out[name] = out[f"adjusted_{name}"] = bars[name].astype("float64")
    out["volume"] = bars["volume"].astype("int64")
    out["adjusted_volume"] = bars["volume"].astype("float64")
    out["split_factor"] = out["dividend_factor"] = 1.0
    for days in (1, 5, 21, 63, 126, 252):
        out[f"return_{days}d"] = out["close"] / out["close"].shift(days) - 1
    for days in (20, 50, 200):
        out[f"sma_{days}"] = talib.SMA(close, days)
    out["ema_12"], out["ema_26"] = talib.EMA(close, 12), talib.EMA(close, 26)
    out["macd"], out["macd_signal"], out["macd_hist"] = talib.MACD(close, 12, 26, 9)
    out["rsi_14"] = talib.RSI(close, 14)
    out["stoch_k"], out["stoch_d"] = talib.STOCH(high, low, close, 14, 3, 0, 3, 0)
    out["bb_upper"], out["bb_middle"], out["bb_lower"] = talib.BBANDS(close, 20, 2, 2, 0)
    out["atr_14"] = talib.ATR(high, low, close, 14)
    out["high_52w"] = out["adjusted_high"].rolling(252).max()
    out["low_52w"] = out["adjusted_low"].rolling(252).min()
    out["avg_volume_20"] = out["adjusted_volume"].rolling(20).mean()
    out["relative_volume"] = out["adjusted_volume"] / out["avg_volume_20"]
    above = out["sma_50"] > out["sma_200"]
    out["sma_50_crossed_above_sma_200"] = above & ~above.shift(1, fill_value=False)
    out["market"] = bars["market"]
    return out


def _latest(bars: pd.DataFrame, prices: pd.DataFrame, name: str, sector: str) -> dict:
    """The ``mart_screener_latest`` row of one ticker: its last traded bar, halted when the file's
    rows after it are halts (``halted_since``: the first of them)."""
    row = bars.iloc[-1].to_dict()
    after = prices[prices["date"] > row["trade_date"]]
    halted = bool(len(after)) and bool(after["is_halt"].all())
    prior_high = bars["adjusted_high"].iloc[-252:-1].max() if len(bars) >= 252 else None
    row |= {
        "company_name": name, "sector": sector, "currency": "KRW", "is_halted": halted,
        "halted_since": after["date"].min() if halted else None,
        "golden_cross_20d": bool(bars["sma_50_crossed_above_sma_200"].iloc[-20:].any()),
        "above_sma_50": row["adjusted_close"] > row["sma_50"], "above_sma_200": row["adjusted_close"] > row["sma_200"],
        "pct_from_high_52w": row["adjusted_close"] / row["high_52w"] - 1 if row["high_52w"] else None,
        "new_high_52w": None if prior_high is None else bool(row["adjusted_high"] > prior_high),
        "rsi_overbought": row["rsi_14"] > 70, "rsi_oversold": row["rsi_14"] < 30, "news_count_7d": 0,
    }  # fmt: skip
    return row


def _insert(con, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame``'s columns that ``table`` has (the others stay NULL)."""
    columns = [c for c in con.execute(f"SELECT * FROM {table} LIMIT 0").fetch_df().columns if c in frame.columns]
    con.register("new_rows", frame[columns])
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM new_rows")
    con.unregister("new_rows")


def korean_snapshot(base: Path, target: Path, with_index: bool = True) -> Path:
    """A copy of the built snapshot ``base`` at ``target`` with the Korean tickers
    :data:`KRX_TICKERS` added from the real bundled files (prices to 2022-05-16; names as listed
    on 2022-05-16; sector the 2026 listing's industry, or ``Unknown``; no market cap: the KRX
    files have none) to ``marts.dim_companies``, ``fct_daily_indicators`` and
    ``mart_screener_latest`` (with ``currency``, ``is_halted`` and ``halted_since`` added when the
    build predates them), and, when ``with_index``, ``marts.fct_index_daily`` with the KOSPI and
    KOSDAQ indexes. Until the Korean price build lands, the app's Korean pages are tested on this;
    a ``base`` built with the Korean prices is copied as it is (without ``fct_index_daily`` unless
    ``with_index``), so the same tests read the real build.
    """
    from tests.data_files import sample_file

    shutil.copyfile(base, target)
    with duckdb.connect(str(target)) as con:
        korean_rows = con.execute(
            "SELECT count(*) FROM marts.mart_screener_latest WHERE market IN ('KOSPI', 'KOSDAQ')"
        ).fetchone()[0]
        if korean_rows:
            if not with_index:
                con.execute("DROP TABLE IF EXISTS marts.fct_index_daily")
            return target
    prices = krx_prices()
    industry = pd.read_csv(sample_file("krx/krx_listing_desc_sector_20260322.csv.gz"), usecols=["Code", "Industry"],
                           dtype={"Code": str}).set_index("Code")["Industry"].dropna()  # fmt: skip
    bars, latest, companies = [], [], []
    for code, rows in prices.groupby("code"):
        ticker_bars = _bars(rows)
        name, sector = rows["name"].iloc[-1], industry.get(code, "Unknown")
        bars.append(ticker_bars)
        latest.append(_latest(ticker_bars, rows, name, sector))
        companies.append({"ticker": code, "company_name": name, "sector": sector,
                          "company_attributes_source": "krx_listing", "in_constituents_list": False,
                          "first_trade_date": ticker_bars["trade_date"].min(),
                          "last_trade_date": ticker_bars["trade_date"].max(), "trading_days": len(ticker_bars),
                          "market": rows["market"].iloc[-1]})  # fmt: skip
    with duckdb.connect(str(target)) as con:
        for column, kind in (("currency", "VARCHAR"), ("is_halted", "BOOLEAN"), ("halted_since", "DATE")):
            con.execute(f"ALTER TABLE marts.mart_screener_latest ADD COLUMN IF NOT EXISTS {column} {kind}")
        con.execute("UPDATE marts.mart_screener_latest SET currency = coalesce(currency, 'USD'), "
                    "is_halted = coalesce(is_halted, false)")  # fmt: skip
        _insert(con, "marts.dim_companies", pd.DataFrame(companies))
        _insert(con, "marts.fct_daily_indicators", pd.concat(bars, ignore_index=True))
        _insert(con, "marts.mart_screener_latest", pd.DataFrame(latest))
        if with_index:
            con.execute("CREATE TABLE marts.fct_index_daily (index_code VARCHAR, index_name VARCHAR, market VARCHAR, "
                        "trade_date DATE, close DOUBLE, daily_return DOUBLE)")  # fmt: skip
            _insert(con, "marts.fct_index_daily", krx_index(prices["date"].max()))
    return target
