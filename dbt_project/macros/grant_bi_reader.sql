{#-
    on-run-end (PostgreSQL only): the read-only BI role.

    Creates the LOGIN role `bi_reader` (var `bi_reader_role`) if it is
    missing, without a password, and gives it exactly: CONNECT on this
    database, USAGE on <prefix>marts, SELECT on every table there, and SELECT
    on the tables this user creates there later (default privileges). It gets
    nothing on <prefix>raw, <prefix>staging or <prefix>intermediate; PUBLIC
    gets nothing on the layer schemas this user owns (CREATE included).

    The password (BI_READER_PASSWORD) is not set here: SQL that dbt sends
    carries its values in the statement text (psycopg2 binds client-side),
    so the secret would reach the server log. The build sets it afterwards
    from Python with only its SCRAM-SHA-256 verifier on the wire
    (domain.warehouse.postgres_backend.set_role_password, run by the
    serving/warehouse_snapshot asset).

    Roles are cluster-wide, grants are per database: the role is created only
    when missing (a concurrent creation by a run on another database is
    tolerated) and never dropped. Grants are re-applied on every run, each
    block in one transaction, so readers never see a gap while the marts are
    replaced. Schemas that do not exist yet are skipped.
-#}
{% macro grant_bi_reader() -%}
    {{ return(adapter.dispatch('grant_bi_reader', 'stock_warehouse')()) }}
{%- endmacro %}

{% macro default__grant_bi_reader() -%}
{%- endmacro %}

{% macro postgres__grant_bi_reader() -%}
    {%- set role_name = var('bi_reader_role', 'bi_reader') -%}
    {%- set prefix = schema_prefix() -%}
    {%- set tag = '$bi_reader$' -%}
    {%- if tag in role_name or tag in prefix -%}
        {%- do exceptions.raise_compiler_error('grant_bi_reader: ' ~ tag ~ ' is not allowed in the role name or schema prefix') -%}
    {%- endif -%}
    {%- set role_literal = "'" ~ role_name | replace("'", "''") ~ "'" -%}
    {%- set prefix_literal = prefix | replace("'", "''") -%}
do {{ tag }}
declare
    role_name constant text := {{ role_literal }};
begin
    if not exists (select from pg_catalog.pg_roles where rolname = role_name) then
        begin
            execute format('create role %I with login nosuperuser nocreatedb nocreaterole noreplication', role_name);
        exception when duplicate_object or unique_violation then
            null;  -- created at the same moment by a run on another database
        end;
    end if;
end
{{ tag }};

do {{ tag }}
declare
    role_name constant text := {{ role_literal }};
    marts_schema constant text := '{{ prefix_literal }}marts';
    layer_schema text;
begin
    execute format('grant connect on database %I to %I', current_database(), role_name);

    -- layer schemas owned by this user: PUBLIC gets nothing (no CREATE, no USAGE)
    for layer_schema in
        select nspname from pg_catalog.pg_namespace
        where nspname in ('{{ prefix_literal }}raw', '{{ prefix_literal }}staging', '{{ prefix_literal }}intermediate', marts_schema)
            and nspowner = (select oid from pg_catalog.pg_roles where rolname = current_user)
    loop
        execute format('revoke all on schema %I from public', layer_schema);
    end loop;

    -- nothing on the raw, staging and intermediate layers
    for layer_schema in
        select nspname from pg_catalog.pg_namespace
        where nspname in ('{{ prefix_literal }}raw', '{{ prefix_literal }}staging', '{{ prefix_literal }}intermediate')
    loop
        execute format('revoke all on all tables in schema %I from %I', layer_schema, role_name);
        execute format('revoke all on schema %I from %I', layer_schema, role_name);
    end loop;

    -- read-only on the marts, now and for the tables the next runs create
    if exists (select from pg_catalog.pg_namespace where nspname = marts_schema) then
        execute format('revoke all on schema %I from %I', marts_schema, role_name);
        execute format('grant usage on schema %I to %I', marts_schema, role_name);
        execute format('revoke all on all tables in schema %I from %I', marts_schema, role_name);
        execute format('grant select on all tables in schema %I to %I', marts_schema, role_name);
        execute format('alter default privileges in schema %I grant select on tables to %I', marts_schema, role_name);
    end if;
end
{{ tag }};
{%- endmacro %}


{#-
    Re-apply the same role and grants without a build (idempotent):
        dbt run-operation apply_bi_reader_grants --target postgres
-#}
{% macro apply_bi_reader_grants() -%}
    {%- set sql = grant_bi_reader() | trim -%}
    {%- if sql -%}
        {%- do run_query(sql) -%}
        {{ log("granted " ~ var('bi_reader_role', 'bi_reader') ~ " read access to " ~ schema_prefix() ~ "marts", info=true) }}
    {%- endif -%}
{%- endmacro %}
