"""The one warehouse access layer: the only product code that imports ``duckdb`` or ``psycopg``.

Writers (the pipelines) open a :class:`Warehouse` with :func:`connect` and do not know which
backend they talk to:

* :meth:`Warehouse.replace_rows` — delete + insert several tables in ONE transaction
  (DuckDB: Arrow insert; PostgreSQL: ``COPY ... FROM STDIN``);
* :meth:`Warehouse.execute`, :meth:`Warehouse.fetch_frame` — SQL with ``?`` placeholders;
* :meth:`Warehouse.publish` — make the finished build visible to readers (DuckDB: the
  atomic snapshot file; PostgreSQL: ``meta.build_info``, since dbt swaps tables
  transactionally and readers never see a half-built table).

Readers (the app) use :mod:`domain.warehouse.readers` (pandas frames, the DuckDB snapshot or
a ``psycopg_pool`` pool). Quoting, parameter style and collation live in
:mod:`domain.warehouse.sql`.
"""

from domain.warehouse.base import Replacement, Warehouse
from domain.warehouse.connect import connect, read_published
from domain.warehouse.sql import (
    Dialect,
    TableNames,
    quote_identifier,
    text_order,
    to_pyformat,
)

__all__ = [
    "Dialect",
    "Replacement",
    "TableNames",
    "Warehouse",
    "connect",
    "quote_identifier",
    "read_published",
    "text_order",
    "to_pyformat",
]
