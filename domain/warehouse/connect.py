"""Opening the configured warehouse: read-write for the pipelines, read-only for sensors.

Which backend is a matter of configuration (:attr:`domain.settings.Settings.backend`): the
PostgreSQL database of ``WAREHOUSE_URL``, else the DuckDB file ``WAREHOUSE_PATH``. Callers get
a :class:`~domain.warehouse.base.Warehouse` and do not know which one they talk to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.settings import PostgresConnection
from domain.warehouse.base import Warehouse
from domain.warehouse.sql import TableNames


@contextmanager
def _postgres(postgres: PostgresConnection, names: TableNames) -> Iterator[Warehouse]:
    from domain.warehouse.postgres_backend import PostgresWarehouse, connect_database

    with connect_database(postgres) as con:
        yield PostgresWarehouse(con, names)


@contextmanager
def connect(
    *,
    duckdb_path: Path,
    snapshot_path: Path | None,
    postgres: PostgresConnection | None,
    schema_prefix: str = "",
    duckdb_memory_limit: str | None = None,
) -> Iterator[Warehouse]:
    """Yield an open read-write :class:`Warehouse`: PostgreSQL when ``postgres`` is given, else
    the DuckDB file ``duckdb_path`` (publishing to ``snapshot_path``; DuckDB's ``memory_limit``
    ``duckdb_memory_limit``, e.g. ``6GB``, default DuckDB's 80 % of RAM); closed on exit.

    Raises:
        duckdb.IOException: another process writes the DuckDB file.
        psycopg.OperationalError: the PostgreSQL server cannot be reached.
    """
    names = TableNames(schema_prefix)
    if postgres is not None:
        with _postgres(postgres, names) as warehouse:
            yield warehouse
        return
    from domain.warehouse.duckdb_backend import DuckDBWarehouse, connect_file

    con = connect_file(Path(duckdb_path), memory_limit=duckdb_memory_limit)
    try:
        yield DuckDBWarehouse(con, names, snapshot_path=snapshot_path)
    finally:
        con.close()


@contextmanager
def read_published(
    *, snapshot_path: Path, postgres: PostgresConnection | None, schema_prefix: str = ""
) -> Iterator[Warehouse | None]:
    """A read-only view of the published warehouse: on DuckDB the snapshot file (attached
    read-only in a private instance; None when nothing is published yet), on PostgreSQL the live
    database. Never opens the DuckDB writer's file, so it never blocks a build's write lock."""
    names = TableNames(schema_prefix)
    if postgres is not None:
        with _postgres(postgres, names) as warehouse:
            yield warehouse
        return
    from domain.warehouse.duckdb_backend import DuckDBWarehouse, attach_read_only

    try:
        con = attach_read_only(Path(snapshot_path), catalog="published")
    except FileNotFoundError:
        yield None
        return
    try:
        yield DuckDBWarehouse(con, names)
    finally:
        con.close()
