"""A SYNTHETIC price file for scale benchmarks: the bundled S&P 500 file scaled about 50 times.

Not market data: every row is derived from a real row of ``sp500_all_stocks_5yr.csv.gz``
(505 tickers x 1,259 sessions, 2013-02-08..2018-02-07) and must never be used as prices.
Output columns and format are the bundled file's (``date,open,high,low,close,volume,Name``,
USD, shares), so the product reads it as ``PRICES_CSV``. Grain: one row per ticker and
session. How it is scaled:

- **Time**: each ticker's real history is laid end to end ``blocks`` times (4 blocks of 1,259
  sessions = 5,036 sessions, 20 years, for ``--years 20``), on the last ``blocks x 1,259`` XNYS
  sessions up to ``--end`` (``exchange-calendars``): real session ``i`` of block ``b`` is target
  session ``b x 1,259 + i``. The 35 tickers whose real history does not span all 1,259 sessions
  (late listings, delistings) appear in the last block only, as a listing late in the 20 years
  (laid end to end they would leave gaps that the completeness gate rightly fails). Block
  ``b`` is multiplied by ``r^b`` (``r`` = the ticker's last close / first close, clipped to
  [0.5, 2] so prices stay in a realistic range), so a block starts where the previous ended
  (a clipped ticker jumps at the block boundary).
- **Tickers**: ``copies`` copies of every ticker (default 10: 5,050 tickers; 23.9 M rows for 20 years); copy 0 keeps the
  real name, copy ``c`` is named ``<ticker><c>`` (``AAPL3``). Copies ``c > 0`` get a
  multiplicative random walk ``exp(cumsum(N(0, 0.002)))`` per ticker over the target sessions,
  applied to open, high, low and close of a row alike (so each row keeps its real
  low <= open, close <= high shape), and their volume is multiplied by a per-copy constant in
  [0.5, 1.5]. Deterministic for a ``--seed``.
- Prices are rounded to 6 decimals; the real file's rows with missing values stay missing.

Usage: ``python benchmarks/scale_prices.py --out /tmp/prices_25m.csv [--copies 10] [--years 20]
[--seed 42] [--end 2026-11-30]``. Prints rows, tickers, first and last date, size and seconds.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import exchange_calendars as xc
import numpy as np
import polars as pl

SOURCE = Path(__file__).resolve().parents[1] / "data" / "sample" / "sp500_all_stocks_5yr.csv.gz"
REAL_SESSIONS = 1259
PRICE_COLUMNS = ("open", "high", "low", "close")


def target_sessions(blocks: int, end: date) -> list[date]:
    """The last ``blocks x 1,259`` XNYS sessions on or before ``end``."""
    calendar = xc.get_calendar("XNYS", start="1990-01-02", end=f"{end.year + 1}-12-31")
    sessions = [s.date() for s in calendar.sessions if s.date() <= end]
    return sessions[-blocks * REAL_SESSIONS :]


def generate(source: Path, out: Path, copies: int, years: int, seed: int, end: date) -> dict:
    """Write the synthetic file ``out`` (see the module docstring) and return its figures:
    ``rows, tickers, first_date, last_date, bytes, seconds``."""
    started = time.perf_counter()
    real = pl.read_csv(source, schema_overrides={"volume": pl.Float64})
    real_dates = sorted(real["date"].unique().to_list())
    assert len(real_dates) == REAL_SESSIONS, f"{source}: expected {REAL_SESSIONS} sessions"
    blocks = max(1, round(years * 252 / REAL_SESSIONS))
    sessions = pl.Series("trade_date", target_sessions(blocks, end))
    real = real.join(pl.DataFrame({"date": real_dates, "i": range(REAL_SESSIONS)}), on="date").sort("Name", "i")
    ratio = real.group_by("Name").agg(
        (pl.col("close").drop_nulls().last() / pl.col("close").drop_nulls().first()).clip(0.5, 2.0).alias("r")
    )
    real = real.join(ratio, on="Name").with_columns(complete=pl.len().over("Name") == REAL_SESSIONS)
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with out.open("wb") as handle:
        for copy in range(copies):
            frames = []
            for block in range(blocks):
                rows_of_block = real if block == blocks - 1 else real.filter(pl.col("complete"))
                frames.append(
                    rows_of_block.with_columns(
                        position=pl.col("i") + block * REAL_SESSIONS,
                        factor=pl.col("r").pow(block),
                    )
                )
            frame = pl.concat(frames).sort("Name", "position")
            if copy:
                steps = rng.normal(0.0, 0.002, frame.height)
                frame = frame.with_columns(walk=pl.Series(steps)).with_columns(
                    factor=pl.col("factor") * pl.col("walk").cum_sum().over("Name").exp(),
                    volume=(pl.col("volume") * rng.uniform(0.5, 1.5)).round(0),
                    Name=pl.col("Name") + str(copy),
                )
            frame = frame.with_columns(
                [(pl.col(c) * pl.col("factor")).round(6).alias(c) for c in PRICE_COLUMNS],
                date=sessions.gather(frame["position"]),
                volume=pl.col("volume").cast(pl.Int64),
            ).select("date", *PRICE_COLUMNS, "volume", "Name")
            frame.write_csv(handle, include_header=copy == 0)
            rows += frame.height
    return {
        "rows": rows,
        "tickers": real["Name"].n_unique() * copies,
        "first_date": str(sessions[0]),
        "last_date": str(sessions[-1]),
        "bytes": out.stat().st_size,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output .csv (not inside the repository)")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 30))
    args = parser.parse_args()
    figures = generate(args.source, args.out, args.copies, args.years, args.seed, args.end)
    print(
        f"SYNTHETIC (scale benchmarks only): {figures['rows']:,} rows, {figures['tickers']:,} tickers, "
        f"{figures['first_date']}..{figures['last_date']}, {figures['bytes'] / 1e9:.2f} GB, "
        f"{figures['seconds']:.0f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
