"""The Stock page's reads, cached per warehouse build (``st.cache_data``).

Every read is a function of :mod:`dashboards.queries.stock` called as
``reads(queries.price_history, ticker, start, end)``. Its result is kept in Streamlit's data cache
under the query's name, its arguments and the identity of the warehouse and build it came from
(:func:`build_key`): a new build (new ``meta.build_info`` row, hence a new published snapshot or
new PostgreSQL tables) gives new keys, so nothing is served from an older build. Results are
copies (``st.cache_data`` pickles them), so a page may modify what it gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboards.queries import stock as queries
from domain.warehouse.readers import Reader

#: Entries kept in the cache (all queries and tickers together); the oldest go first.
MAX_ENTRIES = 2000


def build_key(reader: Reader) -> str:
    """Identity of what ``reader`` reads: backend location, schema names and the current build
    (``run_id`` and ``built_at`` of ``meta.build_info``; empty when that table has no row).

    Raises:
        domain.warehouse.readers.WarehouseNotBuiltError: there is no build to read.
    """
    info = reader.build_info()
    build = f"{info.run_id}@{info.built_at.isoformat()}" if info is not None else "no-build-info"
    return f"{reader.describe()}|{reader.table('marts', 'mart_screener_latest')}|{build}"


@st.cache_data(show_spinner=False, max_entries=MAX_ENTRIES)
def _cached(query_name: str, key: str, args: tuple[Any, ...], _reader: Reader) -> Any:
    """``queries.<query_name>(_reader, *args)``; ``_reader`` is not part of the key (``key`` is)."""
    return getattr(queries, query_name)(_reader, *args)


class StockReads:
    """Cached reads of one page run: ``reads(query, *args)`` returns ``query(reader, *args)``.

    The build identity is read once, when the object is made (one small query), so every read
    of a page run comes from the same build key.
    """

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.key = build_key(reader)

    def __call__(self, query: Callable[..., Any], *args: Any) -> Any:
        """The result of ``query(reader, *args)``, from the cache when this build has it.

        Raises:
            ValueError: ``query`` is not a function of :mod:`dashboards.queries.stock`.
        """
        name = getattr(query, "__name__", "")
        if getattr(queries, name, None) is not query:
            raise ValueError(f"query must be a function of dashboards.queries.stock, got {query!r}")
        return _cached(name, self.key, tuple(args), _reader=self.reader)
