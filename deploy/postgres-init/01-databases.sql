-- Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
-- The warehouse lives in POSTGRES_DB; Dagster's run/event/schedule storage in its own database.
create database dagster;
