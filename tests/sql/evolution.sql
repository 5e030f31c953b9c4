-- add_field_backward_compatible, deprecate_field, backfill_field.
SET search_path = pgmigrate, public;

-- No active version: a clear error that says what to do.
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', 'plan', '{"type": "string"}')$$);
SELECT register_schema_version('1.0.0', '{"version": "1.0.0", "entities": {"User": {"fields": {"email": {"type": "string", "nullable": false}}}}}', activate => true) IS NOT NULL AS registered;

INSERT INTO temporal_entities (entity_id, entity_type, content) VALUES
  ('00000000-0000-0000-0000-00000000000a', 'User', '{"email": "a@example.com"}'),
  ('00000000-0000-0000-0000-00000000000b', 'User', '{"email": "b@example.com", "plan": "pro"}');
INSERT INTO temporal_entities (entity_id, entity_type, content, valid_from, valid_to) VALUES
  ('00000000-0000-0000-0000-00000000000a', 'User', '{"email": "old@example.com"}', '2020-01-01', '2021-01-01');
INSERT INTO temporal_entities (entity_id, entity_type, content, is_deleted) VALUES
  ('00000000-0000-0000-0000-00000000000c', 'User', '{"email": "gone@example.com"}', true);
-- A column-backed table for the entity, as the sketch has.
CREATE TABLE "entity_User" (id uuid PRIMARY KEY, email text);

-- A required field with a default: new version (MINOR bump), column added, current live documents filled.
SELECT add_field_backward_compatible('User', 'plan', '{"type": "string", "nullable": false}', '"free"') AS new_version;
SELECT content, valid_to = 'infinity' AS current, is_deleted FROM temporal_entities ORDER BY entity_id, valid_from;
SELECT column_name, data_type, column_default FROM information_schema.columns WHERE table_name = 'entity_User' ORDER BY ordinal_position;
SELECT version_number, is_active, backward_compatible_with, schema_definition->'version' AS version,
       schema_definition #> '{entities,User,fields,plan}' AS plan_field
  FROM schema_versions ORDER BY created_at;
SELECT migration_name, status, version, forward_script, rollback_script,
       execution_log->0->>'event' AS event, execution_log->0->'documents_filled' AS filled
  FROM knowledge_migrations;

-- Refusals leave everything as it was.
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', 'plan', '{"type": "string"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', 'tier', '{"type": "string", "nullable": false}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', 'tier', '"string"')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', 'tier', '{"type": "string", "nullable": "sometimes"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', repeat('x', 64), '{"type": "string"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', '', '{"type": "string"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible(NULL, 'x', '{"type": "string"}')$$);
SELECT count(*) AS versions, active_schema_version_number() FROM schema_versions;

-- Hostile names: quotes, spaces, unicode, SQL fragments, 63 bytes exactly.
SELECT add_field_backward_compatible('User', $$we"ird'; DROP TABLE x; --$$, '{"type": "string"}', '"ok"') AS new_version;
SELECT add_field_backward_compatible('User', 'ünïcödé fïeld', '{"type": "number"}', '0') AS new_version;
SELECT add_field_backward_compatible('User', repeat('y', 63), '{"type": "boolean"}', 'true') AS new_version;
SELECT column_name FROM information_schema.columns WHERE table_name = 'entity_User' ORDER BY ordinal_position;
SELECT jsonb_object_keys(content) AS keys FROM temporal_entities WHERE entity_id = '00000000-0000-0000-0000-00000000000a' AND valid_to = 'infinity';
SELECT add_field_backward_compatible($$Ord"er$$, 'total', '{"type": "number"}') AS new_entity_version;
-- An entity whose table name would pass 63 bytes never matches the truncated name's table.
SELECT format('CREATE TABLE %I (id int)', 'entity_' || repeat('L', 56)) \gexec
SELECT add_field_backward_compatible(repeat('L', 60), 'f', '{"type": "string"}') AS new_version;
SELECT count(*) AS columns_added FROM information_schema.columns WHERE table_name = 'entity_' || repeat('L', 56) AND column_name = 'f';
SELECT format('DROP TABLE %I', 'entity_' || repeat('L', 56)) \gexec

-- Non-semver versions follow the sketch's _patch suffix and never collide.
SELECT register_schema_version('v-next', active_schema_definition(), activate => true) IS NOT NULL AS registered;
SELECT register_schema_version('v-next_patch', '{"entities": {}}') IS NOT NULL AS taken;
SELECT add_field_backward_compatible('User', 'nickname', '{"type": "string"}') AS new_version;
SELECT add_field_backward_compatible('User', 'avatar', '{"type": "string"}') AS new_version;

-- deprecate_field: a new version marks it; documents using it are tagged once.
SELECT deprecate_field('User', 'plan', 'use tier', '3.0.0') AS new_version;
SELECT (schema_definition #> '{entities,User,fields,plan}') - 'deprecated_at' AS plan_field FROM schema_versions WHERE is_active;
SELECT entity_id, metadata FROM temporal_entities WHERE valid_to = 'infinity' ORDER BY entity_id;
SELECT deprecate_field('User', 'plan') AS same_version;
-- Running its forward script again lists the field once.
DO $$ BEGIN EXECUTE (SELECT forward_script FROM pgmigrate.knowledge_migrations WHERE migration_name LIKE 'deprecate:%'); END $$;
SELECT entity_id, metadata FROM temporal_entities WHERE valid_to = 'infinity' ORDER BY entity_id;
SELECT pgm_test.expect_error($$SELECT pgmigrate.deprecate_field('Nobody', 'plan')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.deprecate_field('User', 'nothing')$$);

-- backfill_field: committed batches with progress NOTICEs; a second run has nothing to do.
-- (New documents already get the default from the trigger.)
SELECT add_field_backward_compatible('User', 'score', '{"type": "number"}') AS new_version;
SELECT register_schema_version('batch', jsonb_deep_merge(active_schema_definition(), '{"entities": {"User": {"fields": {"score": {"default": 10}}}}}'), activate => true) IS NOT NULL AS default_added;
SET pg_migrate.deprecated_field_policy = off;
INSERT INTO temporal_entities (entity_type, content) SELECT 'User', jsonb_build_object('email', 'bulk' || i || '@example.com', 'plan', 'free') FROM generate_series(1, 5) i;
CALL backfill_field('User', 'score', 1);
CALL backfill_field('User', 'score', 1);
SELECT count(*) FILTER (WHERE content ? 'score') AS with_score, count(*) AS live FROM temporal_entities WHERE valid_to = 'infinity' AND NOT is_deleted;
RESET pg_migrate.deprecated_field_policy;
SELECT pgm_test.expect_error($$CALL pgmigrate.backfill_field('User', 'score', 0)$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.backfill_field('User', 'email')$$);

-- From a PL/pgSQL procedure, in one transaction: the trigger sees the new field at once.
CREATE PROCEDURE pg_temp.onboard_field() LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
    v := pgmigrate.add_field_backward_compatible('User', 'locale', '{"type": "string", "nullable": false}', '"en"');
    INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('User', '{"email": "proc@example.com", "plan": "x"}');
    RAISE NOTICE 'version %, new document %', v,
        (SELECT content->'locale' FROM pgmigrate.temporal_entities WHERE content->>'email' = 'proc@example.com');
END $$;
CALL pg_temp.onboard_field();

-- A rollback of the caller's transaction undoes everything.
SELECT count(*) AS versions_before, (SELECT count(*) FROM knowledge_migrations) AS migrations_before FROM schema_versions;
BEGIN;
SELECT add_field_backward_compatible('User', 'temporary', '{"type": "string"}', '"t"') AS new_version;
ROLLBACK;
SELECT count(*) AS versions_after, (SELECT count(*) FROM knowledge_migrations) AS migrations_after,
       (SELECT count(*) FROM temporal_entities WHERE content ? 'temporary') AS documents_touched,
       (SELECT count(*) FROM information_schema.columns WHERE table_name = 'entity_User' AND column_name = 'temporary') AS columns
  FROM schema_versions;
SELECT action, details->>'field' AS field FROM audit_log WHERE action LIKE 'field.%' ORDER BY audit_id;

DROP TABLE "entity_User";
DELETE FROM temporal_entities;
DELETE FROM knowledge_migrations;
DELETE FROM schema_versions;
DELETE FROM deprecated_field_usage;
