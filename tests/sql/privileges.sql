-- State-changing functions are not for PUBLIC; a DBA grants them. The audit log is append-only.
SET search_path = pgmigrate, public;
SET client_min_messages = warning;
DROP ROLE IF EXISTS pgm_app;
DROP ROLE IF EXISTS pgm_admin;
RESET client_min_messages;
CREATE ROLE pgm_app LOGIN;
CREATE ROLE pgm_admin LOGIN;
SELECT grant_schema_admin('pgm_admin');
SELECT register_schema_version('1.0.0', '{"entities": {"User": {"fields": {"email": {"type": "string"}}}}}', activate => true) IS NOT NULL AS registered;

SET ROLE pgm_app;
-- Pure functions and readers work for everyone.
SELECT pgmigrate.jsonb_deep_merge('{"a": 1}', '{"b": 2}'), pgmigrate.active_schema_version_number();
SELECT pgm_test.expect_error($$SELECT pgmigrate.add_field_backward_compatible('User', 'plan', '{"type": "string"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_schema_version('2.0.0', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.activate_schema_version('1.0.0')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.deprecate_field('User', 'email')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.backfill_field('User', 'email')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.audit_log (action) VALUES ('forged')$$);
RESET ROLE;

SET ROLE pgm_admin;
SELECT pgmigrate.add_field_backward_compatible('User', 'plan', '{"type": "string"}', '"free"') AS new_version;
SELECT pgmigrate.deprecate_field('User', 'plan') AS new_version;
-- Even a granted role cannot write the audit log, let alone rewrite it.
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.audit_log (action, role_name) VALUES ('note', 'someone_else')$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.audit_log SET action = 'x'$$);
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.audit_log$$);
RESET ROLE;
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.audit_log$$);
SELECT pgm_test.expect_error($$TRUNCATE pgmigrate.audit_log$$);
SELECT action, role_name FROM audit_log WHERE role_name LIKE 'pgm_%' ORDER BY audit_id;

-- An application role writing documents still gets defaults and deprecation counting.
GRANT INSERT, SELECT ON temporal_entities TO pgm_app;
SET ROLE pgm_app;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('User', '{"email": "app@example.com", "plan": "pro"}') RETURNING content;
RESET ROLE;
SELECT field_name, writes FROM deprecated_field_usage;

-- Without grants a role can neither run nor register migrations (tests/sql/security.sql
-- covers what granted roles cannot do).
SELECT grant_migration_admin('pgm_admin');
SELECT register_migration('{"name": "dba_only", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SET ROLE pgm_app;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('dba_only')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "mine", "forward": ["SELECT 1"]}')$$);
RESET ROLE;

REVOKE ALL ON temporal_entities FROM pgm_app;
DELETE FROM temporal_entities;
DELETE FROM knowledge_migrations;
DELETE FROM migration_execution_state;
DELETE FROM schema_versions;
DELETE FROM deprecated_field_usage;
REVOKE ALL ON ALL TABLES IN SCHEMA pgmigrate FROM pgm_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgmigrate FROM pgm_admin;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA pgmigrate FROM pgm_admin;
DROP ROLE pgm_app;
DROP ROLE pgm_admin;
