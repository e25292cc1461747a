"""Portfolio transaction files: read, validate, and write them (pure: no Dagster, no warehouse).

One CSV file (``PORTFOLIOS_DIR/*.csv``, column contract in ``data/portfolios/README.md``) holds
one or more portfolios' transactions, one row per transaction:

============  ==============================================================================
portfolio     name, 1-64 of ``A-Z a-z 0-9 _ -`` and space; a portfolio lives in ONE file
trade_date    ``YYYY-MM-DD``, a session of the ticker's exchange (NYSE for US tickers, KRX for
              KOSPI and KOSDAQ ones) within the ticker's price history
ticker        a ticker of the price universe (any case in; stored as domain.tickers spells it: BRK.B)
side          ``buy`` | ``sell`` | ``dividend`` (any case in, lower case out)
quantity      shares, > 0 and finite; for ``dividend`` the shares the dividend was paid on
price         per share in the currency, > 0 and finite; for ``dividend`` the dividend per share
fees          in the currency, >= 0 and finite; empty = 0 (commission, or withholding on a dividend)
currency      the currency of the ticker's market (``USD``, ``KRW``: :mod:`domain.markets`)
============  ==============================================================================

Used by the ingest asset (:mod:`pipelines.defs.portfolios.assets`) and by the app's
upload/edit form, so both apply the same rules with the same messages:

* :func:`read_transactions` — bytes or a file -> one text row per CSV record (``csv`` module);
* :func:`validate_transactions` — every rule below -> a list of :class:`RowError`;
* :func:`normalized_transactions` — a valid frame -> typed rows;

Rules (each error names file, line and field): the header has exactly the eight columns
(names compared after trimming, case-insensitive); every record has as many fields as the
header; required fields (all but ``fees``) are not empty; the rules of the table above; the
portfolio is in no other file; ONE CURRENCY PER PORTFOLIO: the portfolio's currency is the
currency of its first transaction's ticker (by ``(trade_date, line)``), and a row whose ticker
trades in another currency is an error on its ``ticker`` (no silent mixing of USD and KRW);
holdings never go negative: a portfolio's rows are replayed
in ``(trade_date, line)`` order (a sell dated the same day as a buy comes after it only when
its line is later), a ``sell`` may not exceed the shares held, and a ``dividend`` needs shares
of the ticker held at that point; a ``buy`` or ``sell`` price lies within the day's low..high
(±1 %, :data:`PRICE_RANGE_TOLERANCE`; rule ``price_in_day_range``, checked when the price
history carries day ranges, as the ingest asset's and the app's do; a session without a bar
for the ticker, e.g. a price row the price checks quarantined, is not checked). A dividend is
checked against the holding on the date the row carries (the example uses payment dates); the
holding on the record date is not known. A ticker's market comes with the price history
(:class:`PriceHistory` ``markets``; a history without markets is the US market's).

The module is longer than ~300 lines because reading and the rules share the error types and
the column contract; the rules alone are half of it. The folder of files (listing, fingerprints,
the validated atomic write of the app's form) is :mod:`domain.portfolios.store`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from domain.calendar import exchange_calendar
from domain.markets import Market, market, markets
from domain.tickers import normalize_ticker

COLUMNS = ("portfolio", "trade_date", "ticker", "side", "quantity", "price", "fees", "currency")
REQUIRED = tuple(c for c in COLUMNS if c != "fees")
SIDES = ("buy", "sell", "dividend")
#: The market of a ticker whose price history names none (a history read before prices carried
#: their market: the US price pipeline's).
DEFAULT_MARKET = "US"
#: How messages name an exchange calendar ("2017-07-04 is not an NYSE trading session").
_EXCHANGE_NAMES = {"XNYS": "an NYSE", "XKRX": "a KRX"}
PORTFOLIO_PATTERN = re.compile(r"[A-Za-z0-9 _-]{1,64}")
FILE_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.csv")
SOURCE_LINE, FIELD_COUNT, RAW_RECORD = "source_line", "field_count", "raw_record"
_RESERVED = (SOURCE_LINE, FIELD_COUNT, RAW_RECORD)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOLERANCE = 1e-9  # shares: float noise when fractional quantities are added up


@dataclass(frozen=True)
class RowError:
    """One problem in a transaction file: ``line`` is the 1-based file line (header = 1),
    ``field`` the column at fault (None when the whole record is), ``message`` what is wrong."""

    source_file: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source_file} line {self.line}"
        return f"{where}, field {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PortfolioFileError(ValueError):
    """A transaction file that cannot be read or fails validation; ``errors`` lists every
    problem found (:class:`RowError`), the message shows the first 20."""

    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        shown = "\n".join(f"  {e}" for e in self.errors[:20])
        more = f"\n  … and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        name = self.errors[0].source_file if self.errors else "portfolio file"
        super().__init__(f"{name}: {len(self.errors)} problem(s):\n{shown}{more}")


#: ``(ticker, session) -> (low, high)`` of that day's bar (USD, the price data's split basis), or
#: None when the day has no bar.
DayRange = Callable[[str, date], "tuple[float, float] | None"]

#: A buy or sell price may lie this fraction below the day's low or above its high (rounding,
#: a price taken from another feed); further out it is rejected (rule ``price_in_day_range``).
#: The low and high are ``raw.prices_daily``'s as stored, i.e. split-adjusted as of the row's
#: ``split_basis_date``: transaction prices are on the price data's split basis (README, Portfolios).
PRICE_RANGE_TOLERANCE = 0.01


def day_range_lookup(fetch: Callable[[str], Iterable[tuple[Any, Any, Any]]]) -> DayRange:
    """A :data:`DayRange` that asks ``fetch(ticker)`` once per ticker for its
    ``(trade_date, low, high)`` rows (dates as ``date``, ``datetime`` or ISO text) and caches them:
    validation reads only the tickers a file names. A row without its low or high (None/NaN)
    counts as no bar: the day is not checked, as a session missing from the prices is not."""
    cache: dict[str, dict[date, tuple[float, float]]] = {}

    def day_range(ticker: str, day: date) -> tuple[float, float] | None:
        if ticker not in cache:
            cache[ticker] = {
                _as_date(d): (float(low), float(high))
                for d, low, high in fetch(ticker)
                if _is_number(low) and _is_number(high)
            }
        return cache[ticker].get(day)

    return day_range


@dataclass(frozen=True)
class PriceHistory:
    """The price universe validation checks against: ``bounds[ticker] = (first, last)``, the
    first and last trade_date with a price for that ticker (exchange session dates),
    ``day_range`` (optional, :func:`day_range_lookup`) for the rule that a buy or sell price
    lies in the day's low..high (±:data:`PRICE_RANGE_TOLERANCE`; without it the rule is not
    checked), and ``markets[ticker]``, the ticker's market (a code of :mod:`domain.markets`:
    its exchange calendar and currency; :data:`DEFAULT_MARKET` for a ticker not in it)."""

    bounds: Mapping[str, tuple[date, date]]
    day_range: DayRange | None = field(default=None, compare=False)
    markets: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[Any, ...]], day_range: DayRange | None = None
    ) -> PriceHistory:
        """From ``(ticker, first_trade_date, last_trade_date)`` or ``(ticker, first_trade_date,
        last_trade_date, market)`` rows (dates as ``date``, ``datetime`` or ISO text); tickers are
        upper-cased.

        Raises:
            KeyError: a market that is not in the markets seed (names the known ones).
        """
        bounds, ticker_markets = {}, {}
        for row in rows:
            ticker = str(row[0]).strip().upper()
            bounds[ticker] = (_as_date(row[1]), _as_date(row[2]))
            if len(row) > 3 and row[3] is not None:
                ticker_markets[ticker] = market(str(row[3])).code
        return cls(bounds, day_range, ticker_markets)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame | pd.DataFrame, day_range: DayRange | None = None) -> PriceHistory:
        """From a polars or pandas frame with columns ``ticker, first_trade_date,
        last_trade_date`` and optionally ``market`` (e.g. ``select ticker, min(trade_date) as
        first_trade_date, max(trade_date) as last_trade_date from … group by ticker``, with the
        market of each ticker's latest bar); without ``market`` every ticker is
        :data:`DEFAULT_MARKET`'s.

        Raises:
            ValueError: a column is missing (names it).
            KeyError: a market that is not in the markets seed.
        """
        if isinstance(frame, pd.DataFrame):
            frame = pl.from_pandas(frame)
        missing = [c for c in ("ticker", "first_trade_date", "last_trade_date") if c not in frame.columns]
        if missing:
            raise ValueError(f"price history frame lacks column(s) {missing}")
        columns = ["ticker", "first_trade_date", "last_trade_date"] + (["market"] if "market" in frame.columns else [])
        return cls.from_rows(frame.select(columns).iter_rows(), day_range)

    @property
    def tickers(self) -> frozenset[str]:
        """Known tickers (upper case)."""
        return frozenset(self.bounds)

    def market_of(self, ticker: str) -> Market:
        """The market of a ticker (:data:`DEFAULT_MARKET` when the history names none)."""
        return market(self.markets.get(ticker, DEFAULT_MARKET))


def _is_number(value: Any) -> bool:
    """A low or high that is there: not None and not NaN (pandas reads a NULL as NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# ----------------------------------------------------------------------------- reading


def read_transactions(source: Path | str | bytes, source_file: str) -> pl.DataFrame:
    """Read a transaction CSV (UTF-8, optional BOM) from a path or from its bytes.

    Returns one row per CSV record (blank lines skipped), all text as read: ``source_line``
    (Int64, the line the record starts on; header = line 1), ``field_count`` (Int64, fields in
    the record), ``raw_record`` (the record as a JSON object ``{column: value}``, surplus
    fields under ``"_extra_fields"``), then one Utf8 column per header name (trimmed,
    lower-cased), None where the record is short. A header-only or empty file gives 0 rows.
    Names the file ``source_file`` in errors (e.g. its path relative to PORTFOLIOS_DIR).

    Raises:
        PortfolioFileError: not UTF-8, broken quoting, a header name given twice, or a header
            name reserved for the columns above (each names the line).
        FileNotFoundError: ``source`` is a path that does not exist.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PortfolioFileError(
            [RowError(source_file, line, None, f"not UTF-8 text (byte {exc.start}: {exc.reason})")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines, fields = [], []
    try:
        previous_end = 0
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if record:
                lines.append(start)
                fields.append(record)
    except csv.Error as exc:
        raise PortfolioFileError([RowError(source_file, reader.line_num, None, f"not valid CSV: {exc}")]) from None
    if not fields:
        return pl.DataFrame(schema={SOURCE_LINE: pl.Int64, FIELD_COUNT: pl.Int64, RAW_RECORD: pl.Utf8})
    header = [name.strip().lower() for name in fields[0]]
    for position, name in enumerate(header):
        if name in header[:position]:
            raise PortfolioFileError([RowError(source_file, lines[0], name, "column appears twice in the header")])
        if name in _RESERVED:
            raise PortfolioFileError(
                [RowError(source_file, lines[0], name, f"unexpected column {name}; expected {', '.join(COLUMNS)}")]
            )
    records = fields[1:]
    columns: dict[str, pl.Series] = {
        SOURCE_LINE: pl.Series(SOURCE_LINE, lines[1:], pl.Int64),
        FIELD_COUNT: pl.Series(FIELD_COUNT, [len(r) for r in records], pl.Int64),
        RAW_RECORD: pl.Series(RAW_RECORD, [_raw_json(header, r) for r in records], pl.Utf8),
    }
    for position, name in enumerate(header):
        columns[name] = pl.Series(name, [r[position] if position < len(r) else None for r in records], pl.Utf8)
    return pl.DataFrame(columns)


def _raw_json(header: list[str], record: list[str]) -> str:
    row: dict[str, Any] = dict(zip(header, record))
    if len(record) > len(header):
        row["_extra_fields"] = record[len(header) :]
    return json.dumps(row, ensure_ascii=False)


def header_columns(frame: pl.DataFrame) -> list[str]:
    """The header names of a frame from :func:`read_transactions`, in file order."""
    return [c for c in frame.columns if c not in _RESERVED]


# ----------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Holding:
    """A row's effect on holdings (its holdings-relevant fields parsed)."""

    line: int
    portfolio: str
    trade_date: date
    ticker: str
    side: str
    quantity: float


def validate_transactions(
    frame: pl.DataFrame,
    source_file: str,
    history: PriceHistory,
    other_files_portfolios: Mapping[str, str] | None = None,
) -> list[RowError]:
    """Every problem of one file's rows (see the module doc), ordered by line then column; an
    empty list means the file is valid. A header problem stops the row checks.

    ``frame``: from :func:`read_transactions`. ``history``: the price universe.
    ``other_files_portfolios``: ``{portfolio: file}`` of the portfolios in OTHER files.
    """
    header = header_columns(frame)
    expected = f"expected {', '.join(COLUMNS)}"
    errors = [RowError(source_file, 1, c, f"missing column {c}; {expected}") for c in COLUMNS if c not in header]
    errors += [RowError(source_file, 1, c, f"unexpected column {c}; {expected}") for c in header if c not in COLUMNS]
    if errors:
        return errors
    others = other_files_portfolios or {}
    currencies = _portfolio_currencies(frame, history)
    holdings: list[_Holding] = []
    unknown: set[tuple[str, str]] = set()  # holdings a row with an unusable date/side/quantity touches
    for row in frame.iter_rows(named=True):
        line = row[SOURCE_LINE]
        values = {c: (row[c] or "").strip() for c in COLUMNS}
        if row[FIELD_COUNT] != len(COLUMNS):
            message = f"has {row[FIELD_COUNT]} fields, the header has {len(COLUMNS)}"
            problems = [(None, message)]
        else:
            problems = _field_problems(values, history, others, currencies.get(values["portfolio"]))
        errors += [RowError(source_file, line, field, message) for field, message in problems]
        holding = _holding(line, values, {field for field, _ in problems})
        if holding is not None:
            holdings.append(holding)
        else:
            unknown.add((values["portfolio"], normalize_ticker(values["ticker"])))
    problems = _holding_problems(holdings, unknown)
    errors += [RowError(source_file, line, field, message) for line, field, message in problems]
    order = {c: i for i, c in enumerate(COLUMNS)}
    return sorted(errors, key=lambda e: (e.line, -1 if e.field is None else order.get(e.field, len(order))))


#: A number as a person writes it in a CSV file: ASCII digits, an optional sign, decimal point and
#: exponent. Python's ``float`` also takes ``1_0``, ``inf``, ``nan`` and non-ASCII digits
#: (``١٠`` is 10): none of them is meant as a quantity or a price, so they are rejected.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text) else None


@dataclass(frozen=True)
class _PortfolioCurrency:
    """A portfolio's currency: that of its first transaction (``line``, ``ticker``, ``market``)."""

    currency: str
    line: int
    ticker: str
    market: str


def _portfolio_currencies(frame: pl.DataFrame, history: PriceHistory) -> dict[str, _PortfolioCurrency]:
    """``{portfolio: its currency}``: the currency of the market of the ticker of its first row
    by ``(trade_date, line)`` among the rows with a known ticker and a date."""
    if frame.height == 0 or any(c not in frame.columns for c in ("portfolio", "trade_date", "ticker")):
        return {}
    firsts: dict[str, tuple[date, int, str]] = {}
    for row in frame.iter_rows(named=True):
        portfolio, ticker = (row["portfolio"] or "").strip(), normalize_ticker((row["ticker"] or "").strip())
        day = _parse_date((row["trade_date"] or "").strip())
        if portfolio and day is not None and ticker in history.bounds:
            candidate = (day, row[SOURCE_LINE], ticker)
            if portfolio not in firsts or candidate < firsts[portfolio]:
                firsts[portfolio] = candidate
    result = {}
    for portfolio, (_, line, ticker) in firsts.items():
        ticker_market = history.market_of(ticker)
        result[portfolio] = _PortfolioCurrency(ticker_market.currency, line, ticker, ticker_market.code)
    return result


def _field_problems(
    values: dict[str, str], history: PriceHistory, others: Mapping[str, str], portfolio_currency: _PortfolioCurrency | None
) -> list[tuple[str | None, str]]:
    """``(field, message)`` for each rule a row's trimmed ``values`` break (``portfolio_currency``:
    the currency of the row's portfolio, None when no row of it names a known ticker)."""
    problems = [(c, "empty; a value is required") for c in REQUIRED if not values[c]]
    empty = {c for c, _ in problems}
    portfolio, ticker = values["portfolio"], normalize_ticker(values["ticker"])
    known = ticker in history.bounds
    # the ticker's market; for an unknown ticker the portfolio's (its calendar and currency)
    row_market = history.market_of(ticker) if known else market(portfolio_currency.market if portfolio_currency else DEFAULT_MARKET)
    if "portfolio" not in empty:
        if not PORTFOLIO_PATTERN.fullmatch(portfolio):
            problems.append(("portfolio", f"name {portfolio!r} must be 1-64 letters, digits, spaces, '_' or '-'"))
        elif portfolio in others:
            problems.append(
                ("portfolio", f"portfolio {portfolio} is also in {others[portfolio]}; a portfolio lives in one file")
            )
    if "ticker" not in empty and not known:
        problems.append(("ticker", f"unknown ticker {ticker}: not in the price universe"))
    elif known and portfolio_currency is not None and row_market.currency != portfolio_currency.currency:
        first = portfolio_currency
        message = (
            f"one currency per portfolio: {ticker} ({row_market.code}) trades in {row_market.currency}, but "
            f"portfolio {portfolio} is in {first.currency} (its first transaction, line {first.line}: "
            f"{first.ticker}, {first.market}); put {row_market.currency} tickers in a portfolio of their own"
        )
        problems.append(("ticker", message))
    if "trade_date" not in empty:
        message = _date_problem(values["trade_date"], ticker, history, row_market.exchange_calendar)
        if message:
            problems.append(("trade_date", message))
    side = values["side"].lower()
    if "side" not in empty and side not in SIDES:
        problems.append(("side", f"{values['side']!r} is not a side; expected buy, sell or dividend"))
    for column, rule in (("quantity", "positive"), ("price", "positive"), ("fees", "non_negative")):
        if values[column]:
            message = _number_problem(values[column], rule)
            if message:
                problems.append((column, message))
    if "currency" not in empty and values["currency"].upper() != row_market.currency:
        expected = row_market.currency
        if known and values["currency"].upper() in {m.currency for m in markets().values()}:
            message = f"{values['currency']!r} is not the currency of {ticker}: {row_market.code} prices are in {expected}, use {expected}"
        else:
            message = f"{values['currency']!r} is not supported: prices are in {expected}, use {expected}"
        problems.append(("currency", message))
    bad = {c for c, _ in problems}
    if side in ("buy", "sell") and not bad & {"ticker", "trade_date", "price"} and history.day_range is not None:
        message = _price_range_problem(ticker, _parse_date(values["trade_date"]), _number(values["price"]), history)
        if message:
            problems.append(("price", message))
    return problems


def _price_range_problem(ticker: str, day: date, price: float, history: PriceHistory) -> str | None:
    """Rule ``price_in_day_range``: a buy or sell price within the day's low..high, widened by
    :data:`PRICE_RANGE_TOLERANCE`. A session without a bar for the ticker is not checked."""
    bar = history.day_range(ticker, day)
    if bar is None:
        return None
    low, high = bar
    if low * (1 - PRICE_RANGE_TOLERANCE) <= price <= high * (1 + PRICE_RANGE_TOLERANCE):
        return None
    if low == high == 0:  # a KRX trading halt: the day's bar is written open = high = low = 0
        return f"price_in_day_range: {ticker} did not trade on {day} (a trading halt: the day has no range)"
    return (
        f"price_in_day_range: {price:g} is outside {ticker}'s range on {day} "
        f"(low {low:g}, high {high:g}, {PRICE_RANGE_TOLERANCE:.0%} tolerance)"
    )


def _date_problem(text: str, ticker: str, history: PriceHistory, exchange: str) -> str | None:
    """The trade date's problem: not a date, not a session of ``exchange`` (an exchange-calendars
    name), or outside the ticker's price history."""
    day = _parse_date(text)
    if day is None:
        return f"{text!r} is not a date YYYY-MM-DD"
    calendar = exchange_calendar(exchange)
    named = _EXCHANGE_NAMES.get(exchange, f"a {exchange}")
    first_session, last_session = calendar.first_session.date(), calendar.last_session.date()
    if not first_session <= day <= last_session:
        return f"{day} is outside the {named.split(' ', 1)[1]} calendar known here ({first_session} to {last_session})"
    if not calendar.is_session(pd.Timestamp(day)):
        return f"{day} is not {named} trading session"
    if ticker in history.bounds:
        first, last = history.bounds[ticker]
        if not first <= day <= last:
            return f"no {ticker} price on {day}: {ticker} has prices from {first} to {last}"
    return None


def _parse_date(text: str) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _number_problem(text: str, rule: str) -> str | None:
    number = _number(text)
    if number is None:
        return f"{text!r} is not a number"
    if not math.isfinite(number):
        return f"{text!r} is not a finite number"
    if rule == "positive" and number <= 0:
        return f"{text} must be > 0"
    if rule == "non_negative" and number < 0:
        return f"{text} must be >= 0"
    return None


def _holding(line: int, values: dict[str, str], bad_fields: set[str | None]) -> _Holding | None:
    """The row's effect on holdings, or None when a field it needs (date, side, quantity) is
    unusable; the row is reported already. An unknown ticker or a non-session date does not
    make a date unusable, so one bad buy does not make every later sell fail too."""
    day = _parse_date(values["trade_date"])
    if bad_fields & {None, "quantity", "side"} or day is None:
        return None
    ticker, side = normalize_ticker(values["ticker"]), values["side"].lower()
    return _Holding(line, values["portfolio"], day, ticker, side, float(values["quantity"]))


def _shares(number: float) -> str:
    """A share count without float noise: 150, 0.5, 12.3456."""
    return f"{number:.6f}".rstrip("0").rstrip(".")


def _holding_problems(holdings: list[_Holding], unknown: set[tuple[str, str]]) -> list[tuple[int, str, str]]:
    """Replay each portfolio in ``(trade_date, line)`` order; ``(line, field, message)`` for a
    sell larger than the holding (not applied) and a dividend on a ticker not held. Holdings
    in ``unknown`` ((portfolio, ticker) with an unusable row) are not checked."""
    problems = []
    held: dict[tuple[str, str], float] = {}
    for row in sorted(holdings, key=lambda h: (h.portfolio, h.trade_date, h.line)):
        key = (row.portfolio, row.ticker)
        if key in unknown:
            continue
        shares = held.get(key, 0.0)
        if row.side == "buy":
            held[key] = shares + row.quantity
        elif row.side == "sell":
            if row.quantity > shares + _TOLERANCE:
                problems.append((
                    row.line, "quantity",
                    f"sell of {_shares(row.quantity)} {row.ticker} on {row.trade_date} exceeds the "
                    f"{_shares(shares)} shares held",
                ))  # fmt: skip
            else:
                held[key] = max(shares - row.quantity, 0.0)
        elif shares <= _TOLERANCE:
            message = f"dividend on {row.ticker} on {row.trade_date}, but no {row.ticker} shares are held then"
            problems.append((row.line, "ticker", message))
    return problems


def normalized_transactions(frame: pl.DataFrame) -> pl.DataFrame:
    """The typed rows of a VALID frame (one :func:`validate_transactions` found no error in),
    parsed exactly as validation parsed them: ``source_line`` (Int64), ``portfolio``,
    ``trade_date`` (Date), ``ticker`` (upper case), ``side`` (lower case), ``quantity`` (shares),
    ``price`` (per share), ``fees`` (0 when empty), ``currency`` (upper case: the ticker's, ``USD`` or
    ``KRW``); numbers Float64.

    Raises:
        ValueError: a value does not parse (the frame was not valid).
    """
    text = {c: [(v or "").strip() for v in frame[c].to_list()] for c in COLUMNS}
    return pl.DataFrame(
        {
            SOURCE_LINE: frame[SOURCE_LINE].to_list(),
            "portfolio": text["portfolio"],
            "trade_date": [date.fromisoformat(v) for v in text["trade_date"]],
            "ticker": [normalize_ticker(v) for v in text["ticker"]],
            "side": [v.lower() for v in text["side"]],
            "quantity": [float(v) for v in text["quantity"]],
            "price": [float(v) for v in text["price"]],
            "fees": [float(v or 0) for v in text["fees"]],
            "currency": [v.upper() for v in text["currency"]],
        },
        schema={
            SOURCE_LINE: pl.Int64, "portfolio": pl.Utf8, "trade_date": pl.Date, "ticker": pl.Utf8, "side": pl.Utf8,
            "quantity": pl.Float64, "price": pl.Float64, "fees": pl.Float64, "currency": pl.Utf8,
        },  # fmt: skip
    )


def portfolios_in(frame: pl.DataFrame) -> set[str]:
    """The (trimmed, non-empty) portfolio names a frame from :func:`read_transactions` uses."""
    if "portfolio" not in frame.columns:
        return set()
    return {p.strip() for p in frame["portfolio"].drop_nulls().to_list() if p.strip()}
