"""The ``warehouse`` Dagster resource: a connection to the configured backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource

from pipelines.lib.settings import get_settings
from pipelines.lib.warehouse.base import Warehouse


class WarehouseResource(ConfigurableResource):
    """Opens the warehouse chosen by the settings (``WAREHOUSE_URL`` set: PostgreSQL,
    else the DuckDB file ``WAREHOUSE_PATH``), read when the run needs it."""

    @contextmanager
    def connect(self) -> Iterator[Warehouse]:
        """Yield an open :class:`Warehouse`; closed on exit."""
        settings = get_settings()
        if settings.postgres is not None:
            import psycopg

            from pipelines.lib.warehouse.postgres_backend import PostgresWarehouse

            with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as con:
                yield PostgresWarehouse(con)
        else:
            import duckdb

            from pipelines.lib.warehouse.duckdb_backend import DuckDBWarehouse

            settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(settings.warehouse_path), config={"custom_user_agent": "stock-warehouse"})
            try:
                yield DuckDBWarehouse(con, settings.warehouse_path)
            finally:
                con.close()
