"""The warehouse the pipelines write: DuckDB (embedded default) or PostgreSQL.

Asset code asks the ``warehouse`` resource (:class:`WarehouseResource`) for a
:class:`Warehouse` and does not know which backend it talks to:

* :meth:`Warehouse.replace_rows` — delete + insert several tables in ONE transaction
  (DuckDB: Arrow insert; PostgreSQL: ``COPY ... FROM STDIN``);
* :meth:`Warehouse.execute`, :meth:`Warehouse.fetch_frame` — SQL with ``?`` placeholders;
* :meth:`Warehouse.publish` — make the finished build visible to readers (DuckDB: the
  atomic snapshot file; PostgreSQL: ``meta.build_info``, since dbt swaps tables
  transactionally and readers never see a half-built table).

Table names are ``schema.table`` with the configured schema prefix (``table_name``).
"""

from pipelines.lib.warehouse.base import Replacement, Warehouse, table_name
from pipelines.lib.warehouse.resource import WarehouseResource

__all__ = ["Replacement", "Warehouse", "WarehouseResource", "table_name"]
