"""Malformed price files stop ingestion with an error naming file, line and field."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.defs.prices.reader import latest_trade_date, read_prices_csv
from pipelines.lib.csv_files import MalformedFileError
from tests.data_files import sample_fixture

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
MISSING_OHLC = sample_fixture("sp500_rows_with_missing_ohlc.csv")


def _corrupt(tmp_path: Path, line_no: int, field: str, value: str) -> Path:
    lines = FIVE_TICKERS.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line_no - 1].split(",")
    cells[header.index(field)] = value
    lines[line_no - 1] = ",".join(cells)
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_real_file_typed():
    frame = read_prices_csv(FIVE_TICKERS)
    assert frame.height == 1385
    assert frame.columns == ["source_line", "ticker", "trade_date", "open", "high", "low", "close", "volume"]
    first = frame.row(0, named=True)
    assert first == {
        "source_line": 2,
        "ticker": "AAPL",
        "trade_date": date(2017, 1, 3),
        "open": 115.8,
        "high": 116.33,
        "low": 114.76,
        "close": 116.15,
        "volume": 28781865,
    }


def test_empty_fields_are_nulls_not_errors():
    frame = read_prices_csv(MISSING_OHLC)
    assert frame.height == 11
    assert frame["open"].null_count() == 11
    assert frame["high"].null_count() == 8
    assert frame["close"].null_count() == 0


def test_gzip_file(tmp_path):
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(gzip.compress(FIVE_TICKERS.read_bytes()))
    assert read_prices_csv(path).height == 1385
    assert latest_trade_date(path) == date(2018, 2, 7)


@pytest.mark.parametrize(
    ("line", "field", "value", "message"),
    [
        (40, "close", "12;5", "'12;5' is not a number"),
        (7, "open", "n.a.", "'n.a.' is not a number"),
        (57, "volume", "9223372036854775808", "'9223372036854775808' is not a whole number"),  # 2^63
        (58, "volume", "9007199254740993.0", "'9007199254740993.0' is not a whole number"),  # > 2^53, as a float
        (100, "date", "2017-13-01", "'2017-13-01' is not a date"),
        (101, "date", "03/01/2017", "'03/01/2017' is not a date"),
        (55, "volume", "1200.5", "'1200.5' is not a whole number"),
        (56, "date", "", "value is empty"),
    ],
)
def test_bad_value_names_file_line_and_field(tmp_path, line, field, value, message):
    path = _corrupt(tmp_path, line, field, value)
    with pytest.raises(MalformedFileError) as info:
        read_prices_csv(path)
    error = info.value
    assert (error.path, error.line, error.field) == (path, line, field)
    assert str(error).startswith(f"{path}, line {line}, field '{field}': ")
    assert message in str(error)


@pytest.mark.parametrize("token", ["null", "NULL", "NaN", "NA", "n/a", "None", ""])
def test_missing_value_tokens_are_nulls_for_validation_to_quarantine(tmp_path, token):
    """A row with ``null`` in a price is an incomplete row (quarantined by ``open_not_null``),
    exactly like an empty field, not a broken file."""
    frame = read_prices_csv(_corrupt(tmp_path, 7, "open", token))
    row = frame.filter(pl.col("source_line") == 7).row(0, named=True)
    assert row["open"] is None and row["close"] is not None
    assert frame.height == 1385


def test_large_volumes_are_exact_and_every_bad_line_is_named(tmp_path):
    path = _corrupt(tmp_path, 9, "volume", "9007199254740993")  # 2^53 + 1: exact as an integer
    assert read_prices_csv(path).filter(pl.col("source_line") == 9)["volume"][0] == 2**53 + 1
    lines = FIVE_TICKERS.read_text().splitlines()
    for number in range(3, 40):  # 37 bad closes
        fields = lines[number - 1].split(",")
        fields[4] = "twelve"
        lines[number - 1] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(MalformedFileError) as info:
        read_prices_csv(bad)
    text = str(info.value)
    assert text.startswith(f"{bad}, line 3, field 'close': 'twelve' is not a number (also line 4, field 'close'")
    assert "line 22, field 'close'" in text and "line 23, field" not in text
    assert text.endswith("and 17 more bad values)")


def test_missing_column(tmp_path):
    path = tmp_path / "prices.csv"
    lines = FIVE_TICKERS.read_text().splitlines()
    path.write_text("\n".join(",".join(line.split(",")[:4] + line.split(",")[5:]) for line in lines))
    with pytest.raises(MalformedFileError, match=r"line 1: missing column\(s\) \['close'\]") as info:
        read_prices_csv(path)
    assert "header found: date,open,high,low,volume,Name; header expected: date,Name,open,high,low,close,volume" in str(
        info.value
    )


def test_column_names_match_case_insensitively(tmp_path):
    """``Date,Open,…,NAME`` (another vendor's capitalisation) reads as the bundled layout; two
    columns that differ only in case are ambiguous, and the error says which."""
    lines = FIVE_TICKERS.read_text().splitlines()
    header = lines[0].split(",")
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([",".join(f" {h.upper()}" for h in header), *lines[1:]]) + "\n")
    assert read_prices_csv(path).equals(read_prices_csv(FIVE_TICKERS))
    path.write_text("\n".join([lines[0] + ",Close", *(line + ",1" for line in lines[1:])]) + "\n")
    assert read_prices_csv(path).equals(read_prices_csv(FIVE_TICKERS))  # the exact name wins
    path.write_text("\n".join([lines[0].replace("close", "Close") + ",CLOSE", *(line + ",1" for line in lines[1:])]))
    with pytest.raises(MalformedFileError, match=r"'close' matches \['Close', 'CLOSE'\]"):
        read_prices_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_prices_csv(tmp_path / "nope.csv")


def test_the_row_suite_in_ticker_chunks_splits_exactly_as_in_one_run(monkeypatch):
    """Real rows with missing values plus a conflicting duplicate and a weekend row, validated in
    chunks of about 300 rows (whole tickers, as the 25 M-row scale build does in 2 M-row chunks)
    and in one run: the same valid rows, the same rejected rows with the same reasons."""
    from pipelines.defs.prices import validation
    from pipelines.lib.sessions import is_session

    rows = pl.concat([read_prices_csv(sample_fixture("sp500_5tickers_2017-01_2018-02.csv")),
                      read_prices_csv(sample_fixture("sp500_rows_with_missing_ohlc.csv"))], how="vertical_relaxed")  # fmt: skip
    first = rows.row(0, named=True)
    weekend = {**first, "trade_date": date(2017, 7, 1)}
    conflicting = {**first, "close": first["close"] + 1}
    rows = pl.concat([rows, pl.DataFrame([weekend, conflicting], schema=rows.schema)])
    days = rows["trade_date"].drop_nulls().unique().to_list()
    sessions = [d for d in days if is_session(d)]

    whole = validation.split_valid_rejected(rows, sessions)
    monkeypatch.setattr(validation, "GE_CHUNK_ROWS", 300)
    assert len(list(validation.ticker_chunks(rows))) > 3
    chunked = validation.split_valid_rejected(rows, sessions)

    key = ["ticker", "trade_date", "source_line"]
    assert chunked.valid.sort(key).equals(whole.valid.sort(key))
    assert chunked.rejected.sort(key).equals(whole.rejected.sort(key))
    assert chunked.input_outcome == whole.input_outcome
    assert {"ticker_trade_date_unique", "trade_date_is_session"} <= set(whole.input_outcome.failed_rows_by_rule)
    assert whole.valid.height + whole.rejected.height == rows.height

    # each ticker's rows together (a file sorted by ticker): the chunks are slices, some with
    # nothing rejected, and the split is the same
    grouped = rows.sort("ticker", maintain_order=True)
    slices = list(validation.ticker_chunks(grouped))
    assert len(slices) > 3 and pl.concat(slices).equals(grouped)
    assert all(chunk["ticker"].n_unique() == chunk["ticker"].rle_id().max() + 1 for chunk in slices)
    by_slices = validation.split_valid_rejected(grouped, sessions)
    assert by_slices.valid.sort(key).equals(whole.valid.sort(key))
    assert by_slices.rejected.sort(key).equals(whole.rejected.sort(key))
    assert by_slices.input_outcome == whole.input_outcome


#: Fields a vendor file may hold, per column type: numbers in odd spellings, missing-value
#: tokens, padding, text, limits.
_TRICKY = {
    "open": ["1", "1.5", " 2.5", "2.5 ", "+3", "-4", "1e3", "1E-2", ".5", "5.", "nan", "NaN", "-nan", "inf", "-Infinity",
             "null", "N/A", "", " ", "abc", "1,5", "0x10", "1_000", "1.7976931348623157e309"],
    "volume": ["7", "+7", "-7", "7.0", "7.5", "1e3", " 8", "8 ", "", "NA", "None", "9223372036854775807",
               "9223372036854775808", "99999999999999999999", "0x10", "1_000", "٣"],
    "date": ["2017-01-03", " 2017-01-03", "2017-1-3", "2017/01/03", "03-01-2017", "20170103", "2017-01-03T00:00:00",
             "2017-01-03 00:00", "2017-02-30", "", "null", "+2017-01-03"],
    "Name": [" aapl ", "brk-b", "", "NA", "null", "Ä"],
}


@pytest.mark.parametrize("field", sorted(_TRICKY))
def test_the_fast_path_reads_every_field_as_the_text_path_or_leaves_the_file_to_it(tmp_path, field):
    """A well-formed file is parsed by polars while reading (:func:`_read_well_formed`): for any
    field value it must give the text path's frame, or hand the file to the text path."""
    from pipelines.defs.prices.reader import PRICE_FILE_COLUMNS
    from pipelines.lib.csv_files import _read_as_text, _read_well_formed

    fast_paths = 0
    for value in _TRICKY[field]:
        path = _corrupt(tmp_path, 3, field, f'"{value}"' if "," in value else value)
        fast = _read_well_formed(path, PRICE_FILE_COLUMNS)
        try:
            text = _read_as_text(path, PRICE_FILE_COLUMNS)
        except MalformedFileError:
            assert fast is None, f"{field}={value!r}: the text path rejects the file, the fast path read it"
            continue
        if fast is not None:
            fast_paths += 1
            assert fast.equals(text), f"{field}={value!r}: {fast.row(1)} != {text.row(1)}"
    assert fast_paths >= 2  # the plain spellings take the fast path


@pytest.mark.parametrize("rows", [[], [0], [4], [0, 1, 2], [1, 3], list(range(0, 200, 2)), list(range(200))])
def test_a_chunks_valid_rows_are_the_rows_between_the_rejected_ones(rows):
    """Few rejected rows: slices between them (no copy); many: a filtered copy; same rows either way."""
    from pipelines.defs.prices.validation import _without_rows

    chunk = pl.DataFrame({"ticker": ["A"] * 200, "v": list(range(200))}).slice(0, 200 if len(rows) > 5 else 5)
    kept = _without_rows(chunk, rows)
    assert kept["v"].to_list() == [v for v in range(chunk.height) if v not in set(rows)]
    assert kept.schema == chunk.schema
