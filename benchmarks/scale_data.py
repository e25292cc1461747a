"""A SYNTHETIC scale data set for benchmarks: the bundled S&P 500 price file grown to ~5,000 tickers x 20 years.

**Not market data.** Every row is derived from a real row of ``data/sample/sp500_all_stocks_5yr.csv.gz``
(619,040 rows, 505 tickers, 1,259 XNYS sessions 2013-02-08..2018-02-07) by the rules below; the result
exists only to measure the product at scale (about 25 M rows with the defaults) and must never be used,
shown or stored as prices. The tickers are ``SYN``-prefixed so they cannot be mistaken for real ones.

Output: the source's CSV format and column order, ``date,open,high,low,close,volume,Name`` (ISO date, prices
in USD rounded to 4 decimals, volume in shares as an integer, empty field for a missing value), so the
product reads it as ``PRICES_CSV``. Grain: one row per synthetic ticker and session. Rows are sorted by
(``Name``, ``date``) over the whole file (byte order of the names). Plain CSV, or gzip when ``--out`` ends
in ``.gz`` (deterministic: no timestamp or file name in the gzip header).

How the source is scaled:

- **Sessions**: ``blocks = ceil(years / 5)`` (the source covers 5 calendar years, so a block is one copy of
  its 1,259 sessions: 4 blocks for 20 years); the target sessions are the ``blocks x 1,259`` most recent
  XNYS sessions (``exchange_calendars``) on or before ``--end`` (default 2026-11-30: 5,036 sessions,
  2006-12-04..2026-11-30 for 20 years). A literal ``ceil(years x 252 / 1,259)`` would give 5 blocks for 20
  years (20 x 252 = 5,040 > 4 x 1,259 = 5,036), hence the calendar-year count.
- **Time**: each real ticker history is laid end to end ``blocks`` times. Real session ``i`` (0-based,
  counted over the whole source file from its first session 2013-02-08, so a late listing or a missing
  day keeps its offset) of block ``b`` is target session ``b x 1,259 + i``. Block ``b`` is multiplied by
  ``r^b``, ``r`` = the ticker's last close / its first close in the source, applied to open, high, low and
  close alike (volume unchanged): the first close of a block equals the last close of the previous
  block, so a series has no jump at block boundaries. (The factor compounds: a ticker that fell or rose a
  lot in 2013..2018 keeps doing so for 20 years, e.g. about 0.005 USD at the lowest and 1.6 M USD at the
  highest.)
- **Tickers**: ``copies`` copies of every source ticker (default 10: 5,050 tickers); copy ``c`` of
  ticker ``T`` is named ``SYN{c}{T}`` (``SYN3AAPL``, ``SYN0BRK.B``; upper-case letters and digits, at
  most one ``.`` before a share class, at most 16 characters). Copy 0 is the stitched series above.
  A copy ``c > 0`` multiplies open, high, low and close of a row by the same factor
  ``exp(cumsum(N(0, 0.002)))``, a random walk over the target sessions (one step per session, also over
  the sessions the ticker has no row) drawn from a generator seeded from (``--seed``, ``c``, ``T``), and
  its volume by a per-copy constant drawn uniformly from [0.5, 1.5] (seeded from (``--seed``, ``c``)),
  rounded to an integer. Output is deterministic for a given seed and arguments.
- **Rounding**: prices are rounded to 4 decimals after scaling. One positive factor per row keeps the
  row's real shape (low <= open, close <= high); on every row where that held in the source, low and
  high are clamped after rounding so it still holds exactly. The source's rows with missing open, high
  or low keep exactly those values missing, and its 12 rows that break the shape are left as they are.

Processing is per copy (all blocks of a copy, about 2.5 M rows) with polars, appended to the file copy
by copy (in name order), so peak memory stays around 1 GB for 25 M rows.

Usage: ``python benchmarks/scale_data.py --out /tmp/scale/prices_25m.csv [--copies 10] [--years 20]
[--seed 42] [--end 2026-11-30] [--source data/sample/sp500_all_stocks_5yr.csv.gz]``. Prints rows,
tickers, first and last date, file size and seconds.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import math
import re
import time
from datetime import date, timedelta
from pathlib import Path

import exchange_calendars as xc
import numpy as np
import polars as pl

SOURCE = Path(__file__).resolve().parents[1] / "data" / "sample" / "sp500_all_stocks_5yr.csv.gz"
DEFAULT_END = date(2026, 11, 30)
PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = ("date", *PRICE_COLUMNS, "volume", "Name")
SCHEMA = {
    "date": pl.Date,
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "volume": pl.Int64,
    "Name": pl.String,
}
NAME_PREFIX = "SYN"
MAX_TICKER_LENGTH = 16
TICKER_PATTERN = re.compile(r"^[A-Z0-9]+(\.[A-Z0-9]+)?$")
WALK_SIGMA = 0.002
VOLUME_FACTOR_RANGE = (0.5, 1.5)
PRICE_DECIMALS = 4


def synthetic_name(copy: int, ticker: str) -> str:
    """Copy ``copy`` of source ticker ``ticker``: ``SYN{copy}{ticker}``, checked against the ticker convention."""
    name = f"{NAME_PREFIX}{copy}{ticker}"
    if len(name) > MAX_TICKER_LENGTH or not TICKER_PATTERN.match(name):
        raise ValueError(f"synthetic ticker {name!r} is not upper-case letters/digits[.class] of <= 16 characters")
    return name


def block_count(years: int, source_years: int) -> int:
    """How many times the source history (``source_years`` calendar years) is laid end to end for ``years``."""
    if years < 1:
        raise ValueError("years must be at least 1")
    return math.ceil(years / source_years)


def target_sessions(count: int, end: date) -> list[date]:
    """The ``count`` most recent XNYS sessions on or before ``end``, oldest first."""
    # the calendar's default range starts about 20 years before today: ask for enough history
    start = end - timedelta(days=math.ceil(count / 240 * 366) + 30)
    calendar = xc.get_calendar("XNYS", start=start.isoformat(), end=end.isoformat())
    sessions = [session.date() for session in calendar.sessions if session.date() <= end]
    if len(sessions) < count:
        raise ValueError(f"only {len(sessions)} XNYS sessions in {start}..{end}, {count} needed")
    return sessions[-count:]


def _seed(*parts: object) -> int:
    """A 128-bit seed from ``parts`` (stable across processes, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:16], "big")


def _read_source(source: Path) -> tuple[pl.DataFrame, list[date]]:
    """The source rows with ``i`` (session index over the whole file) and ``shape_ok`` (low <= open,
    close <= high with low and high present), sorted by (Name, i); and the source's sessions."""
    real = pl.read_csv(source, schema=SCHEMA)
    if real.select(pl.struct("Name", "date").is_duplicated().any()).item():
        raise ValueError(f"{source}: more than one row for a ticker and date")
    if not real["Name"].str.contains(r"^[A-Z]").all():
        raise ValueError(f"{source}: every ticker must start with a letter (the output order relies on it)")
    real_dates = real["date"].unique().sort()
    index = pl.DataFrame({"date": real_dates, "i": pl.int_range(real_dates.len(), eager=True, dtype=pl.Int64)})
    shape_ok = (
        (pl.col("low") <= pl.min_horizontal("open", "close")) & (pl.col("high") >= pl.max_horizontal("open", "close"))
    ).fill_null(False)
    real = real.join(index, on="date").with_columns(shape_ok=shape_ok).sort("Name", "i")
    return real, real_dates.to_list()


def _stitched(real: pl.DataFrame, blocks: int, block_length: int, sessions: list[date]) -> pl.DataFrame:
    """All blocks of the source (sorted by Name, target session): target ``date``, ``position`` (target
    session index), ``ticker_index`` and the prices multiplied by the stitching factor ``r^b``."""
    ratio = real.group_by("Name").agg(
        r=pl.col("close").drop_nulls().last() / pl.col("close").drop_nulls().first(),
    )
    tickers = ratio["Name"].sort()
    real = real.join(ratio, on="Name").join(
        pl.DataFrame({"Name": tickers, "ticker_index": pl.int_range(tickers.len(), eager=True, dtype=pl.Int64)}),
        on="Name",
    )
    frames = [
        real.with_columns(
            [(pl.col(column) * pl.col("r").pow(block)).alias(column) for column in PRICE_COLUMNS],
            position=pl.col("i") + block * block_length,
        )
        for block in range(blocks)
    ]
    session_dates = pl.Series("date", sessions, dtype=pl.Date)
    return (
        pl.concat(frames)
        .sort("Name", "position")
        .with_columns(date=pl.lit(session_dates).gather(pl.col("position")))
        .select("date", *PRICE_COLUMNS, "volume", "Name", "shape_ok", "ticker_index", "position")
    )


def _walk_factors(seed: int, copy: int, tickers: list[str], session_count: int) -> np.ndarray:
    """``exp(cumsum(N(0, sigma)))`` over the target sessions, one row per ticker (in ``tickers`` order)."""
    walks = np.empty((len(tickers), session_count))
    for row, ticker in enumerate(tickers):
        steps = np.random.default_rng(_seed(seed, copy, ticker)).normal(0.0, WALK_SIGMA, session_count)
        walks[row] = np.exp(np.cumsum(steps))
    return walks


def _copy_frame(base: pl.DataFrame, copy: int, seed: int, tickers: list[str], session_count: int) -> pl.DataFrame:
    """Copy ``copy`` of the stitched ``base`` in the output columns (see the module docstring)."""
    if copy == 0:
        frame = base
    else:
        walks = _walk_factors(seed, copy, tickers, session_count)
        flat = base["ticker_index"].to_numpy() * session_count + base["position"].to_numpy()
        volume_factor = np.random.default_rng(_seed(seed, copy)).uniform(*VOLUME_FACTOR_RANGE)
        frame = base.with_columns(
            [(pl.col(column) * pl.Series(walks.ravel()[flat])).alias(column) for column in PRICE_COLUMNS],
            volume=(pl.col("volume") * volume_factor).round(0).cast(pl.Int64),
        )
    frame = frame.with_columns([pl.col(column).round(PRICE_DECIMALS) for column in PRICE_COLUMNS])
    # rounding each price of a row separately could in principle break low <= open, close <= high
    frame = frame.with_columns(
        low=pl.when("shape_ok").then(pl.min_horizontal("low", "open", "close")).otherwise("low"),
        high=pl.when("shape_ok").then(pl.max_horizontal("high", "open", "close")).otherwise("high"),
        Name=pl.lit(synthetic_name(copy, "")) + pl.col("Name"),
    )
    return frame.select(COLUMNS)


def generate(source: Path, out: Path, copies: int, years: int, seed: int, end: date) -> dict:
    """Write the SYNTHETIC scale file ``out`` from the real ``source`` (see the module docstring) and return
    its figures: ``rows``, ``tickers``, ``sessions``, ``blocks``, ``first_date``, ``last_date`` (ISO),
    ``bytes`` (file size) and ``seconds`` (wall time).

    Output columns: ``date`` (XNYS session, ISO), ``open``, ``high``, ``low``, ``close`` (USD, 4 decimals,
    empty where the source row's value is missing), ``volume`` (shares, integer), ``Name`` (synthetic
    ticker ``SYN{copy}{source ticker}``). Grain: one row per synthetic ticker and session; rows sorted by
    (``Name``, ``date``); ``copies x blocks x`` source rows in all.
    """
    started = time.perf_counter()
    if copies < 1:
        raise ValueError("copies must be at least 1")
    real, real_dates = _read_source(source)
    block_length = len(real_dates)
    source_years = max(1, round((real_dates[-1] - real_dates[0]).days / 365.25))
    blocks = block_count(years, source_years)
    sessions = target_sessions(blocks * block_length, end)
    tickers = real["Name"].unique().sort().to_list()
    for ticker in tickers:
        synthetic_name(copies - 1, ticker)  # fail before writing anything
    base = _stitched(real, blocks, block_length, sessions)
    del real

    # copy c's names are SYN{c}<letter>...: SYN10A.. sorts before SYN1A.., so copies go in the order of
    # str(c) followed by a letter to keep the whole file sorted by (Name, date)
    order = sorted(range(copies), key=lambda copy: f"{copy}A")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    rows = 0
    with partial.open("wb") as raw:
        handle = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if out.suffix == ".gz" else raw
        try:
            for number, copy in enumerate(order):
                frame = _copy_frame(base, copy, seed, tickers, len(sessions))
                frame.write_csv(handle, include_header=number == 0, float_scientific=False)
                rows += frame.height
                del frame
        finally:
            if handle is not raw:
                handle.close()
    partial.replace(out)
    return {
        "rows": rows,
        "tickers": len(tickers) * copies,
        "sessions": len(sessions),
        "blocks": blocks,
        "first_date": sessions[0].isoformat(),
        "last_date": sessions[-1].isoformat(),
        "bytes": out.stat().st_size,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output .csv or .csv.gz, outside the repository")
    parser.add_argument("--source", type=Path, default=SOURCE, help="real price file to scale (default: bundled)")
    parser.add_argument("--copies", type=int, default=10, help="copies of every source ticker (default 10)")
    parser.add_argument("--years", type=int, default=20, help="years of sessions, rounded up to 5 (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END, help="last session, ISO date")
    args = parser.parse_args()
    figures = generate(args.source, args.out, args.copies, args.years, args.seed, args.end)
    print(
        f"SYNTHETIC, for scale benchmarks only (not market data): {figures['rows']:,} rows, "
        f"{figures['tickers']:,} tickers, {figures['sessions']:,} sessions ({figures['blocks']} blocks), "
        f"{figures['first_date']}..{figures['last_date']}, {figures['bytes'] / 1e6:,.1f} MB, "
        f"{figures['seconds']:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
