{#-
    on-run-end (PostgreSQL only): the read-only roles.

    Creates the LOGIN roles `bi_reader` (var `bi_reader_role`) and `app_reader`
    (var `app_reader_role`) if they are missing, without a password, and gives
    them exactly (each block in one transaction, re-applied on every run, so
    readers never see a gap while the marts are replaced):

      bi_reader   (BI tools)   <prefix>marts (market data) and <prefix>meta
      app_reader  (the app)    <prefix>marts, <prefix>portfolios (private user
                               data), <prefix>alerts and <prefix>meta

    CONNECT on this database, USAGE and SELECT on every table of those schemas
    and SELECT on the tables this user creates there later (default
    privileges); nothing on the other layers (raw, staging, intermediate, and
    for bi_reader portfolios and alerts). PUBLIC gets nothing on the layer
    schemas this user owns (CREATE included). Schemas that do not exist yet
    are skipped: the build grants on alerts and meta again when it creates
    them (domain.warehouse.postgres_backend.grant_reader_schemas).

    The passwords (BI_READER_PASSWORD, APP_READER_PASSWORD) are not set here:
    SQL that dbt sends carries its values in the statement text (psycopg2
    binds client-side), so a secret would reach the server log. The build sets
    them afterwards from Python with only their SCRAM-SHA-256 verifiers on the
    wire (domain.warehouse.postgres_backend.set_role_password, run by the
    serving/warehouse_snapshot asset).

    Roles are cluster-wide, grants are per database: the roles are created
    only when missing (a concurrent creation by a run on another database is
    tolerated) and never dropped.
-#}
{% macro grant_bi_reader() -%}
    {{ return(adapter.dispatch('grant_bi_reader', 'stock_warehouse')()) }}
{%- endmacro %}

{% macro default__grant_bi_reader() -%}
{%- endmacro %}

{% macro postgres__grant_bi_reader() -%}
    {%- set bi_role = var('bi_reader_role', 'bi_reader') -%}
    {%- set app_role = var('app_reader_role', 'app_reader') -%}
    {%- set prefix = schema_prefix() -%}
    {%- set tag = '$bi_reader$' -%}
    {%- if tag in bi_role or tag in app_role or tag in prefix -%}
        {%- do exceptions.raise_compiler_error('grant_bi_reader: ' ~ tag ~ ' is not allowed in the role names or schema prefix') -%}
    {%- endif -%}
    {%- set bi_literal = "'" ~ bi_role | replace("'", "''") ~ "'" -%}
    {%- set app_literal = "'" ~ app_role | replace("'", "''") ~ "'" -%}
    {%- set p = prefix | replace("'", "''") -%}
do {{ tag }}
declare
    role_name text;
begin
    foreach role_name in array array[{{ bi_literal }}, {{ app_literal }}] loop
        if not exists (select from pg_catalog.pg_roles where rolname = role_name) then
            begin
                execute format('create role %I with login nosuperuser nocreatedb nocreaterole noreplication', role_name);
            exception when duplicate_object or unique_violation then
                null;  -- created at the same moment by a run on another database
            end;
        end if;
    end loop;
end
{{ tag }};

do {{ tag }}
declare
    layers constant text[] := array[
        '{{ p }}raw', '{{ p }}staging', '{{ p }}intermediate', '{{ p }}marts', '{{ p }}portfolios',
        '{{ p }}alerts', '{{ p }}meta'
    ];
    role_name text;
    readable text[];
    layer_schema text;
begin
    -- layer schemas owned by this user: PUBLIC gets nothing (no CREATE, no USAGE)
    for layer_schema in
        select nspname from pg_catalog.pg_namespace
        where nspname = any(layers) and nspowner = (select oid from pg_catalog.pg_roles where rolname = current_user)
    loop
        execute format('revoke all on schema %I from public', layer_schema);
    end loop;

    foreach role_name in array array[{{ bi_literal }}, {{ app_literal }}] loop
        -- BI: market data and the build stamp; the app: also the private user data and alerts
        readable := case
            when role_name = {{ bi_literal }} then array['{{ p }}marts', '{{ p }}meta']
            else array['{{ p }}marts', '{{ p }}portfolios', '{{ p }}alerts', '{{ p }}meta']
        end;
        execute format('grant connect on database %I to %I', current_database(), role_name);
        for layer_schema in select nspname from pg_catalog.pg_namespace where nspname = any(layers) loop
            execute format('revoke all on all tables in schema %I from %I', layer_schema, role_name);
            execute format('revoke all on schema %I from %I', layer_schema, role_name);
            if layer_schema = any(readable) then
                -- read-only, now and for the tables the next runs create
                execute format('grant usage on schema %I to %I', layer_schema, role_name);
                execute format('grant select on all tables in schema %I to %I', layer_schema, role_name);
                execute format('alter default privileges in schema %I grant select on tables to %I', layer_schema, role_name);
            else
                execute format('alter default privileges in schema %I revoke select on tables from %I', layer_schema, role_name);
            end if;
        end loop;
    end loop;
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
        {{ log("granted " ~ var('bi_reader_role', 'bi_reader') ~ " and " ~ var('app_reader_role', 'app_reader') ~ " their read access (prefix '" ~ schema_prefix() ~ "')", info=true) }}
    {%- endif -%}
{%- endmacro %}
