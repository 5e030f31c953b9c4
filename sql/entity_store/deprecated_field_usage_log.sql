-- Usage of deprecated fields: an append-only log, one row per (entity type, field) per
-- statement, written by the entity-store triggers as the owner. Nobody else may write it.
CREATE TABLE pgmigrate.deprecated_field_usage_log (
    entity_type text NOT NULL,
    field_name  text NOT NULL,
    writes      bigint NOT NULL CHECK (writes > 0),
    logged_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX deprecated_field_usage_log_field_idx ON pgmigrate.deprecated_field_usage_log (entity_type, field_name);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.deprecated_field_usage_log', '');
