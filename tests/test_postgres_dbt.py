"""The dbt project built on PostgreSQL: the same marts as on DuckDB, and the BI contract.

Fixtures (``tests/conftest.py``): ``built_warehouse`` is the DuckDB build of the bundled
data; ``built_postgres_warehouse`` is the same full build on PostgreSQL, with the
``conninfo`` of its fresh database, ``dbname`` and the ``schema_prefix`` of every schema.
That fixture skips these tests when no PostgreSQL server is reachable (fails under
``CI=true``).

Checked on PostgreSQL:

* every column of the marts equals the DuckDB build row for row (doubles within 1e-9,
  NULLs in the same rows) with the same column types (double precision, never numeric);
* the layers land in ``<prefix>raw``, ``<prefix>staging``, ``<prefix>intermediate``,
  ``<prefix>marts``;
* the marts carry their YAML descriptions as table and column comments;
* the screener, indicator-lookup and recursion indexes exist;
* the role ``bi_reader`` reads the marts and nothing else, cannot write or create
  anything, and re-applying its grants changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psycopg
import pytest
import yaml
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

TOLERANCE = 1e-9
MAX_REPORTED = 5
BI_ROLE = "bi_reader"
APP_ROLE = "app_reader"

# mart -> its grain (the join keys between the two builds; each model's YAML grain test)
MART_KEYS = {
    "fct_daily_indicators": ["ticker", "trade_date"],
    "mart_screener_latest": ["ticker"],
    "dim_companies": ["ticker"],
    "dim_markets": ["market"],
    "fct_daily_valuation": ["ticker", "trade_date"],
    "fct_krx_vendor_valuation": ["ticker", "trade_date"],
    "fct_index_daily": ["index_code", "trade_date"],
    "fct_portfolio_positions_daily": ["portfolio", "ticker", "trade_date"],
    "fct_portfolio_daily": ["portfolio", "trade_date"],
    "fct_benchmark_daily": ["benchmark_id", "currency", "trade_date"],
    "mart_portfolio_risk": ["portfolio"],
    "mart_portfolio_sector_allocation": ["portfolio", "trade_date", "sector"],
}

#: Marts of private user data: schema <prefix>portfolios, not the BI contract's marts.
PORTFOLIO_MARTS = {
    "fct_portfolio_positions_daily", "fct_portfolio_daily", "fct_benchmark_daily", "mart_portfolio_risk",
    "mart_portfolio_sector_allocation",
}  # fmt: skip
MARKET_MARTS = [mart for mart in MART_KEYS if mart not in PORTFOLIO_MARTS]


def _layer(mart: str) -> str:
    """The layer schema a mart lands in."""
    return "portfolios" if mart in PORTFOLIO_MARTS else "marts"


LAYER_RELATIONS = {
    "raw": ["prices_daily", "companies", "company_financials"],
    "staging": ["stg_prices__daily", "stg_companies__constituents", "stg_companies__financials"],
    "intermediate": [
        "int_price_rebuild_starts",
        "int_prices_daily_numbered",
        "int_daily_recursive_indicators",
    ],
    "marts": MARKET_MARTS,
    "portfolios": sorted(PORTFOLIO_MARTS),
}

# DuckDB type of a mart column -> the PostgreSQL types it may have
POSTGRES_TYPES = {
    "DOUBLE": {"double precision"},
    "BIGINT": {"bigint"},
    "INTEGER": {"integer"},
    "BOOLEAN": {"boolean"},
    "DATE": {"date"},
    "TIMESTAMP": {"timestamp without time zone"},
    "TIME": {"time without time zone"},
    "VARCHAR": {"character varying", "text"},
}


# --------------------------------------------------------------------------- helpers


def _schema(prefix: str, layer: str) -> str:
    return f"{prefix}{layer}"


def _pg_frame(conninfo: str, query: sql.Composable, params: list | None = None) -> pd.DataFrame:
    with psycopg.connect(conninfo) as conn:
        cursor = conn.execute(query, params)
        return pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])


def _select_all(schema: str, table: str, keys: list[str]) -> sql.Composed:
    return sql.SQL("select * from {}.{} order by {}").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, keys))
    )


def _comparable(values: pd.Series) -> list:
    """Non-NULL values as plain Python objects (dates as Timestamps, times of day as they are) for
    an exact comparison."""
    if pd.api.types.is_datetime64_any_dtype(values) or (len(values) and isinstance(values.iloc[0], date)):
        return list(pd.to_datetime(values))
    return values.astype(object).tolist()


def _differences(duck: pd.DataFrame, pg: pd.DataFrame, keys: list[str]) -> list[str]:
    """Human-readable differences between two frames sorted by the same keys."""
    duck = duck.sort_values(keys, ignore_index=True)
    pg = pg.sort_values(keys, ignore_index=True)
    found = []
    for key in keys:
        if _comparable(duck[key]) != _comparable(pg[key]):
            return [f"the builds have different {key} values (rows do not pair up)"]
    for column in duck.columns:
        if column in keys:
            continue
        duck_null = duck[column].isna().to_numpy()
        pg_null = pg[column].isna().to_numpy()
        if (duck_null != pg_null).any():
            rows = np.flatnonzero(duck_null != pg_null)
            found.append(
                f"{column}: NULL in different rows ({len(rows)}), e.g. "
                f"{duck.loc[rows[:MAX_REPORTED], keys].to_dict('records')}"
            )
            continue
        duck_values, pg_values = duck.loc[~duck_null, column], pg.loc[~pg_null, column]
        if pd.api.types.is_float_dtype(duck[column]):
            diff = np.abs(duck_values.to_numpy(dtype=float) - pg_values.to_numpy(dtype=float))
            over = np.flatnonzero(diff > TOLERANCE)
            if over.size:
                worst = duck_values.index[over[np.argsort(diff[over])[::-1][:MAX_REPORTED]]]
                found.append(
                    f"{column}: {over.size} rows differ by more than {TOLERANCE} (max {diff.max():.3g}), e.g. "
                    f"{duck.loc[worst, keys].to_dict('records')}"
                )
        elif _comparable(duck_values) != _comparable(pg_values):
            found.append(f"{column}: values differ")
    return found


def _relation_oid(conn: psycopg.Connection, schema: str, table: str) -> int:
    row = conn.execute(
        """
        select c.oid
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s
        """,
        [schema, table],
    ).fetchone()
    assert row is not None, f"{schema}.{table} does not exist"
    return row[0]


def _indexes(conn: psycopg.Connection, schema: str, table: str) -> set[tuple[tuple[str, ...], bool]]:
    """(indexed columns in order, unique) of every index of the table."""
    oid = _relation_oid(conn, schema, table)
    rows = conn.execute(
        """
        select array_agg(a.attname::text order by k.position), i.indisunique
        from pg_catalog.pg_index as i
        cross join lateral unnest(i.indkey) with ordinality as k (attnum, position)
        inner join pg_catalog.pg_attribute as a
            on a.attrelid = i.indrelid and a.attnum = k.attnum
        where i.indrelid = %s
        group by i.indexrelid, i.indisunique
        """,
        [oid],
    ).fetchall()
    return {(tuple(columns), unique) for columns, unique in rows}


def _yaml_docs(model: str) -> dict:
    """{'description': ..., 'columns': {name: description}} of a mart from its YAML file."""
    (path,) = (DBT_PROJECT_DIR / "models" / "marts").rglob(f"{model}.yml")
    (node,) = [m for m in yaml.safe_load(path.read_text())["models"] if m["name"] == model]
    return {
        "description": node["description"],
        "columns": {column["name"]: column.get("description", "") for column in node["columns"]},
    }


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def _privileges(conn: psycopg.Connection, prefix: str) -> list[tuple]:
    """Every ACL of the warehouse's schemas, relations and default privileges, and the database's."""
    schemas = [_schema(prefix, layer) for layer in LAYER_RELATIONS]
    return conn.execute(
        """
        select 'schema', n.nspname, '', n.nspacl::text
        from pg_catalog.pg_namespace as n
        where n.nspname = any(%(schemas)s)
        union all
        select 'relation', n.nspname, c.relname, c.relacl::text
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'p')
        union all
        select 'default', n.nspname, d.defaclobjtype::text, d.defaclacl::text
        from pg_catalog.pg_default_acl as d
        inner join pg_catalog.pg_namespace as n on n.oid = d.defaclnamespace
        where n.nspname = any(%(schemas)s)
        union all
        select 'database', datname, '', datacl::text
        from pg_catalog.pg_database
        where datname = current_database()
        order by 1, 2, 3
        """,
        {"schemas": schemas},
    ).fetchall()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pg(built_postgres_warehouse):
    return built_postgres_warehouse


@pytest.fixture(scope="module")
def duck(built_warehouse):
    connection = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def duck_marts(built_warehouse) -> str:
    """The DuckDB build's schema prefix (``<prefix>marts``, ``<prefix>portfolios``)."""
    return getattr(built_warehouse, "schema_prefix", "") or ""


@pytest.fixture(scope="module")
def pg_conn(pg):
    with psycopg.connect(pg.conninfo, autocommit=True) as connection:
        yield connection


def _role_conninfo(pg, role: str, password_variable: str) -> str:
    """The build's database as ``role`` (password from ``password_variable`` when set)."""
    params = conninfo_to_dict(pg.conninfo)
    params.pop("password", None)
    params["user"] = role
    if os.environ.get(password_variable):
        params["password"] = os.environ[password_variable]
    return make_conninfo(**params)


@pytest.fixture(scope="module")
def bi_reader_conninfo(pg) -> str:
    """The build's database, as bi_reader (password from BI_READER_PASSWORD when set)."""
    return _role_conninfo(pg, BI_ROLE, "BI_READER_PASSWORD")


@pytest.fixture
def bi_reader(bi_reader_conninfo):
    with psycopg.connect(bi_reader_conninfo, autocommit=True) as connection:
        yield connection


# --------------------------------------------------------------------------- (a) same results


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_mart_equals_the_duckdb_build_row_for_row(duck, duck_marts, pg, mart):
    keys = MART_KEYS[mart]
    duck_frame = duck.sql(
        f'select * from "{_schema(duck_marts, _layer(mart))}"."{mart}" order by {", ".join(keys)}'
    ).df()
    pg_frame = _pg_frame(pg.conninfo, _select_all(_schema(pg.schema_prefix, _layer(mart)), mart, keys))

    assert list(pg_frame.columns) == list(duck_frame.columns)
    assert len(pg_frame) == len(duck_frame) > 0
    # computed_at is when each build ran: it differs between any two builds by design
    stamps = [c for c in duck_frame.columns if c == "computed_at"]
    differences = _differences(duck_frame.drop(columns=stamps), pg_frame.drop(columns=stamps), keys)
    assert not differences, f"{mart} differs between PostgreSQL and DuckDB:\n" + "\n".join(differences)


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_mart_column_types_match_duckdb(duck, duck_marts, pg_conn, pg, mart):
    duck_types = dict(
        duck.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [_schema(duck_marts, _layer(mart)), mart],
        ).fetchall()
    )
    pg_types = dict(
        pg_conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            [_schema(pg.schema_prefix, _layer(mart)), mart],
        ).fetchall()
    )
    assert set(pg_types) == set(duck_types)
    wrong = {
        column: (duck_type, pg_types[column])
        for column, duck_type in duck_types.items()
        if pg_types[column] not in POSTGRES_TYPES.get(duck_type, {duck_type.lower()})
    }
    assert not wrong, f"(DuckDB type, PostgreSQL type) differ: {wrong}"


def test_layers_land_in_prefixed_schemas(pg_conn, pg):
    assert pg.schema_prefix, "the fixture must use a non-empty schema prefix"
    relations = set(
        pg_conn.execute(
            "select table_schema, table_name from information_schema.tables where table_schema like %s",
            [pg.schema_prefix.replace("_", r"\_") + "%"],
        ).fetchall()
    )
    expected = {
        (_schema(pg.schema_prefix, layer), name) for layer, names in LAYER_RELATIONS.items() for name in names
    }
    assert expected <= relations
    unprefixed = pg_conn.execute(
        "select nspname from pg_catalog.pg_namespace where nspname = any(%s)", [list(LAYER_RELATIONS)]
    ).fetchall()
    assert not unprefixed, f"schemas without the prefix were created: {unprefixed}"


# --------------------------------------------------------------------------- (b) comments


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_marts_carry_the_yaml_descriptions_as_comments(pg_conn, pg, mart):
    docs = _yaml_docs(mart)
    oid = _relation_oid(pg_conn, _schema(pg.schema_prefix, _layer(mart)), mart)
    (table_comment,) = pg_conn.execute("select obj_description(%s, 'pg_class')", [oid]).fetchone()
    column_comments = dict(
        pg_conn.execute(
            """
            select attname::text, col_description(attrelid, attnum)
            from pg_catalog.pg_attribute
            where attrelid = %s and attnum > 0 and not attisdropped
            """,
            [oid],
        ).fetchall()
    )

    assert _words(table_comment) == _words(docs["description"])
    undocumented = sorted(column for column, comment in column_comments.items() if not _words(comment))
    assert not undocumented, f"columns of {mart} without a comment: {undocumented}"
    wrong = sorted(
        column
        for column, description in docs["columns"].items()
        if _words(column_comments.get(column)) != _words(description)
    )
    assert not wrong, f"column comments of {mart} differ from the YAML: {wrong}"


def test_comment_examples(pg_conn, pg):
    """A few comments spelled out, so a broken YAML reader cannot make the test above vacuous."""
    oid = _relation_oid(pg_conn, _schema(pg.schema_prefix, "marts"), "mart_screener_latest")
    rows = dict(
        pg_conn.execute(
            "select attname::text, col_description(attrelid, attnum) from pg_catalog.pg_attribute "
            "where attrelid = %s and attname in ('ticker', 'rsi_overbought')",
            [oid],
        ).fetchall()
    )
    assert rows == {"ticker": "Exchange ticker symbol (primary key).", "rsi_overbought": "rsi_14 > 70."}
    (table_comment,) = pg_conn.execute("select obj_description(%s, 'pg_class')", [oid]).fetchone()
    assert table_comment.startswith("Stock screener: one row per ticker on its latest trade date")


# --------------------------------------------------------------------------- (c) indexes


@pytest.mark.parametrize(
    ("layer", "table", "index"),
    [
        ("marts", "fct_daily_indicators", (("ticker", "trade_date"), True)),
        ("marts", "mart_screener_latest", (("ticker",), True)),
        ("marts", "mart_screener_latest", (("sector",), False)),
        ("marts", "mart_screener_latest", (("market_cap",), False)),
        ("marts", "mart_screener_latest", (("rsi_14",), False)),
        ("intermediate", "int_prices_daily_numbered", (("ticker", "bar_number"), True)),
    ],
    ids=lambda value: "-".join(value[0]) if isinstance(value, tuple) else str(value),
)
def test_index_exists(pg_conn, pg, layer, table, index):
    indexes = _indexes(pg_conn, _schema(pg.schema_prefix, layer), table)
    assert index in indexes, f"{layer}.{table} has only {sorted(indexes)}"


def test_ticker_history_lookup_uses_the_index(pg_conn, pg):
    query = sql.SQL("explain select * from {}.fct_daily_indicators where ticker = 'AAPL' and trade_date >= date '2018-01-01'")
    plan = "\n".join(
        row[0] for row in pg_conn.execute(query.format(sql.Identifier(_schema(pg.schema_prefix, "marts"))))
    )
    assert "Index" in plan, plan


# --------------------------------------------------------------------------- (d) bi_reader


def test_bi_reader_is_a_plain_login_role(pg_conn):
    row = pg_conn.execute(
        "select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
        "from pg_catalog.pg_roles where rolname = %s",
        [BI_ROLE],
    ).fetchone()
    assert row == (True, False, False, False, False, False)


@pytest.mark.parametrize("mart", MARKET_MARTS)
def test_bi_reader_selects_the_marts(bi_reader, pg, mart):
    query = sql.SQL("select count(*) from {}.{}").format(
        sql.Identifier(_schema(pg.schema_prefix, "marts")), sql.Identifier(mart)
    )
    (rows,) = bi_reader.execute(query).fetchone()
    assert rows > 0


@pytest.mark.parametrize(
    "statement",
    [
        "insert into {marts}.dim_companies (ticker) values ('ZZZZ')",
        "update {marts}.mart_screener_latest set close = 0",
        "delete from {marts}.fct_daily_indicators where ticker = 'AAPL'",
        "truncate {marts}.dim_companies",
        "create table {marts}.bi_scratch (id integer)",
        "create view {marts}.bi_scratch as select 1 as id",
        "drop table {marts}.dim_companies",
        "alter table {marts}.mart_screener_latest add column note text",
    ],
)
def test_bi_reader_cannot_change_the_marts(bi_reader, pg, statement):
    marts = sql.Identifier(_schema(pg.schema_prefix, "marts"))
    with pytest.raises(errors.InsufficientPrivilege):
        bi_reader.execute(sql.SQL(statement).format(marts=marts))


@pytest.mark.parametrize(
    ("layer", "relation"),
    [
        ("raw", "prices_daily"),
        ("raw", "company_financials"),
        ("staging", "stg_prices__daily"),
        ("intermediate", "int_prices_daily_numbered"),
        ("intermediate", "int_daily_recursive_indicators"),
        ("portfolios", "fct_portfolio_daily"),  # private user data
        ("portfolios", "fct_portfolio_transactions"),
        ("alerts", "alert_events"),
        ("alerts", "alert_deliveries"),
    ],
)
def test_bi_reader_cannot_read_other_layers(bi_reader, pg, layer, relation):
    query = sql.SQL("select * from {}.{} limit 1").format(
        sql.Identifier(_schema(pg.schema_prefix, layer)), sql.Identifier(relation)
    )
    with pytest.raises(errors.InsufficientPrivilege):
        bi_reader.execute(query)


def test_bi_reader_reads_the_build_stamp(bi_reader, pg):
    query = sql.SQL("select run_id from {}.build_info").format(sql.Identifier(_schema(pg.schema_prefix, "meta")))
    assert bi_reader.execute(query).fetchone()[0]


@pytest.fixture
def app_reader(pg):
    """The build's database as the app's role app_reader (password from APP_READER_PASSWORD when set)."""
    with psycopg.connect(_role_conninfo(pg, APP_ROLE, "APP_READER_PASSWORD"), autocommit=True) as connection:
        yield connection


@pytest.mark.parametrize(
    ("layer", "relation"),
    [
        ("marts", "mart_screener_latest"),
        ("portfolios", "fct_portfolio_daily"),
        ("portfolios", "fct_portfolio_transactions"),
        ("portfolios", "fct_portfolio_rejected_rows"),
        ("alerts", "alert_events"),
        ("meta", "build_info"),
    ],
)
def test_app_reader_reads_what_the_app_shows(app_reader, pg, layer, relation):
    query = sql.SQL("select count(*) from {}.{}").format(
        sql.Identifier(_schema(pg.schema_prefix, layer)), sql.Identifier(relation)
    )
    assert app_reader.execute(query).fetchone()[0] >= (0 if relation == "fct_portfolio_rejected_rows" else 1)


@pytest.mark.parametrize(
    "statement",
    [
        "select * from {raw}.prices_daily limit 1",
        "select * from {raw}.rejected_portfolio_transactions limit 1",
        "delete from {portfolios}.fct_portfolio_daily",
        "create table {portfolios}.scratch (id integer)",
    ],
)
def test_app_reader_reads_only(app_reader, pg, statement):
    schemas = {layer: sql.Identifier(_schema(pg.schema_prefix, layer)) for layer in ("raw", "portfolios")}
    with pytest.raises(errors.InsufficientPrivilege):
        app_reader.execute(sql.SQL(statement).format(**schemas))


@pytest.mark.parametrize("layer", ["raw", "staging", "intermediate", "marts"])
def test_bi_reader_cannot_create_in_any_layer(bi_reader, pg, layer):
    query = sql.SQL("create table {}.bi_scratch (id integer)").format(
        sql.Identifier(_schema(pg.schema_prefix, layer))
    )
    with pytest.raises(errors.InsufficientPrivilege):
        bi_reader.execute(query)


def test_reapplying_the_bi_grants_changes_nothing(pg_conn, pg, bi_reader_conninfo, tmp_path):
    """The on-run-end grants run again (twice, as after later builds): same privileges, role kept.
    Run the way a DBA would, by hand with the checked-in ``profiles.yml`` and its variables (the
    pipelines render their own profile), so that profile is tested too."""
    params = conninfo_to_dict(pg.conninfo)
    env = {
        **os.environ,
        "WAREHOUSE_PG_HOST": params.get("host") or "localhost",
        "WAREHOUSE_PG_PORT": params.get("port") or "5432",
        "WAREHOUSE_PG_USER": params.get("user") or "postgres",
        "WAREHOUSE_PG_PASSWORD": params.get("password") or "",
        "WAREHOUSE_PG_DBNAME": pg.dbname,
        "WAREHOUSE_SCHEMA_PREFIX": pg.schema_prefix,
    }
    dbt = Path(sys.executable).with_name("dbt")
    before = _privileges(pg_conn, pg.schema_prefix)
    for _ in range(2):
        result = subprocess.run(
            [
                str(dbt) if dbt.exists() else "dbt",
                "run-operation",
                "apply_bi_reader_grants",
                "--target",
                "postgres",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _privileges(pg_conn, pg.schema_prefix) == before
    with psycopg.connect(bi_reader_conninfo) as reader:
        query = sql.SQL("select count(*) from {}.mart_screener_latest").format(
            sql.Identifier(_schema(pg.schema_prefix, "marts"))
        )
        assert reader.execute(query).fetchone()[0] > 0
