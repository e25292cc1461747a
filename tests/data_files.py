"""The third-party data files tests read: materialised by ``make data`` from ``data/manifest.toml``
into ``data/sample/`` (fixtures under ``data/sample/fixtures/``), never committed.

Paths go through :func:`domain.datasets.bundled_path`, so a missing file fails with what to run
and where the file comes from, instead of a bare ``FileNotFoundError`` deep in a reader.
"""

from __future__ import annotations

from pathlib import Path

from domain.datasets import DEFAULT_TARGET, bundled_path

#: ``data/sample/`` and its test fixtures folder (paths only: use the functions to check them).
SAMPLE_DIR = DEFAULT_TARGET
SAMPLE_FIXTURES = SAMPLE_DIR / "fixtures"


def sample_file(relative: str) -> Path:
    """``data/sample/<relative>`` (a file, or a folder of manifest files).

    Raises:
        domain.datasets.MissingDataFileError: it (or a manifest file under it) is missing.
    """
    return bundled_path(relative)


def sample_fixture(relative: str) -> Path:
    """``data/sample/fixtures/<relative>`` (a file, or a folder such as ``yahoo``).

    Raises:
        domain.datasets.MissingDataFileError: it (or a manifest file under it) is missing.
    """
    return bundled_path(f"fixtures/{relative}")


#: The bundled KRX price file (2.4 M rows) and the tickers of the test suite's KRX cut: every
#: company of the bundled DART file, the Korean example portfolio's, and tickers with the file's
#: quirks (Samsung's split halt, its preferred shares (no industry), KR Motors' rounding, Sindoh Electric halted at the end, EcoPro BM
#: listed in 2019, a zero-price bar with volume).
KRX_PRICES = "krx/krx_daily_ohlcv_20180102_20220516.csv.gz"
KRX_QUIRK_TICKERS = ("005930", "005935", "000660", "035720", "000040", "007610", "247540", "033790")


def krx_cut(target: Path, tickers: tuple[str, ...] | None = None) -> Path:
    """Write the bundled KRX price file's rows of ``tickers`` (default: the DART companies, the
    Korean example portfolio's tickers and :data:`KRX_QUIRK_TICKERS`) to ``target`` as a gzip CSV
    of the same layout (at test time, never committed); returns ``target``. Written once: an
    existing ``target`` is kept."""
    import gzip

    import polars as pl

    if target.exists():
        return target
    if tickers is None:
        dart = pl.read_csv(sample_file("dart/dart_key_accounts_annual.csv"), schema_overrides={"stock_code": pl.Utf8})
        portfolio = Path(__file__).resolve().parents[1] / "data" / "portfolios" / "example_kr_core.csv"
        held = pl.read_csv(portfolio, schema_overrides={"ticker": pl.Utf8})["ticker"] if portfolio.exists() else []
        tickers = tuple(sorted({*dart["stock_code"], *held, *KRX_QUIRK_TICKERS}))
    frame = pl.read_csv(sample_file(KRX_PRICES), schema_overrides={"code": pl.Utf8}).filter(pl.col("code").is_in(tickers))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with gzip.open(partial, "wb") as handle:
        frame.write_csv(handle)
    partial.replace(target)
    return target


def krx_bars(tickers: tuple[str, ...]):
    """The bundled KRX file's rows of ``tickers`` as the price load reads them (the product's
    reader, :func:`pipelines.defs.prices.reader.read_krx_prices_csv`, and its halt flag): ``ticker``,
    ``market``, ``trade_date`` (Date), ``open, high, low, close`` (KRW), ``volume``, ``is_halted``."""
    import polars as pl

    from pipelines.defs.prices.reader import read_krx_prices_csv
    from pipelines.defs.prices.sources import halt_flag

    frame = read_krx_prices_csv(sample_file(KRX_PRICES)).filter(pl.col("ticker").is_in(tickers))
    return frame.with_columns(halt_flag()).drop("source_line")


#: The bundled US price file (S&P 500, 505 tickers, 2013-02-08..2018-02-07) and the tickers of
#: the test suite's US cut (49): AAPL and the tickers of the example US portfolio and alert rules,
#: tickers with gaps (BMY, DHR, ES, ORCL: no row on some sessions; at most two of them miss the
#: same session, so no session of the cut falls below the completeness gate), rows quarantined
#: for missing OHLC (BHF, DHR, ES, FTV, UA, WRK, REGN, VRTX), late starts (APTV's 44 bars to
#: INFO's 917: no or partial 200- and 252-bar windows), and tickers spread over the alphabet.
US_PRICES = "sp500_all_stocks_5yr.csv.gz"
US_CUT_TICKERS = (
    "AAPL", "AMZN", "GE", "GOOGL", "JNJ", "JPM", "MSFT", "NFLX", "NVDA", "XOM",
    "BMY", "DHR", "ES", "ORCL",
    "BHF", "FTV", "UA", "WRK", "REGN", "VRTX",
    "APTV", "DWDP", "BHGE", "DXC", "IQV", "COTY", "NWSA", "QRVO", "CFG", "SYF", "INFO",
    "A", "ALB", "ARNC", "BSX", "CL", "CTXS", "DVN", "EXPD", "HII", "IPG", "KR", "MAT", "MTD", "PNR", "ROK", "STT",
    "TWX", "XYL",
)  # fmt: skip


def us_cut(target: Path, tickers: tuple[str, ...] = US_CUT_TICKERS) -> Path:
    """Write the bundled US price file's lines of ``tickers`` (column ``Name``) to ``target`` as a
    gzip CSV, byte for byte as in the file (header first, file order; at test time, never
    committed); returns ``target``. Written once: an existing ``target`` is kept.

    Raises:
        ValueError: a ticker has no line in the file, or the file's last column is not ``Name``.
    """
    import gzip

    if target.exists():
        return target
    wanted = set(tickers)
    found: set[str] = set()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with gzip.open(sample_file(US_PRICES), "rt", newline="") as source, gzip.open(partial, "wt", newline="") as out:
        header = source.readline()
        if header.rstrip("\r\n").rsplit(",", 1)[-1] != "Name":
            raise ValueError(f"{US_PRICES}: last column is not Name: {header!r}")
        out.write(header)
        for line in source:
            name = line.rstrip("\r\n").rsplit(",", 1)[-1]
            if name in wanted:
                found.add(name)
                out.write(line)
    if wanted - found:
        partial.unlink()
        raise ValueError(f"{US_PRICES}: no rows of {sorted(wanted - found)}")
    partial.replace(target)
    return target
