-- pg_dump -Fc / pg_restore (default options) into a new database reproduces every row
-- of every pgmigrate table exactly, whatever the settings were when rows were written.
SET search_path = pgmigrate, public;
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pgm_restored;
DROP ROLE IF EXISTS pgm_writer1;
DROP ROLE IF EXISTS pgm_writer2;
RESET client_min_messages;
CREATE ROLE pgm_writer1;
CREATE ROLE pgm_writer2;
GRANT INSERT ON audit_log TO pgm_writer1, pgm_writer2;
GRANT INSERT, SELECT ON temporal_entities TO pgm_writer1;

-- Every row of every table and the state of every sequence in schema pgmigrate.
CREATE FUNCTION pgm_test.table_digests() RETURNS TABLE (tbl text, kind "char", n bigint, digest text)
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
              WHERE c.relnamespace = 'pgmigrate'::regnamespace AND c.relkind IN ('r', 'S') ORDER BY c.oid::regclass::text LOOP
        tbl := r.rel::text;
        kind := r.relkind;
        IF r.relkind = 'S' THEN
            EXECUTE format('SELECT 1::bigint, md5(last_value || '' '' || is_called) FROM %s', r.rel) INTO n, digest;
        ELSE
            EXECUTE format('SELECT count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s t', r.rel)
               INTO n, digest;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- Schema versions: v1 with a required field, then v2 adding a default (no backfill).
SELECT register_schema_version('r1', '{"entities": {"Doc": {"additional_fields": false, "fields": {
    "title": {"type": "string", "nullable": false},
    "old": {"type": "string", "deprecated": true}}}}}', activate => true) IS NOT NULL AS registered;
INSERT INTO temporal_entities (entity_id, entity_type, content) VALUES
    ('00000000-0000-0000-0000-00000000d001', 'Doc', '{"title": "enforced"}');
-- A current document written under warn breaks the schema; one under off too.
SET pg_migrate.validation = warn;
INSERT INTO temporal_entities (entity_id, entity_type, content) VALUES
    ('00000000-0000-0000-0000-00000000d002', 'Doc', '{"title": 42, "stray": true}');
SET pg_migrate.validation = off;
INSERT INTO temporal_entities (entity_id, entity_type, content) VALUES
    ('00000000-0000-0000-0000-00000000d003', 'Doc', '{}');
RESET pg_migrate.validation;
-- Deprecated usage, by a plain writer role too.
INSERT INTO temporal_entities (entity_type, content) VALUES ('Doc', '{"title": "t", "old": "o"}');
SET ROLE pgm_writer1;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Doc', '{"title": "w", "old": "o"}');
RESET ROLE;
-- History: a closed version.
INSERT INTO temporal_entities (entity_type, content, valid_from, valid_to) VALUES ('Doc', '{"title": 1}', '2020-01-01', '2021-01-01');
SELECT register_schema_version('r2', jsonb_deep_merge(active_schema_definition(),
    '{"entities": {"Doc": {"fields": {"lang": {"type": "string", "default": "en"}}}}}'), activate => true) IS NOT NULL AS registered;
-- Audit rows by several roles.
SET ROLE pgm_writer1;
INSERT INTO pgmigrate.audit_log (action, details) VALUES ('writer1.note', '{"n": 1}');
RESET ROLE;
SET ROLE pgm_writer2;
INSERT INTO pgmigrate.audit_log (action) VALUES ('writer2.note');
RESET ROLE;
-- A registered migration.
SELECT register_migration('{"name": "restore_me", "forward": ["SELECT 1"], "rollback": ["SELECT 2"]}') IS NOT NULL AS registered;

SELECT tbl, kind, n > 0 AS has_rows FROM pgm_test.table_digests() ORDER BY tbl;
SELECT entity_type, field_name, writes FROM deprecated_field_usage ORDER BY 1, 2;

CREATE DATABASE pgm_restored;
\! "$PGM_BINDIR/pg_dump" -h 127.0.0.1 -p "$PGM_PORT" -U postgres -Fc -f "$PGM_RESULTS/restore.dump" pg_migrate_regress
\! "$PGM_BINDIR/pg_restore" -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pgm_restored "$PGM_RESULTS/restore.dump"; echo "pg_restore exit status $?"
-- The rows of every table, compared: 0 differences.
\! q='SELECT * FROM pgm_test.table_digests() ORDER BY tbl'; for db in pg_migrate_regress pgm_restored; do "$PGM_BINDIR/psql" -X -At -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d $db -c "$q" > "$PGM_RESULTS/digests.$db"; done; echo "differences: $(diff "$PGM_RESULTS/digests.pg_migrate_regress" "$PGM_RESULTS/digests.pgm_restored" | grep -c '^[<>]')"; diff "$PGM_RESULTS/digests.pg_migrate_regress" "$PGM_RESULTS/digests.pgm_restored"

DROP DATABASE pgm_restored;
DELETE FROM temporal_entities;
DELETE FROM knowledge_migrations;
DELETE FROM schema_versions;
DELETE FROM deprecated_field_usage;
DROP FUNCTION pgm_test.table_digests();
REVOKE ALL ON audit_log, temporal_entities FROM pgm_writer1, pgm_writer2;
DROP ROLE pgm_writer1;
DROP ROLE pgm_writer2;
