"""Upload / edit form for portfolio transaction files (Portfolio page).

Files are written into ``PORTFOLIOS_DIR`` only after they pass the same validation the pipeline
applies (:mod:`domain.portfolios.transactions`: known ticker, a session of the ticker's exchange
within its price history, one currency per portfolio, no selling more than held, ...), atomically, so the
``portfolio_files_sensor`` never reads a half-written file. A file with errors is not written;
the errors are listed with their line and field. The reference price history is read from the
app's warehouse (``marts.fct_daily_indicators``).

"Save as" is filled in from each newly uploaded file's name, made a valid file name
(:func:`suggested_file_name`); the user may change it, and an emptied field gets its own error.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import PurePath

import pandas as pd
import streamlit as st

from dashboards.lib import context, tables
from dashboards.lib import formatting as fmt
from dashboards.queries import portfolio
from domain.portfolios import store, transactions
from domain.warehouse.readers import Reader

KEY_UPLOAD = "portfolio_upload"
KEY_UPLOAD_NAME = "portfolio_upload_name"
KEY_UPLOAD_SEEN = "_portfolio_upload_seen"  # file_id of the upload "Save as" was filled from
KEY_EDITOR = "portfolio_editor"
FALLBACK_STEM = "portfolio"
_STEM_LIMIT = 100  # transactions.FILE_NAME_PATTERN: 1 to 100 characters before ".csv"


def suggested_file_name(upload_name: str) -> str:
    """A file name :data:`~domain.portfolios.transactions.FILE_NAME_PATTERN` accepts, made from
    an uploaded file's name: folders and the extension dropped, accents removed
    (``Café`` -> ``Cafe``), every run of other characters than letters, digits, ``_`` and ``-``
    replaced by ``_``, leading/trailing ``_``/``-`` trimmed, at most 100 characters, then
    ``.csv``; ``portfolio.csv`` when nothing is left. E.g. ``My Portfolio (2024).CSV`` ->
    ``My_Portfolio_2024.csv``."""
    stem = PurePath(upload_name.replace("\\", "/")).stem if upload_name else ""
    unaccented = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", unaccented).strip("_-")[:_STEM_LIMIT].rstrip("_-")
    return f"{cleaned or FALLBACK_STEM}.csv"


def _history(reader: Reader) -> transactions.PriceHistory:
    return transactions.PriceHistory.from_frame(
        portfolio.price_history_bounds(reader),
        transactions.day_range_lookup(lambda ticker: portfolio.day_ranges(reader, ticker).itertuples(index=False)),
    )


def _save(reader: Reader, file_name: str, data: bytes) -> None:
    """Validate and write ``data`` as ``PORTFOLIOS_DIR/file_name``; report the outcome."""
    if not file_name:
        st.error("Save as: enter a file name: letters, digits, '_' or '-' ending in .csv (e.g. my_portfolio.csv).")
        return
    try:
        written = store.write_portfolio_file(context.settings().portfolios_dir, file_name, data, _history(reader))
    except transactions.PortfolioFileError as exc:
        st.error(f"{file_name} was not saved: {fmt.counted(len(exc.errors), 'error')}.")
        st.dataframe(
            pd.DataFrame([{"line": e.line, "field": e.field, "error": str(e)} for e in exc.errors]),
            placeholder=tables.EMPTY_CELL,
            hide_index=True,
            key=f"errors_{file_name}",
        )
        return
    except ValueError as exc:  # the file name
        st.error(str(exc))
        return
    st.success(
        f"Saved {written.name} in {written.parent}. The portfolio_files_sensor rebuilds the portfolio marts "
        "within a minute when the Dagster daemon runs (or run `make build`)."
    )


def _frame_to_csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def render(reader: Reader, name: str | None, source_file: str | None) -> None:
    """The form: upload a new file, or edit the rows of ``source_file`` (the file of portfolio
    ``name``) in a table and save it back."""
    with st.expander("Upload or edit transactions", expanded=name is None):
        st.caption(
            "Columns: portfolio, trade_date (YYYY-MM-DD), ticker, side (buy, sell or dividend), quantity, "
            "price (per share in the currency of the ticker's market; dividend per share for dividends), fees, "
            "currency (USD or KRW: the ticker's market's, one per portfolio)."
        )
        upload_tab, edit_tab = st.tabs(["Upload a CSV file", f"Edit {source_file or 'a file'}"])
        with upload_tab:
            uploaded = st.file_uploader("Transactions CSV", type=["csv"], key=KEY_UPLOAD)
            if uploaded is not None and st.session_state.get(KEY_UPLOAD_SEEN) != uploaded.file_id:
                st.session_state[KEY_UPLOAD_SEEN] = uploaded.file_id  # a new upload: suggest its name once
                st.session_state[KEY_UPLOAD_NAME] = suggested_file_name(uploaded.name)
            file_name = st.text_input(
                "Save as", key=KEY_UPLOAD_NAME, placeholder="my_portfolio.csv",
                help="letters, digits, '_' or '-', ending in .csv; an existing file of that name is replaced",
            )  # fmt: skip
            if st.button("Validate and save", key="portfolio_upload_save", disabled=uploaded is None):
                _save(reader, file_name.strip(), uploaded.getvalue())
        with edit_tab:
            if source_file is None:
                st.info("Upload a file first.")
                return
            path = context.settings().portfolios_dir / source_file
            if not path.exists():
                st.info(f"{source_file} is no longer in {path.parent}.")
                return
            current = pd.read_csv(path, dtype=str, keep_default_na=False)
            edited = st.data_editor(current, num_rows="dynamic", key=KEY_EDITOR, hide_index=True)
            if st.button("Validate and save changes", key="portfolio_edit_save"):
                _save(reader, source_file, _frame_to_csv(edited))
