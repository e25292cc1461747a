"""The portfolio marts equal an independent computation from the bundled files.

The oracle below reads ``data/sample/sp500_all_stocks_5yr.csv.gz`` and the USD transaction file
``data/portfolios/example_us_core.csv`` directly (no warehouse table, no SQL) and walks every
session with plain loops: the average-cost ledger, positions valued at the last close on or
before the session, V / B / S / D, the time-weighted daily returns, wealth index and drawdown.
Every USD row of ``int_portfolio_ledger``, ``fct_portfolio_positions_daily``,
``fct_portfolio_daily`` and ``mart_portfolio_sector_allocation`` is compared with it (relative
tolerance 1e-9). The equal weighted USD benchmark is recomputed with polars over the bundled
file, the risk metrics with numpy on the oracle's returns, and the first figures of the example
portfolio are also written out by hand. The KRW example ``example_kr_core.csv`` goes through the
same oracle on the bundled KRX file's closes and KOSPI (KS11) from the bundled index file, with
its first and last figures by hand. A second dbt run on a copy of the warehouse, with a
synthetic ``round_trip`` portfolio added (two buys of one ticker, a closing sale, sessions with
nothing invested, a quarantined price bar), checks those cases against the same oracle, a ticker
benchmark (PORTFOLIO_BENCHMARK=MSFT, which applies to the USD portfolios only) with a risk-free
rate, and the error for an unknown benchmark. The PostgreSQL build gives the same rows as DuckDB.

The module is longer than ~300 lines because the oracle lives beside the tests that use it:
it is test code only and has no other reader.
"""

from __future__ import annotations

import bisect
import csv
import math
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import REPO_ROOT, resources_for, test_settings
from tests.data_files import KRX_PRICES, sample_file

PRICES_CSV = sample_file("sp500_all_stocks_5yr.csv.gz")
CONSTITUENTS_CSV = sample_file("constituents_2018-04-02.csv")
KRX_PRICES_CSV = sample_file(KRX_PRICES)
KRX_INDEX_CSV = sample_file("krx/krx_index_daily_KS11_KQ11_KS200.csv.gz")
PORTFOLIOS_DIR = REPO_ROOT / "data" / "portfolios"
EXAMPLE = "example_us_core"
KR_EXAMPLE = "example_kr_core"
#: The USD transaction files the US oracle models (the KRW example has an oracle of its own below).
US_FILES = [PORTFOLIOS_DIR / f"{EXAMPLE}.csv"]
KR_FILE = PORTFOLIOS_DIR / f"{KR_EXAMPLE}.csv"
REL = 1e-9
ABS = 1e-11  # for values near 0: daily returns ~1e-3, rounding of USD sums ~1e4 is ~1e-12
DAYS_PER_YEAR = 252
CLOSED_QUANTITY = 1e-9


# --------------------------------------------------------------------------- oracle


def _quarantined(row: dict) -> bool:
    """The bundled file's rows that are no price bar: a missing price, or open/close outside
    low..high (the price ingest rejects them; a KRX halt row, open = high = low = 0 below its
    close, is loaded but is no bar either)."""
    prices = [row[k] for k in ("open", "high", "low", "close")]
    if any(value is None for value in prices):
        return True
    open_, high, low, close = prices
    return not (low <= open_ <= high and low <= close <= high)


@pytest.fixture(scope="module")
def prices() -> pl.DataFrame:
    """The bundled closes (ticker, trade_date, close) without the 23 quarantined rows."""
    frame = pl.read_csv(PRICES_CSV, try_parse_dates=True).rename({"Name": "ticker", "date": "trade_date"})
    keep = [not _quarantined(row) for row in frame.iter_rows(named=True)]
    clean = frame.filter(pl.Series(keep))
    assert frame.height - clean.height == 23
    return clean.select("ticker", "trade_date", "close").sort("ticker", "trade_date")


@dataclass(frozen=True)
class Transaction:
    portfolio: str
    source_file: str
    source_line: int
    trade_date: date
    ticker: str
    side: str
    quantity: float
    price: float
    fees: float


def _transactions(files: list[Path]) -> dict[str, list[Transaction]]:
    """Every row of the CSV files by portfolio, in (trade_date, file, line) order."""
    by_portfolio = defaultdict(list)
    for path in files:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                by_portfolio[row["portfolio"]].append(
                    Transaction(
                        portfolio=row["portfolio"],
                        source_file=path.name,
                        source_line=reader.line_num,
                        trade_date=date.fromisoformat(row["trade_date"]),
                        ticker=row["ticker"],
                        side=row["side"],
                        quantity=float(row["quantity"]),
                        price=float(row["price"]),
                        fees=float(row["fees"] or 0),
                    )
                )
    return {
        name: sorted(rows, key=lambda t: (t.trade_date, t.source_file, t.source_line))
        for name, rows in by_portfolio.items()
    }


@dataclass
class Position:
    quantity: float = 0.0
    cost_basis: float = 0.0
    realised_pnl: float = 0.0
    dividend_income: float = 0.0


@dataclass
class Oracle:
    ledger: list[dict] = field(default_factory=list)
    positions: list[dict] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)


def _apply(position: Position, tx: Transaction) -> dict:
    """Average-cost bookkeeping of one transaction; returns its ledger row."""
    before_quantity, before_cost = position.quantity, position.cost_basis
    realised = dividend = 0.0
    if tx.side == "buy":
        position.quantity += tx.quantity
        position.cost_basis += tx.quantity * tx.price + tx.fees
    elif tx.side == "sell":
        average_cost = position.cost_basis / position.quantity
        realised = tx.quantity * (tx.price - average_cost) - tx.fees
        position.realised_pnl += realised
        position.quantity -= tx.quantity
        position.cost_basis -= tx.quantity * average_cost
        if position.quantity < CLOSED_QUANTITY:
            position.quantity, position.cost_basis = 0.0, 0.0
    else:
        dividend = tx.quantity * tx.price - tx.fees
        position.dividend_income += dividend
    return {
        "portfolio": tx.portfolio,
        "ticker": tx.ticker,
        "trade_date": tx.trade_date,
        "side": tx.side,
        "quantity_before": before_quantity,
        "cost_basis_before": before_cost,
        "quantity_after": position.quantity,
        "cost_basis_after": position.cost_basis,
        "average_cost_after": position.cost_basis / position.quantity if position.quantity else None,
        "realised_pnl": realised,
        "dividend_income": dividend,
        "cumulative_realised_pnl": position.realised_pnl,
        "cumulative_dividend_income": position.dividend_income,
    }


def simulate(
    transactions: list[Transaction],
    calendar: list[date],
    closes: dict[str, tuple[list[date], list[float]]],
    benchmark: dict[date, float],
    sectors: dict[str, str],
) -> Oracle:
    """One portfolio, session by session, from its first transaction to the last session."""
    out = Oracle()
    todays = defaultdict(list)
    for tx in transactions:
        todays[tx.trade_date].append(tx)
    book: dict[str, Position] = {}
    previous_value, wealth, peak, benchmark_wealth, benchmark_peak = 0.0, 1.0, 1.0, 1.0, 1.0
    for session in (d for d in calendar if d >= transactions[0].trade_date):
        flows = {"buy": 0.0, "sell": 0.0, "dividend": 0.0}
        fees = 0.0
        for tx in todays.get(session, []):
            out.ledger.append(_apply(book.setdefault(tx.ticker, Position()), tx))
            flows[tx.side] += tx.quantity * tx.price + (tx.fees if tx.side == "buy" else -tx.fees)
            fees += tx.fees
        rows = []
        for ticker, position in book.items():
            dates, values = closes[ticker]
            at = bisect.bisect_right(dates, session) - 1  # last close on or before the session
            rows.append(
                {
                    "portfolio": transactions[0].portfolio,
                    "ticker": ticker,
                    "trade_date": session,
                    "sector": sectors[ticker],
                    "quantity": position.quantity,
                    "cost_basis": position.cost_basis,
                    "average_cost": position.cost_basis / position.quantity if position.quantity else None,
                    "close_price": values[at],
                    "price_date": dates[at],
                    "market_value": position.quantity * values[at],
                    "unrealised_pnl": position.quantity * values[at] - position.cost_basis,
                    "realised_pnl": position.realised_pnl,
                    "dividend_income": position.dividend_income,
                    "total_pnl": position.quantity * values[at] - position.cost_basis
                    + position.realised_pnl
                    + position.dividend_income,
                }
            )
        value = sum(row["market_value"] for row in rows)
        for row in rows:
            row["weight"] = row["market_value"] / value if value else None
        out.positions.extend(rows)

        invested = previous_value + flows["buy"]
        daily_return = (value + flows["sell"] + flows["dividend"]) / invested - 1 if invested else None
        benchmark_return = benchmark.get(session) if daily_return is not None else None
        wealth *= 1 + (daily_return or 0)
        peak = max(peak, wealth)
        benchmark_wealth *= 1 + (benchmark_return or 0)
        benchmark_peak = max(benchmark_peak, benchmark_wealth)
        out.days.append(
            {
                "portfolio": transactions[0].portfolio,
                "trade_date": session,
                "market_value": value,
                "buy_amount": flows["buy"],
                "sell_amount": flows["sell"],
                "dividend_amount": flows["dividend"],
                "fees": fees,
                "net_cash_flow": flows["buy"] - flows["sell"] - flows["dividend"],
                "cost_basis": sum(row["cost_basis"] for row in rows),
                "unrealised_pnl": sum(row["unrealised_pnl"] for row in rows),
                "realised_pnl": sum(row["realised_pnl"] for row in rows),
                "dividend_income": sum(row["dividend_income"] for row in rows),
                "total_pnl": sum(row["total_pnl"] for row in rows),
                "holding_count": sum(1 for row in rows if row["quantity"] > 0),
                "daily_return": daily_return,
                "cumulative_return": wealth - 1,
                "wealth_index": wealth,
                "drawdown": wealth / peak - 1,
                "benchmark_daily_return": benchmark_return,
                "benchmark_cumulative_return": benchmark_wealth - 1,
                "benchmark_drawdown": benchmark_wealth / benchmark_peak - 1,
            }
        )
        previous_value = value
    return out


def equal_weight_returns(prices: pl.DataFrame) -> pl.DataFrame:
    """EQUAL_WEIGHT with polars: per session, the mean close / previous-session close - 1 over the
    tickers that have both (trade_date, daily_return, constituent_count)."""
    sessions = prices.select("trade_date").unique().sort("trade_date").with_row_index("session")
    bars = prices.join(sessions, on="trade_date").sort("ticker", "trade_date")
    bars = bars.with_columns(
        previous_close=pl.col("close").shift(1).over("ticker"),
        previous_session=pl.col("session").shift(1).over("ticker"),
    )
    paired = bars.filter(pl.col("previous_session") == pl.col("session") - 1)
    return (
        paired.group_by("trade_date")
        .agg(daily_return=(pl.col("close") / pl.col("previous_close") - 1).mean(), constituent_count=pl.len())
        .sort("trade_date")
    )


@pytest.fixture(scope="module")
def equal_weight(prices) -> pl.DataFrame:
    return equal_weight_returns(prices)


def _closes(prices: pl.DataFrame) -> dict[str, tuple[list[date], list[float]]]:
    return {
        ticker: (group["trade_date"].to_list(), group["close"].to_list())
        for (ticker,), group in prices.group_by("ticker", maintain_order=True)
    }


def _sectors() -> dict[str, str]:
    with CONSTITUENTS_CSV.open(newline="") as handle:
        return {row["Symbol"]: row["Sector"] for row in csv.DictReader(handle)}


def build_oracle(
    prices: pl.DataFrame, benchmark: dict[date, float], files: list[Path] | None = None
) -> dict[str, Oracle]:
    """The oracle of every portfolio of ``files`` (default: :data:`US_FILES`, the USD example;
    ``prices`` and ``benchmark`` are the US file's)."""
    calendar = prices["trade_date"].unique().sort().to_list()
    closes, sectors = _closes(prices), _sectors()
    files = files if files is not None else US_FILES
    return {name: simulate(rows, calendar, closes, benchmark, sectors) for name, rows in _transactions(files).items()}


@pytest.fixture(scope="module")
def oracle(prices, equal_weight) -> dict[str, Oracle]:
    return build_oracle(prices, dict(zip(equal_weight["trade_date"], equal_weight["daily_return"])))


# --------------------------------------------------------------------------- comparison helpers


def _same(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    if isinstance(expected, float):
        return math.isclose(actual, expected, rel_tol=REL, abs_tol=ABS)
    return actual == expected


def assert_rows_match(actual: list[dict], expected: list[dict], keys: list[str], label: str) -> None:
    """Same keys in the same order; every column of ``expected`` equal within the tolerance."""
    assert [tuple(r[k] for k in keys) for r in actual] == [tuple(r[k] for k in keys) for r in expected], (
        f"{label}: rows differ"
    )
    bad = [
        (tuple(e[k] for k in keys), column, a[column], e[column])
        for a, e in zip(actual, expected)
        for column in e
        if not _same(a[column], e[column])
    ]
    assert not bad, f"{label}: {len(bad)} values differ, e.g. {bad[:5]}"


def _rows(con, sql: str) -> list[dict]:
    return con.sql(sql).pl().to_dicts()


@pytest.fixture(scope="module")
def con(warehouse_con):
    return warehouse_con


#: The ledger's rows of USD portfolios (the ledger has no currency column: its transactions' currency).
USD_LEDGER = """select * from intermediate.int_portfolio_ledger
    where transaction_id in (select transaction_id from portfolios.fct_portfolio_transactions where currency = 'USD')
    order by portfolio, sequence_in_portfolio"""


@pytest.fixture(scope="module")
def daily(con) -> pl.DataFrame:
    """The USD portfolios' days."""
    return con.sql(
        "select * from portfolios.fct_portfolio_daily where currency = 'USD' order by portfolio, trade_date"
    ).pl()


@pytest.fixture(scope="module")
def risk(con) -> dict[str, dict]:
    """The USD portfolios' risk rows by portfolio."""
    rows = _rows(con, "select * from portfolios.mart_portfolio_risk where currency = 'USD'")
    return {row["portfolio"]: row for row in rows}


# --------------------------------------------------------------------------- the whole history against the oracle


def test_every_portfolio_file_is_in_the_marts(con, oracle):
    """Every portfolio of data/portfolios, each in one currency; the USD ones are the oracle's."""
    in_files = set(_transactions(sorted(PORTFOLIOS_DIR.glob("*.csv"))))
    currencies = con.sql("select distinct portfolio, currency from portfolios.fct_portfolio_daily").fetchall()
    by_portfolio = dict(currencies)
    assert len(by_portfolio) == len(currencies)  # one currency per portfolio
    assert set(by_portfolio) == in_files and {EXAMPLE, KR_EXAMPLE} <= in_files
    assert {p for p, currency in by_portfolio.items() if currency == "USD"} == set(oracle) == {EXAMPLE}
    assert by_portfolio[KR_EXAMPLE] == "KRW"


def test_ledger_matches_the_oracle(con, oracle):
    actual = _rows(con, USD_LEDGER)
    expected = [row for name in sorted(oracle) for row in oracle[name].ledger]
    assert_rows_match(actual, expected, ["portfolio", "ticker", "trade_date", "side"], "int_portfolio_ledger")


def test_positions_match_the_oracle(con, oracle):
    actual = _rows(
        con,
        """select * from portfolios.fct_portfolio_positions_daily where currency = 'USD'
        order by portfolio, trade_date, ticker""",
    )
    expected = sorted(
        (row for o in oracle.values() for row in o.positions),
        key=lambda r: (r["portfolio"], r["trade_date"], r["ticker"]),
    )
    assert len(expected) > 2000
    assert_rows_match(actual, expected, ["portfolio", "trade_date", "ticker"], "fct_portfolio_positions_daily")


def test_daily_value_flows_and_returns_match_the_oracle(daily, oracle):
    expected = [row for name in sorted(oracle) for row in oracle[name].days]
    assert daily.height == len(expected) > 500
    assert_rows_match(daily.to_dicts(), expected, ["portfolio", "trade_date"], "fct_portfolio_daily")
    assert set(daily["benchmark_id"]) == {"EQUAL_WEIGHT"}


def test_sector_allocation_matches_the_oracle(con, oracle):
    groups = defaultdict(lambda: {"market_value": 0.0, "holding_count": 0})
    for o in oracle.values():
        for row in o.positions:
            if row["quantity"] > 0:
                group = groups[(row["portfolio"], row["trade_date"], row["sector"])]
                group["market_value"] += row["market_value"]
                group["holding_count"] += 1
    totals = {(d["portfolio"], d["trade_date"]): d["market_value"] for o in oracle.values() for d in o.days}
    expected = [
        {"portfolio": p, "trade_date": d, "sector": s, **g, "weight": g["market_value"] / totals[(p, d)]}
        for (p, d, s), g in sorted(groups.items())
    ]
    actual = _rows(
        con,
        """select * from portfolios.mart_portfolio_sector_allocation where currency = 'USD'
        order by portfolio, trade_date, sector""",
    )
    assert_rows_match(actual, expected, ["portfolio", "trade_date", "sector"], "mart_portfolio_sector_allocation")


# --------------------------------------------------------------------------- hand-computed figures


def test_first_sessions_by_hand(daily):
    rows = {row["trade_date"]: row for row in daily.filter(pl.col("portfolio") == EXAMPLE).to_dicts()}
    first = rows[date(2016, 1, 4)]
    # 2016-01-04, bought at that day's closes with $1 commission each:
    # V = 50*105.35 + 30*100.48 + 40*63.62 = 5267.50 + 3014.40 + 2544.80 = 10826.70
    # B = 10826.70 + 3*1.00 = 10829.70; r = 10826.70 / 10829.70 - 1 (the fees)
    assert first["market_value"] == pytest.approx(10826.70, rel=REL)
    assert first["buy_amount"] == pytest.approx(10829.70, rel=REL)
    assert first["fees"] == pytest.approx(3.0, rel=REL)
    assert first["daily_return"] == pytest.approx(10826.70 / 10829.70 - 1, rel=REL)
    assert first["drawdown"] == pytest.approx(10826.70 / 10829.70 - 1, rel=REL)
    # 2016-01-05, closes AAPL 102.71, JNJ 100.90, JPM 63.73:
    # V = 50*102.71 + 30*100.90 + 40*63.73 = 5135.50 + 3027.00 + 2549.20 = 10711.70
    second = rows[date(2016, 1, 5)]
    assert second["market_value"] == pytest.approx(10711.70, rel=REL)
    assert second["daily_return"] == pytest.approx(10711.70 / 10826.70 - 1, rel=REL)
    assert second["cumulative_return"] == pytest.approx(10711.70 / 10829.70 - 1, rel=REL)
    # 2017-02-16, AAPL dividend 50 * 0.57 = 28.50 (sessions closes 02-15 -> 02-16):
    # V_{t-1} = 50*135.51 + 30*117.20 + 40*90.59 + 25*83.16 + 20*64.53 = 17284.70
    # V_t     = 50*135.345 + 30*118.08 + 40*90.53 + 25*82.30 + 20*64.52 = 17278.75
    dividend_day = rows[date(2017, 2, 16)]
    assert dividend_day["dividend_amount"] == pytest.approx(28.50, rel=REL)
    assert dividend_day["daily_return"] == pytest.approx((17278.75 + 28.50) / 17284.70 - 1, rel=REL)
    # 2017-03-01, sale of 20 AAPL at 139.79 less $1: S = 2794.80;
    # V_{t-1} = 50*136.99 + 30*122.21 + 40*90.62 + 25*81.32 + 20*63.98 = 17453.20
    # V_t     = 30*139.79 + 30*123.86 + 40*93.60 + 25*83.02 + 20*64.94 = 15027.80
    sale_day = rows[date(2017, 3, 1)]
    assert sale_day["sell_amount"] == pytest.approx(2794.80, rel=REL)
    assert sale_day["market_value"] == pytest.approx(15027.80, rel=REL)
    assert sale_day["daily_return"] == pytest.approx((15027.80 + 2794.80) / 17453.20 - 1, rel=REL)


def test_realised_pnl_and_final_position_by_hand(con, risk):
    ledger = {
        (row["ticker"], row["trade_date"]): row
        for row in _rows(con, f"select * from intermediate.int_portfolio_ledger where portfolio = '{EXAMPLE}'")
    }
    aapl_sale = ledger[("AAPL", date(2017, 3, 1))]
    # average cost (50*105.35 + 1) / 50 = 105.37; realised 20*(139.79 - 105.37) - 1 = 687.40;
    # cost basis left 5268.50 - 20*105.37 = 3161.10 for 30 shares (average cost unchanged)
    assert aapl_sale["average_cost_before"] == pytest.approx(105.37, rel=REL)
    assert aapl_sale["realised_pnl"] == pytest.approx(687.40, rel=REL)
    assert aapl_sale["cost_basis_after"] == pytest.approx(3161.10, rel=REL)
    assert aapl_sale["average_cost_after"] == pytest.approx(105.37, rel=REL)
    xom_sale = ledger[("XOM", date(2017, 6, 1))]
    # average cost (25*81.28 + 1) / 25 = 81.32; realised 25*(80.70 - 81.32) - 1 = -16.50; closed
    assert xom_sale["realised_pnl"] == pytest.approx(-16.50, rel=REL)
    assert (xom_sale["quantity_after"], xom_sale["cost_basis_after"], xom_sale["average_cost_after"]) == (0, 0, None)

    final = risk[EXAMPLE]
    # 2018-02-07: 30*159.54 + 30*131.42 + 40*112.87 + 20*89.61 + 10*228.80
    #           = 4786.20 + 3942.60 + 4514.80 + 1792.20 + 2288.00 = 17323.80
    # money in: buys 5268.50 + 3015.40 + 2545.80 + 2033.00 + 1058.00 + 1705.60 = 15626.30,
    # less sales 2794.80 + 2016.50 and dividends 28.50 + 3*18.90 = 85.20 -> 10729.80
    assert final["as_of_date"] == date(2018, 2, 7)
    assert final["market_value"] == pytest.approx(17323.80, rel=REL)
    assert final["net_invested"] == pytest.approx(10729.80, rel=REL)
    assert final["total_pnl"] == pytest.approx(17323.80 - 10729.80, rel=REL)
    assert final["holding_count"] == 5
    it_weight = con.sql(
        f"""select weight from portfolios.mart_portfolio_sector_allocation
        where portfolio = '{EXAMPLE}' and trade_date = '2018-02-07' and sector = 'Information Technology'"""
    ).fetchall()
    assert it_weight[0][0] == pytest.approx((4786.20 + 1792.20 + 2288.00) / 17323.80, rel=REL)


# --------------------------------------------------------------------------- the KRW example


@pytest.fixture(scope="module")
def krx_prices() -> pl.DataFrame:
    """The bundled KRX file's bars (ticker, trade_date, close; KRW) of the Korean example's
    tickers, without the rows that are no bar (halts and quarantined rows, :func:`_quarantined`)."""
    tickers = sorted({t.ticker for t in _transactions([KR_FILE])[KR_EXAMPLE]})
    frame = (
        pl.scan_csv(KRX_PRICES_CSV, schema_overrides={"code": pl.Utf8}, try_parse_dates=True)
        .filter(pl.col("code").is_in(tickers))
        .rename({"code": "ticker", "date": "trade_date"})
        .collect()
    )
    keep = [not _quarantined(row) for row in frame.iter_rows(named=True)]
    return frame.filter(pl.Series(keep)).select("ticker", "trade_date", "close").sort("ticker", "trade_date")


@pytest.fixture(scope="module")
def kospi() -> dict[date, float]:
    """KOSPI (KS11) close / previous close - 1 by date, from the bundled index file."""
    frame = (
        pl.read_csv(KRX_INDEX_CSV, infer_schema=False)
        .filter(pl.col("index_code") == "KS11")
        .select(trade_date=pl.col("Date").str.to_date(), close=pl.col("Close").cast(pl.Float64))
        .sort("trade_date")
        .with_columns(daily_return=pl.col("close") / pl.col("close").shift(1) - 1)
    )
    return dict(zip(frame["trade_date"], frame["daily_return"]))


@pytest.fixture(scope="module")
def kr_oracle(krx_prices, kospi) -> Oracle:
    """The oracle of example_kr_core: the KRX file's sessions (every date of the file) and closes,
    against KS11. Sectors (KSIC industries) are not modelled here (tests/test_portfolio_currency.py)."""
    sessions = pl.scan_csv(KRX_PRICES_CSV, try_parse_dates=True).select(pl.col("date").unique()).collect()
    transactions = _transactions([KR_FILE])[KR_EXAMPLE]
    oracle = simulate(transactions, sessions["date"].sort().to_list(), _closes(krx_prices), kospi,
                      defaultdict(lambda: None))  # fmt: skip
    for row in oracle.positions:
        del row["sector"]
    return oracle


def test_korean_example_is_valued_in_krw_against_kospi(con, kr_oracle, krx_prices):
    """example_kr_core in the session build: its ledger, every position-day and every day equal
    the oracle on the KRX file's real closes, in KRW on the KRX sessions, against KOSPI (its
    first ticker's market, KS11); first and last figures and the risk row by hand and numpy."""
    where = f"where portfolio = '{KR_EXAMPLE}'"
    ledger = _rows(con, f"select * from intermediate.int_portfolio_ledger {where} order by sequence_in_portfolio")
    assert_rows_match(ledger, kr_oracle.ledger, ["portfolio", "ticker", "trade_date", "side"], "KRW ledger")
    positions = _rows(
        con, f"select * from portfolios.fct_portfolio_positions_daily {where} order by trade_date, ticker"
    )
    expected = sorted(kr_oracle.positions, key=lambda r: (r["trade_date"], r["ticker"]))
    assert_rows_match(positions, expected, ["portfolio", "trade_date", "ticker"], "KRW positions")
    days = _rows(con, f"select * from portfolios.fct_portfolio_daily {where} order by trade_date")
    assert_rows_match(days, kr_oracle.days, ["portfolio", "trade_date"], "KRW days")
    assert {r["currency"] for r in positions} == {"KRW"}
    assert {(r["currency"], r["benchmark_id"]) for r in days} == {("KRW", "KS11")}
    assert (days[0]["trade_date"], days[-1]["trade_date"], len(days)) == (date(2021, 1, 4), date(2022, 5, 16), 338)

    closes = {(ticker, day): close for ticker, day, close in krx_prices.iter_rows()}
    # 2021-01-04, bought at that day's closes in the KRX file with 1,000 KRW each:
    # V = 100*83,000 + 50*126,000 = 8,300,000 + 6,300,000 = 14,600,000; B = V + 2,000
    assert (closes["005930", date(2021, 1, 4)], closes["000660", date(2021, 1, 4)]) == (83_000, 126_000)
    first, second = days[0], days[1]
    assert first["market_value"] == pytest.approx(14_600_000, rel=REL)
    assert first["buy_amount"] == pytest.approx(14_602_000, rel=REL)
    assert first["daily_return"] == pytest.approx(14_600_000 / 14_602_000 - 1, rel=REL)
    # 2021-01-05: closes 83,900 and 130,500 -> V = 8,390,000 + 6,525,000 = 14,915,000;
    # KOSPI 2,944.45 -> 2,990.57 in the index file
    assert second["market_value"] == pytest.approx(14_915_000, rel=REL)
    assert second["daily_return"] == pytest.approx(14_915_000 / 14_600_000 - 1, rel=REL)
    assert second["benchmark_daily_return"] == pytest.approx(2_990.57 / 2_944.45 - 1, rel=REL)
    # NAVER sold 2021-09-01: average cost (20*377,500 + 1,000) / 20 = 377,550;
    # realised 10*(445,000 - 377,550) - 1,000 = 673,500
    (sale,) = [row for row in ledger if row["side"] == "sell"]
    assert sale["ticker"] == "035420"
    assert sale["average_cost_before"] == pytest.approx(377_550, rel=REL)
    assert sale["realised_pnl"] == pytest.approx(673_500, rel=REL)

    (risk,) = _rows(con, f"select * from portfolios.mart_portfolio_risk {where}")
    # 2022-05-16: 100*66,300 + 70*110,500 + 10*273,500 + 100*55,100 = 22,610,000 KRW
    held = {"005930": 100, "000660": 70, "035420": 10, "293490": 100}
    assert sum(q * closes[t, date(2022, 5, 16)] for t, q in held.items()) == 22_610_000
    assert risk["market_value"] == pytest.approx(22_610_000, rel=REL)
    # money in: buys 8,301,000 + 6,301,000 + 7,551,000 + 5,251,000 + 2,501,000 less the sale 4,449,000
    assert risk["net_invested"] == pytest.approx(25_456_000, rel=REL)
    assert (risk["currency"], risk["benchmark_id"], risk["holding_count"]) == ("KRW", "KS11", 4)
    assert_risk_matches(risk, expected_risk(kr_oracle.days))


# --------------------------------------------------------------------------- benchmark


def test_equal_weight_benchmark_matches_polars_over_the_whole_series(con, equal_weight):
    actual = con.sql(
        """select trade_date, daily_return, constituent_count, index_level from portfolios.fct_benchmark_daily
        where benchmark_id = 'EQUAL_WEIGHT' and currency = 'USD' and daily_return is not null order by trade_date"""
    ).pl()
    assert actual["trade_date"].to_list() == equal_weight["trade_date"].to_list()
    assert len(actual) == 1258  # every session but the first of the 1,259
    np.testing.assert_allclose(actual["daily_return"], equal_weight["daily_return"], rtol=REL, atol=1e-15)
    assert actual["constituent_count"].to_list() == equal_weight["constituent_count"].to_list()
    np.testing.assert_allclose(actual["index_level"], np.cumprod(1 + equal_weight["daily_return"].to_numpy()), rtol=REL)


@pytest.mark.parametrize("session", [date(2013, 2, 11), date(2016, 1, 4), date(2016, 1, 12), date(2018, 2, 7)])
def test_equal_weight_benchmark_on_single_sessions(con, prices, session):
    """Straight from the rows of the file: the tickers with a close on the session and on the one before."""
    calendar = prices["trade_date"].unique().sort().to_list()
    previous = calendar[calendar.index(session) - 1]
    today = dict(prices.filter(pl.col("trade_date") == session).select("ticker", "close").iter_rows())
    before = dict(prices.filter(pl.col("trade_date") == previous).select("ticker", "close").iter_rows())
    ratios = [today[t] / before[t] - 1 for t in today if t in before]
    (daily_return, count), = con.sql(
        f"""select daily_return, constituent_count from portfolios.fct_benchmark_daily
        where benchmark_id = 'EQUAL_WEIGHT' and currency = 'USD' and trade_date = '{session}'"""
    ).fetchall()
    assert count == len(ratios)
    assert daily_return == pytest.approx(sum(ratios) / len(ratios), rel=REL)


# --------------------------------------------------------------------------- risk metrics


def expected_risk(days: list[dict], risk_free_rate: float = 0.0) -> dict:
    """The documented formulas with numpy on the oracle's daily rows."""
    invested = [d for d in days if d["daily_return"] is not None]
    r = np.array([d["daily_return"] for d in invested])
    rb = np.array([np.nan if d["benchmark_daily_return"] is None else d["benchmark_daily_return"] for d in invested])
    paired = ~np.isnan(rb)
    rf_d = (1 + risk_free_rate) ** (1 / DAYS_PER_YEAR) - 1
    annualiser = np.sqrt(DAYS_PER_YEAR)
    # drawdown over every session (the wealth index stays flat on sessions without a return)
    wealth = np.cumprod([1 + (d["daily_return"] or 0) for d in days])
    peaks = np.maximum.accumulate(np.maximum(wealth, 1.0))
    trough = int(np.argmin(wealth / peaks - 1))
    at_peak = [i for i in range(trough + 1) if wealth[i] == peaks[trough]]
    drawn_down = wealth[trough] < peaks[trough]
    total = np.prod(1 + r) - 1
    return {
        "first_trade_date": days[0]["trade_date"],
        "as_of_date": days[-1]["trade_date"],
        "trading_days": len(r),
        "total_return": total,
        "annualised_return": (1 + total) ** (DAYS_PER_YEAR / len(r)) - 1,
        "annualised_volatility": np.std(r, ddof=1) * annualiser,
        "sharpe_ratio": (np.mean(r) - rf_d) / np.std(r, ddof=1) * annualiser,
        "sortino_ratio": (np.mean(r) - rf_d) / np.sqrt(np.mean(np.minimum(r - rf_d, 0) ** 2)) * annualiser,
        "max_drawdown": wealth[trough] / peaks[trough] - 1,
        "max_drawdown_trough_date": days[trough]["trade_date"] if drawn_down else None,
        "max_drawdown_peak_date": (days[at_peak[-1] if at_peak else 0]["trade_date"]) if drawn_down else None,
        "beta": np.cov(r[paired], rb[paired], ddof=1)[0, 1] / np.var(rb[paired], ddof=1),
        "benchmark_total_return": np.prod(1 + rb[paired]) - 1,
        "benchmark_annualised_volatility": np.std(rb[paired], ddof=1) * annualiser,
        "benchmark_max_drawdown": min(d["benchmark_drawdown"] for d in days),
        "risk_free_rate": risk_free_rate,
    }


def assert_risk_matches(actual: dict, expected: dict) -> None:
    bad = {key: (actual[key], value) for key, value in expected.items() if not _same(actual[key], value)}
    assert not bad, f"mart value, expected: {bad}"


def test_risk_metrics_match_numpy_on_the_oracle(risk, oracle):
    assert set(risk) == set(oracle)
    for name, o in oracle.items():
        assert risk[name]["benchmark_id"] == "EQUAL_WEIGHT"
        assert_risk_matches(risk[name], expected_risk(o.days))


def test_example_risk_figures_are_plausible(risk):
    """Guards the oracle itself: a real five-stock portfolio of 2016-2018, not degenerate numbers."""
    example = risk[EXAMPLE]
    assert example["trading_days"] == 529  # sessions 2016-01-04 .. 2018-02-07
    assert 0.3 < example["total_return"] < 0.8
    assert 0.05 < example["annualised_volatility"] < 0.4
    assert -0.3 < example["max_drawdown"] < -0.01
    assert 0.3 < example["beta"] < 1.5
    assert example["max_drawdown_peak_date"] <= example["max_drawdown_trough_date"]


# --------------------------------------------------------------------------- dbt again on a copy: settings, edge cases


def _run_dbt(warehouse: Path, label: str, args: list[str], values: dict) -> subprocess.CompletedProcess:
    """dbt on the DuckDB file ``warehouse`` through the ``dbt`` resource of settings with
    ``values`` (so they go through Settings to dbt's profile and ``--vars``), into a target folder
    of its own (``<label>/`` beside the file) so that other dbt runs are not disturbed. Returns the
    exit status and the error messages dbt logged."""
    settings = test_settings(warehouse.parent, warehouse_path=warehouse, **values)
    invocation = resources_for(settings)["dbt"].cli(args, target_path=warehouse.parent / label / "target",
                                                    raise_on_error=False).wait()  # fmt: skip
    error = invocation.get_error()
    return subprocess.CompletedProcess(args, 0 if error is None else 1, stdout=str(error or ""))


# A second portfolio for the rebuilt copy, covering what the example does not: two buys of one
# ticker (weighted average cost), a partial and a closing sale, sessions with nothing invested
# (daily_return NULL), a new position afterwards, and WRK, whose 2016-05-13 bar is quarantined
# (its close of 2016-05-12 is carried forward). Prices are the real closes of those sessions.
ROUND_TRIP = [  # trade_date, ticker, side, quantity, fees
    ("2016-05-02", "WRK", "buy", 20, 1.0),
    ("2016-06-01", "KO", "buy", 10, 1.0),
    ("2016-07-01", "KO", "buy", 5, 1.0),
    ("2016-08-01", "KO", "sell", 6, 1.0),
    ("2016-09-01", "KO", "sell", 9, 1.0),
    ("2016-09-01", "WRK", "sell", 20, 1.0),
    ("2016-11-01", "GOOGL", "buy", 3, 0.0),
]


def _write_round_trip(prices: pl.DataFrame, path: Path) -> Path:
    closes = {(t, d.isoformat()): c for t, d, c in prices.iter_rows()}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["portfolio", "trade_date", "ticker", "side", "quantity", "price", "fees", "currency"])
        for day, ticker, side, quantity, fees in ROUND_TRIP:
            writer.writerow(["round_trip", day, ticker, side, quantity, closes[(ticker, day)], fees, "USD"])
    return path


def _append_transactions(warehouse: Path, csv_path: Path) -> None:
    """Stand-in for the ingest asset on the copy: the file's rows into raw.portfolio_transactions."""
    import duckdb

    rows = [
        (t.portfolio, t.source_file, t.source_line, t.trade_date, t.ticker, t.side, t.quantity, t.price, t.fees)
        for t in _transactions([csv_path])["round_trip"]
    ]
    with duckdb.connect(str(warehouse)) as connection:
        connection.executemany(
            """insert into raw.portfolio_transactions
            (portfolio, source_file, source_line, trade_date, ticker, side, quantity, price, fees, currency,
             file_sha256, loaded_at)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', 'test', current_timestamp)""",
            rows,
        )


@dataclass(frozen=True)
class RebuiltCopy:
    warehouse: Path
    files: list[Path]  # the transaction files it holds


@pytest.fixture(scope="module")
def rebuilt_copy(built_warehouse, tmp_path_factory, prices) -> RebuiltCopy:
    """A copy of the built warehouse plus the round-trip portfolio, its portfolio models rebuilt
    with PORTFOLIO_BENCHMARK=msft (a USD ticker: it applies to the USD portfolios, the KRW one
    stays on KOSPI) and RISK_FREE_RATE=0.02."""
    directory = tmp_path_factory.mktemp("portfolio_msft")
    copy = directory / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.warehouse_path, copy)
    wal = Path(f"{built_warehouse.warehouse_path}.wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{copy}.wal"))
    round_trip = _write_round_trip(prices, directory / "round_trip.csv")
    _append_transactions(copy, round_trip)
    result = _run_dbt(
        copy,
        "dbt_msft",
        ["build", "--select", "stg_portfolios__transactions+ fct_benchmark_daily+",
         "--indirect-selection", "cautious"],
        {"portfolio_benchmark": "msft", "risk_free_rate": 0.02},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    return RebuiltCopy(copy, [*US_FILES, round_trip])


def _read(path: Path, sql: str) -> pl.DataFrame:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(sql).pl()


@pytest.fixture(scope="module")
def msft_returns(prices) -> pl.DataFrame:
    msft = prices.filter(pl.col("ticker") == "MSFT").sort("trade_date")
    return msft.with_columns(daily_return=pl.col("close") / pl.col("close").shift(1) - 1)


@pytest.fixture(scope="module")
def msft_oracle(prices, msft_returns, rebuilt_copy) -> dict[str, Oracle]:
    return build_oracle(prices, dict(zip(msft_returns["trade_date"], msft_returns["daily_return"])), rebuilt_copy.files)


def test_ticker_benchmark_is_the_tickers_return(rebuilt_copy, msft_returns):
    actual = _read(
        rebuilt_copy.warehouse,
        "select * from portfolios.fct_benchmark_daily where benchmark_id = 'MSFT' order by trade_date",
    )
    assert set(actual["currency"]) == {"USD"} and set(actual["benchmark_kind"]) == {"ticker"}
    assert actual["trade_date"].to_list() == msft_returns["trade_date"].to_list()
    assert actual["daily_return"][0] is None and actual["constituent_count"][0] == 0
    np.testing.assert_allclose(actual["daily_return"][1:], msft_returns["daily_return"][1:], rtol=REL)
    closes = msft_returns["close"]
    assert actual["index_level"][-1] == pytest.approx(closes[-1] / closes[0], rel=REL)
    assert set(actual["is_portfolio_benchmark"]) == {True}
    equal_weight = _read(
        rebuilt_copy.warehouse,
        """select distinct is_portfolio_benchmark from portfolios.fct_benchmark_daily
        where benchmark_id = 'EQUAL_WEIGHT' and currency = 'USD'""",
    )
    assert equal_weight["is_portfolio_benchmark"].to_list() == [False]
    # a USD ticker does not apply to the KRW markets: KOSPI and KOSDAQ keep their own indices
    in_use = _read(
        rebuilt_copy.warehouse,
        """select distinct benchmark_id, currency from portfolios.fct_benchmark_daily
        where is_portfolio_benchmark order by all""",
    )
    assert in_use.rows() == [("KQ11", "KRW"), ("KS11", "KRW"), ("MSFT", "USD")]


def test_rebuilt_copy_matches_the_oracle(rebuilt_copy, msft_oracle):
    """Both portfolios, benchmark MSFT: ledger, positions and days row for row."""
    assert set(msft_oracle) == {EXAMPLE, "round_trip"}
    ledger = _read(rebuilt_copy.warehouse, USD_LEDGER)
    assert_rows_match(
        ledger.to_dicts(), [row for name in sorted(msft_oracle) for row in msft_oracle[name].ledger],
        ["portfolio", "ticker", "trade_date", "side"], "int_portfolio_ledger (copy)",
    )  # fmt: skip
    positions = _read(
        rebuilt_copy.warehouse,
        """select * from portfolios.fct_portfolio_positions_daily where currency = 'USD'
        order by portfolio, trade_date, ticker""",
    )
    assert_rows_match(
        positions.to_dicts(),
        sorted(
            (r for o in msft_oracle.values() for r in o.positions),
            key=lambda r: (r["portfolio"], r["trade_date"], r["ticker"]),
        ),
        ["portfolio", "trade_date", "ticker"], "fct_portfolio_positions_daily (copy)",
    )  # fmt: skip
    daily = _read(
        rebuilt_copy.warehouse,
        "select * from portfolios.fct_portfolio_daily where currency = 'USD' order by portfolio, trade_date",
    )
    assert set(daily["benchmark_id"]) == {"MSFT"}
    korean = _read(
        rebuilt_copy.warehouse,
        f"select distinct benchmark_id from portfolios.fct_portfolio_daily where portfolio = '{KR_EXAMPLE}'",
    )
    assert korean["benchmark_id"].to_list() == ["KS11"]
    assert_rows_match(
        daily.to_dicts(), [row for name in sorted(msft_oracle) for row in msft_oracle[name].days],
        ["portfolio", "trade_date"], "fct_portfolio_daily (copy)",
    )  # fmt: skip


def test_round_trip_edge_cases(rebuilt_copy):
    """What the round-trip portfolio is for, stated directly."""
    ledger = _read(
        rebuilt_copy.warehouse,
        "select * from intermediate.int_portfolio_ledger where portfolio = 'round_trip' order by sequence_in_portfolio",
    ).to_dicts()
    ko = [row for row in ledger if row["ticker"] == "KO"]
    # weighted average cost of two buys, fees included, unchanged by the partial sale
    average = (10 * ko[0]["price"] + 1 + 5 * ko[1]["price"] + 1) / 15
    assert ko[1]["average_cost_after"] == pytest.approx(average, rel=REL)
    assert ko[2]["average_cost_after"] == pytest.approx(average, rel=REL)
    assert ko[2]["realised_pnl"] == pytest.approx(6 * (ko[2]["price"] - average) - 1, rel=REL)
    assert (ko[3]["quantity_after"], ko[3]["cost_basis_after"], ko[3]["average_cost_after"]) == (0, 0, None)
    days = _read(
        rebuilt_copy.warehouse,
        "select * from portfolios.fct_portfolio_daily where portfolio = 'round_trip' order by trade_date",
    )
    empty = days.filter((pl.col("trade_date") > date(2016, 9, 1)) & (pl.col("trade_date") < date(2016, 11, 1)))
    assert empty.height > 30
    assert empty["daily_return"].null_count() == empty.height
    assert empty["benchmark_daily_return"].null_count() == empty.height
    assert empty["market_value"].to_list() == [0.0] * empty.height
    wrk = _read(
        rebuilt_copy.warehouse,
        """select trade_date, price_date, close_price from portfolios.fct_portfolio_positions_daily
        where portfolio = 'round_trip' and ticker = 'WRK' and trade_date = '2016-05-13'""",
    ).to_dicts()
    assert wrk[0]["price_date"] == date(2016, 5, 12)  # the quarantined bar's session carries the previous close


def test_risk_with_a_ticker_benchmark_and_a_risk_free_rate(rebuilt_copy, msft_oracle):
    rows = _read(rebuilt_copy.warehouse, "select * from portfolios.mart_portfolio_risk").to_dicts()
    risk = {row["portfolio"]: row for row in rows if row["currency"] == "USD"}
    assert set(risk) == set(msft_oracle)
    for name, o in msft_oracle.items():
        assert risk[name]["benchmark_id"] == "MSFT"
        assert risk[name]["daily_risk_free_rate"] == pytest.approx(1.02 ** (1 / 252) - 1, rel=REL)
        assert_risk_matches(risk[name], expected_risk(o.days, risk_free_rate=0.02))
    # the risk-free rate applies to every portfolio, the ticker benchmark to its currency's only
    (korean,) = [row for row in rows if row["portfolio"] == KR_EXAMPLE]
    assert (korean["currency"], korean["benchmark_id"], korean["risk_free_rate"]) == ("KRW", "KS11", 0.02)


def test_unknown_benchmark_ticker_fails_with_a_clear_error(rebuilt_copy):
    counts = "select benchmark_id, count(*) as n from portfolios.fct_benchmark_daily group by 1 order by 1"
    before = _read(rebuilt_copy.warehouse, counts)
    result = _run_dbt(
        rebuilt_copy.warehouse, "dbt_unknown", ["run", "--select", "fct_benchmark_daily+"],
        {"portfolio_benchmark": "NOPE"},
    )
    assert result.returncode != 0
    assert (
        "PORTFOLIO_BENCHMARK='NOPE' is neither EQUAL_WEIGHT nor a ticker of the universe nor a market index"
        in result.stdout
    )
    after = _read(rebuilt_copy.warehouse, counts)
    assert set(after["benchmark_id"]) == {"EQUAL_WEIGHT", "KQ11", "KS11", "KS200", "MSFT"}
    assert after.equals(before)  # nothing replaced: still the equal-weighted indices, the KRX indices and MSFT


# --------------------------------------------------------------------------- PostgreSQL


PORTFOLIO_MARTS = {
    "fct_portfolio_positions_daily": ["portfolio", "ticker", "trade_date"],
    "fct_portfolio_daily": ["portfolio", "trade_date"],
    "fct_benchmark_daily": ["benchmark_id", "currency", "trade_date"],
    "mart_portfolio_risk": ["portfolio"],
    "mart_portfolio_sector_allocation": ["portfolio", "trade_date", "sector"],
}


@pytest.mark.parametrize("mart", list(PORTFOLIO_MARTS))
def test_postgres_marts_equal_duckdb(built_postgres_warehouse, con, mart):
    import psycopg

    keys = PORTFOLIO_MARTS[mart]

    def by_keys(rows: list[dict]) -> list[dict]:  # Python order: PostgreSQL collates text by locale
        return sorted(rows, key=lambda row: tuple(row[k] for k in keys))

    duck = by_keys(_rows(con, f"select * from portfolios.{mart}"))
    schema = f"{built_postgres_warehouse.schema_prefix}portfolios"
    with psycopg.connect(built_postgres_warehouse.conninfo) as pg:
        cursor = pg.execute(f'select * from "{schema}"."{mart}"')
        columns = [column.name for column in cursor.description]
        postgres = by_keys([dict(zip(columns, row)) for row in cursor.fetchall()])
    assert columns == list(duck[0]) and len(duck) > 0
    assert_rows_match(postgres, duck, keys, f"{mart} on PostgreSQL")
