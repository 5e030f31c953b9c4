-- Version registry and compatibility modes.
SET search_path = pgmigrate, public;

-- check_schema_compatibility: every kind of change, with its directions, under each mode.
CREATE TEMP TABLE v1 AS SELECT '{"entities": {
  "User": {"fields": {"id": {"type": "integer", "nullable": false}, "email": {"type": "string", "nullable": true},
                      "score": {"type": "bigint"}, "nick": {"type": "string", "nullable": false},
                      "bio": {"type": "string"}, "status": {"type": "string", "enum": ["active", "banned"]},
                      "plan": {"type": "string", "default": "free"}}},
  "Legacy": {"fields": {}}}}'::jsonb AS s;
CREATE TEMP TABLE v2 AS SELECT '{"entities": {
  "User": {"fields": {"id": {"type": "bigint", "nullable": false}, "email": {"type": "string", "nullable": false},
                      "score": {"type": "integer"}, "tags": {"type": "array"},
                      "tenant": {"type": "uuid", "nullable": false}, "region": {"type": "string", "nullable": false, "default": "eu"},
                      "status": {"type": "string", "enum": ["active", "suspended"]},
                      "plan": {"type": "string", "default": "basic"}, "bio": {"type": "uuid"}}},
  "Audit": {"fields": {}}}}'::jsonb AS s;
SELECT c->>'kind' AS kind, c->>'entity' AS entity, c->>'field' AS field, c->'backward' AS backward, c->'forward' AS forward, c->>'detail' AS detail
  FROM jsonb_array_elements(check_schema_compatibility((SELECT s FROM v1), (SELECT s FROM v2))->'changes') c;
SELECT m, check_schema_compatibility((SELECT s FROM v1), (SELECT s FROM v2), m)->'compatible' AS compatible
  FROM unnest(ARRAY['BACKWARD', 'FORWARD', 'FULL', 'NONE', 'backward_transitive']) m;
-- Widening alone is BACKWARD but not FORWARD; aliases are no change at all.
SELECT check_schema_compatibility('{"entities": {"A": {"fields": {"n": {"type": "int4"}}}}}',
                                  '{"entities": {"A": {"fields": {"n": {"type": "bigint"}}}}}', 'BACKWARD')->'compatible' AS widen_backward,
       check_schema_compatibility('{"entities": {"A": {"fields": {"n": {"type": "int4"}}}}}',
                                  '{"entities": {"A": {"fields": {"n": {"type": "bigint"}}}}}', 'FORWARD')->'compatible' AS widen_forward,
       check_schema_compatibility('{"entities": {"A": {"fields": {"n": {"type": "int4"}}}}}',
                                  '{"entities": {"A": {"fields": {"n": {"type": "integer"}}}}}')->'changes' AS alias;
SELECT pgm_test.expect_error($$SELECT pgmigrate.check_schema_compatibility('{}', '{}', 'SIDEWAYS')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.check_schema_compatibility('{"entities": 1}', '{}')$$);

-- Registering and activating.
SELECT pgm_test.expect_error($$SELECT pgmigrate.activate_schema_version('1.0.0')$$);
SELECT register_schema_version('1.0.0', (SELECT s FROM v1), 'first', activate => true) IS NOT NULL AS registered;
SELECT active_schema_version_number(), active_schema_definition() = (SELECT s FROM v1) AS same_definition;
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_schema_version('1.0.0', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_schema_version('', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_schema_version('x', '[]')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_schema_version('x', '{"entities": {"A": {"fields": {"f": 1}}}}')$$);
-- v2 breaks BACKWARD: refused with 55000, and nothing is left behind.
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_schema_version('2.0.0', (SELECT s FROM v2), activate => true)$$);
SELECT count(*) AS versions, active_schema_version_number() FROM schema_versions;
-- Registered without activation it is stored, with what it breaks and what it is compatible with.
SELECT register_schema_version('2.0.0', (SELECT s FROM v2)) IS NOT NULL AS registered;
SELECT version_number, is_active, backward_compatible_with, forward_compatible_with, jsonb_array_length(breaking_changes) AS breaking
  FROM schema_versions ORDER BY created_at;
SELECT pgm_test.expect_error($$SELECT pgmigrate.activate_schema_version('2.0.0')$$);
-- The mode is a setting; NONE lets it through, force overrides.
SET pg_migrate.compatibility_mode = 'NONE';
SELECT activate_schema_version('2.0.0');
SELECT active_schema_version_number();
RESET pg_migrate.compatibility_mode;
SELECT activate_schema_version('1.0.0', force => true);
SELECT activate_schema_version('1.0.0');
SHOW pg_migrate.compatibility_mode;
SELECT pgm_test.expect_error($$SET pg_migrate.compatibility_mode = 'SIDEWAYS'$$);

-- check_compatibility against the history: latest only, or every version when transitive.
SELECT register_schema_version('3.0.0', '{"entities": {"User": {"fields": {"id": {"type": "bigint", "nullable": false}}}}}') IS NOT NULL AS registered;
SELECT r->'compatible' AS compatible, r->'checked_against' AS checked_against, jsonb_array_length(r->'changes') AS changes
  FROM (SELECT check_compatibility('{"entities": {"User": {"fields": {"id": {"type": "bigint", "nullable": false}, "email": {"type": "integer"}}}}}', m) AS r
          FROM unnest(ARRAY['BACKWARD', 'BACKWARD_TRANSITIVE', 'FULL_TRANSITIVE']) m) t;
-- A field removed earlier cannot come back with another type.
SELECT c->>'kind' AS kind, c->>'detail' AS detail, c->>'against' AS against
  FROM jsonb_array_elements(check_compatibility('{"entities": {"User": {"fields": {"id": {"type": "bigint", "nullable": false}, "nick": {"type": "integer"}}}}}', 'BACKWARD')->'changes') c;

-- Exactly one version is active; published definitions are immutable through any path.
SELECT count(*) FILTER (WHERE is_active) AS active_versions FROM schema_versions;
SELECT pgm_test.expect_error($$UPDATE pgmigrate.schema_versions SET schema_definition = '{}' WHERE version_number = '1.0.0'$$);
SELECT action, details->>'version' AS version FROM audit_log WHERE action LIKE 'schema_version.%' ORDER BY audit_id;

-- Everything is undone by the caller's rollback.
BEGIN;
SELECT register_schema_version('4.0.0', '{"entities": {}}', activate => true, force => true) IS NOT NULL AS registered;
SELECT active_schema_version_number();
ROLLBACK;
SELECT active_schema_version_number(), count(*) AS versions FROM schema_versions;
DELETE FROM schema_versions;
