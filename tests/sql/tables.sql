-- The tables' own rules, enforced by the database.
SET search_path = pgmigrate, public;

-- At most one active schema version.
INSERT INTO schema_versions (version_number, schema_definition, is_active) VALUES ('1.0.0', '{"entities": {}}', true);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, is_active)
                               VALUES ('2.0.0', '{"entities": {}}', true)$$);
INSERT INTO schema_versions (version_number, schema_definition) VALUES ('2.0.0', '{"entities": {}}');
SELECT pgm_test.expect_error($$UPDATE pgmigrate.schema_versions SET is_active = true WHERE version_number = '2.0.0'$$);
-- A published definition is never edited in place; flags may change.
SELECT pgm_test.expect_error($$UPDATE pgmigrate.schema_versions SET schema_definition = '{"entities": {"X": {}}}' WHERE version_number = '1.0.0'$$);
UPDATE schema_versions SET is_active = (version_number = '2.0.0');
SELECT version_number, is_active FROM schema_versions ORDER BY 1;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.schema_versions (version_number, schema_definition) VALUES ('3', '[]')$$);

-- Migration status and type are checked.
INSERT INTO knowledge_migrations (migration_name, version, forward_script) VALUES ('m1', '1', 'SELECT 1');
SELECT migration_type, status, priority, depends_on, execution_log, executed_by = current_user AS actor_is_role
  FROM knowledge_migrations;
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET status = 'DONE'$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script, migration_type) VALUES ('m2', '1', 'x', 'OTHER')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script) VALUES ('m1', '2', 'x')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.migration_execution_state (migration_id, step_number, step_name, step_status)
                               SELECT migration_id, 0, 's', 'WAITING' FROM pgmigrate.knowledge_migrations$$);

-- active_schema_version is a singleton row that cannot be removed; a restore's re-insert updates it.
SELECT id, current_schema_name, migration_in_progress FROM active_schema_version;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.active_schema_version (id) VALUES (2)$$);
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.active_schema_version$$);
SELECT pgm_test.expect_error($$TRUNCATE pgmigrate.active_schema_version$$);
INSERT INTO active_schema_version (id, current_schema_name) VALUES (1, 'migration_green');
SELECT id, current_schema_name FROM active_schema_version;
UPDATE active_schema_version SET current_schema_name = 'public';

-- The entity store: at most one current row per entity; history rows are fine.
INSERT INTO temporal_entities (entity_id, entity_type, content, valid_from, valid_to)
VALUES ('00000000-0000-0000-0000-000000000001', 'User', '{"name": "old"}', '2024-01-01', '2024-06-01'),
       ('00000000-0000-0000-0000-000000000001', 'User', '{"name": "new"}', '2024-06-01', 'infinity');
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
                               VALUES ('00000000-0000-0000-0000-000000000001', 'User', '{}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('User', '[]')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, valid_from, valid_to) VALUES ('User', '2024-02-01', '2024-01-01')$$);
SELECT content->>'name' AS name, valid_to = 'infinity' AS current, is_deleted FROM temporal_entities ORDER BY valid_from;
-- The current-row query uses the partial index.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM temporal_entities WHERE entity_id = '00000000-0000-0000-0000-000000000001' AND valid_to = 'infinity';
EXPLAIN (COSTS OFF) SELECT * FROM temporal_entities WHERE entity_type = 'User' AND valid_to = 'infinity' AND NOT is_deleted;
RESET enable_seqscan;
DELETE FROM temporal_entities;
DELETE FROM knowledge_migrations;
DELETE FROM schema_versions;
