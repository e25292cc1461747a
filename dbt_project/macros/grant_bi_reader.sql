{#-
    on-run-end (PostgreSQL only): the read-only BI role.

    Creates the LOGIN role `bi_reader` (var `bi_reader_role`) if it is
    missing, with the password in env var BI_READER_PASSWORD when set (no
    password otherwise, for local trust authentication), and gives it
    exactly: CONNECT on this database, USAGE on <prefix>marts, SELECT on every
    table there, and SELECT on the tables this user creates there later
    (default privileges). It gets nothing on <prefix>raw, <prefix>staging or
    <prefix>intermediate; PUBLIC gets nothing on the layer schemas this user
    owns (CREATE included).

    Roles are cluster-wide, grants are per database: the role is created only
    when missing (a concurrent creation by a run on another database is
    tolerated), never dropped, and its password is only (re)set when the env
    var is set (the last run wins). Grants are re-applied on every run, each
    block in one transaction, so readers never see a gap while the marts are
    replaced. Schemas that do not exist yet are skipped.

    The password never appears in SQL text that dbt logs or writes to
    target/ (manifest, run results, compiled hooks): it is sent as a bound
    parameter into a session setting that the role block reads and the hook
    clears again.
-#}
{% macro grant_bi_reader() -%}
    {{ return(adapter.dispatch('grant_bi_reader', 'stock_warehouse')()) }}
{%- endmacro %}

{% macro default__grant_bi_reader() -%}
{%- endmacro %}

{% macro postgres__grant_bi_reader() -%}
    {%- set role_name = var('bi_reader_role', 'bi_reader') -%}
    {%- set prefix = schema_prefix() -%}
    {%- set password_setting = 'stock_warehouse.bi_reader_password' -%}
    {%- set tag = '$bi_reader$' -%}
    {%- if tag in role_name or tag in prefix -%}
        {%- do exceptions.raise_compiler_error('grant_bi_reader: ' ~ tag ~ ' is not allowed in the role name or schema prefix') -%}
    {%- endif -%}
    {%- set role_literal = "'" ~ role_name | replace("'", "''") ~ "'" -%}
    {%- set prefix_literal = prefix | replace("'", "''") -%}
    {%- if execute -%}
        {#- session setting, not committed with any transaction; bound, hence not logged -#}
        {%- do adapter.add_query(
            "select set_config('" ~ password_setting ~ "', %s, false)",
            auto_begin=false,
            bindings=[env_var('BI_READER_PASSWORD', '')]
        ) -%}
    {%- endif -%}
do {{ tag }}
declare
    role_name constant text := {{ role_literal }};
    role_password constant text := nullif(current_setting('{{ password_setting }}', true), '');
begin
    if not exists (select from pg_catalog.pg_roles where rolname = role_name) then
        begin
            execute format(
                'create role %I with login nosuperuser nocreatedb nocreaterole noreplication password %L',
                role_name, role_password
            );
        exception when duplicate_object or unique_violation then
            null;  -- created at the same moment by a run on another database
        end;
    elsif role_password is not null then
        begin
            execute format('alter role %I with password %L', role_name, role_password);
        exception when internal_error then
            -- "tuple concurrently updated": a run on another database set it at the same moment
            raise warning 'role % was being updated concurrently; password left as that run set it', role_name;
        end;
    end if;
end
{{ tag }};

select set_config('{{ password_setting }}', '', false);

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
