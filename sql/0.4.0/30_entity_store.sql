-- Entity store: deprecated-field usage, validation when a row becomes current, restore.

-- Is the running statement a restore (COPY FROM by a role with the owner's privileges)
-- into rel? Triggers use it to keep restored rows verbatim. It only reads.
CREATE OR REPLACE FUNCTION pgmigrate.restoring_copy(rel regclass) RETURNS boolean STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'restoring_copy_wrapper';

-- (audit_log_stamp, which keeps restored rows verbatim, is in 10_registry_security.sql.)

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

-- Counts written by earlier versions move to the log, then the counter table goes.
INSERT INTO pgmigrate.deprecated_field_usage_log (entity_type, field_name, writes, logged_at)
SELECT entity_type, field_name, writes, coalesce(last_seen, clock_timestamp())
  FROM pgmigrate.deprecated_field_usage WHERE writes > 0;
DROP FUNCTION IF EXISTS pgmigrate.record_deprecated_use(text, text[]);
DROP TABLE pgmigrate.deprecated_field_usage;

CREATE VIEW pgmigrate.deprecated_field_usage AS
SELECT entity_type, field_name, sum(writes)::bigint AS writes, max(logged_at) AS last_seen
  FROM pgmigrate.deprecated_field_usage_log
 GROUP BY entity_type, field_name;
GRANT SELECT ON pgmigrate.deprecated_field_usage TO PUBLIC;

-- Resetting a field's count (DELETE FROM the view) is for roles that may delete from the log.
CREATE FUNCTION pgmigrate.deprecated_field_usage_reset() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM pgmigrate.deprecated_field_usage_log l
     WHERE l.entity_type = OLD.entity_type AND l.field_name = OLD.field_name;
    RETURN OLD;
END $$;
CREATE TRIGGER deprecated_field_usage_reset INSTEAD OF DELETE ON pgmigrate.deprecated_field_usage
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.deprecated_field_usage_reset();

CREATE OR REPLACE FUNCTION pgmigrate.temporal_entities_usage() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'temporal_entities_usage_wrapper';
CREATE TRIGGER temporal_entities_usage AFTER INSERT OR UPDATE ON pgmigrate.temporal_entities
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.temporal_entities_usage();

-- Trigger functions fire without an EXECUTE check; revoking it keeps anyone from
-- attaching them to tables of their own.
REVOKE EXECUTE ON FUNCTION pgmigrate.temporal_entities_evolve(), pgmigrate.temporal_entities_usage(),
    pgmigrate.schema_versions_changed(), pgmigrate.deprecated_field_usage_reset() FROM PUBLIC;
