-- Attacks on 0.3.0 that escalated to superuser or forged pg_migrate's records (issue 7,
-- items 4-6). Each must fail now.
SET client_min_messages = warning;
DROP ROLE IF EXISTS pgm_mig;
DROP ROLE IF EXISTS pgm_schema;
DROP ROLE IF EXISTS pgm_nobody;
RESET client_min_messages;
CREATE ROLE pgm_mig LOGIN;
CREATE ROLE pgm_schema LOGIN;
CREATE ROLE pgm_nobody LOGIN;
SELECT coalesce(max(audit_id), 0) AS audit_start FROM pgmigrate.audit_log \gset
SELECT pgmigrate.grant_migration_admin('pgm_mig'), pgmigrate.grant_schema_admin('pgm_schema');
SELECT pgmigrate.register_schema_version('1.0.0', '{"entities": {"User": {"fields": {"email": {"type": "string"}}}}}', activate => true) IS NOT NULL AS registered;

-- 4. A migration admin stores "make me superuser"; a superuser runs everything pending.
SET ROLE pgm_mig;
SELECT pgmigrate.register_migration('{"name": "escalate", "forward": ["ALTER ROLE pgm_mig SUPERUSER"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
-- The author is recorded by the database, not by the caller.
SELECT migration_name, stored_by FROM pgmigrate.knowledge_migrations WHERE migration_name = 'escalate';
RESET ROLE;
SELECT r->'success' AS success, r->'results'->0->'result'->0->>'sqlstate' AS sqlstate,
       r->'results'->0->'result'->0->>'error' AS error
  FROM pgmigrate.execute_pending_migrations('{"force": true}') r;
SELECT rolsuper FROM pg_roles WHERE rolname = 'pgm_mig';

-- ... or INSERTs it straight into the registry, or edits a stored migration.
SET ROLE pgm_schema;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script)
                               VALUES ('sneak', '1', 'ALTER ROLE pgm_schema SUPERUSER')$$);
RESET ROLE;
SET ROLE pgm_mig;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script)
                               VALUES ('sneak', '1', 'ALTER ROLE pgm_mig SUPERUSER')$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET forward_script = 'ALTER ROLE pgm_mig SUPERUSER'$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET definition = '{"forward": ["ALTER ROLE pgm_mig SUPERUSER"]}'$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET stored_by = 'postgres'$$);
RESET ROLE;

-- A superuser's own migration runs as the superuser, even when a migration admin runs it
-- (like an index expression running as the table's owner) ...
CREATE TABLE public.sec_secret (v text);
INSERT INTO public.sec_secret VALUES ('s');
SELECT pgmigrate.register_migration('{"name": "dba_cleanup", "forward": ["DELETE FROM public.sec_secret"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SET ROLE pgm_mig;
SELECT r->'success' AS success FROM pgmigrate.execute_migration('dba_cleanup', '{"force": true}') r;
SELECT pgm_test.expect_error($$SELECT * FROM public.sec_secret$$);
RESET ROLE;
SELECT count(*) AS secret_rows FROM public.sec_secret;
-- ... and a step cannot switch roles on its way.
SET ROLE pgm_mig;
SELECT pgmigrate.register_migration('{"name": "set_role", "forward": ["SET ROLE postgres"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
RESET ROLE;
SELECT r->'result'->0->>'sqlstate' AS sqlstate, r->'result'->0->>'error' AS error
  FROM pgmigrate.execute_migration('set_role', '{"force": true}') r;

-- A FUNCTION step resolves its function as the author, and calls it as the author.
CREATE SCHEMA sec_evil AUTHORIZATION pgm_mig;
SET ROLE pgm_mig;
CREATE FUNCTION sec_evil.escalate(p jsonb) RETURNS void LANGUAGE sql AS 'ALTER ROLE pgm_mig SUPERUSER';
SELECT pgmigrate.register_migration('{"name": "fn_step", "forward": [{"type": "FUNCTION", "function": "sec_evil.escalate", "parameters": {}}], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
RESET ROLE;
SELECT r->'result'->0->>'sqlstate' AS sqlstate FROM pgmigrate.execute_migration('fn_step', '{"force": true}') r;
SELECT rolsuper FROM pg_roles WHERE rolname = 'pgm_mig';

-- Stored SQL runs with the search_path it was stored with, not the runner's.
SET ROLE pgm_mig;
SET search_path = sec_evil, public;
CREATE TABLE sec_evil.marker (who text);
SELECT pgmigrate.register_migration('{"name": "path_step", "forward": ["INSERT INTO marker VALUES (current_user)"], "rollback": ["DELETE FROM marker"]}') IS NOT NULL AS registered;
RESET search_path;
RESET ROLE;
SET search_path = public;
SELECT r->'success' AS success FROM pgmigrate.execute_migration('path_step', '{"force": true}') r;
RESET search_path;
SELECT who FROM sec_evil.marker;
-- ... batch registration too: each migration keeps the caller's search_path.
SET ROLE pgm_mig;
SET search_path = sec_evil, public;
SELECT migration_name FROM pgmigrate.register_migrations('[{"name": "path_batch_b", "dependsOn": ["path_batch_a"], "forward": ["INSERT INTO marker VALUES (''b'')"], "rollback": ["DELETE FROM marker WHERE who = ''b''"]},
                                                           {"name": "path_batch_a", "forward": ["INSERT INTO marker VALUES (''a'')"], "rollback": ["DELETE FROM marker WHERE who = ''a''"]}]');
RESET search_path;
SELECT migration_name, stored_by, stored_search_path FROM pgmigrate.knowledge_migrations WHERE migration_name LIKE 'path_batch_%' ORDER BY 1;
SELECT r->'success' AS success FROM pgmigrate.execute_pending_migrations('{"force": true}') r;
RESET ROLE;
SELECT who FROM sec_evil.marker ORDER BY 1;

-- A runner's temporary table (with a trigger of the runner's) cannot stand in for the
-- table a stored step means: pg_temp is searched last for stored SQL.
CREATE TABLE public.sec_target (v int);
GRANT SELECT ON public.sec_target TO pgm_mig;
SELECT pgmigrate.register_migration('{"name": "dba_insert", "forward": ["INSERT INTO sec_target VALUES (1)"], "rollback": ["DELETE FROM sec_target"]}') IS NOT NULL AS registered;
SET ROLE pgm_mig;
CREATE TEMP TABLE sec_target (v int);
CREATE FUNCTION pg_temp.hijack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE pgm_mig SUPERUSER';
    RETURN NEW;
END $$;
CREATE TRIGGER hijack BEFORE INSERT ON pg_temp.sec_target FOR EACH ROW EXECUTE FUNCTION pg_temp.hijack();
SELECT r->'success' AS success FROM pgmigrate.execute_migration('dba_insert', '{"force": true}') r;
SELECT count(*) AS temp_rows FROM pg_temp.sec_target;
SELECT count(*) AS real_rows FROM public.sec_target;
DROP TABLE pg_temp.sec_target;
DROP FUNCTION pg_temp.hijack();
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'pgm_mig';
DROP TABLE public.sec_target;

-- A migration whose author is unknown (stored before 0.4.0) runs only once adopted,
-- and then with the adopter's privileges.
UPDATE pgmigrate.knowledge_migrations SET stored_by = NULL WHERE migration_name = 'escalate';
SELECT status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'escalate';
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('escalate', '{"force": true}')$$);
SET ROLE pgm_mig;
SELECT pgmigrate.adopt_migration('escalate');
SELECT r->'result'->0->>'sqlstate' AS sqlstate FROM pgmigrate.execute_migration('escalate', '{"force": true}') r;
RESET ROLE;
SELECT stored_by, status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'escalate';
SELECT rolsuper FROM pg_roles WHERE rolname = 'pgm_mig';
-- The author dropped: refused, not run as someone else.
CREATE ROLE pgm_gone;
SELECT pgmigrate.grant_migration_admin('pgm_gone');
SET ROLE pgm_gone;
SELECT pgmigrate.register_migration('{"name": "orphan", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
RESET ROLE;
REVOKE ALL ON ALL TABLES IN SCHEMA pgmigrate FROM pgm_gone;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgmigrate FROM pgm_gone;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA pgmigrate FROM pgm_gone;
DROP ROLE pgm_gone;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('orphan', '{"force": true}')$$);

-- 5. A weaker role's function on the caller's search_path is never called by pg_migrate.
CREATE SCHEMA sec_app AUTHORIZATION pgm_schema;
SET ROLE pgm_schema;
CREATE FUNCTION sec_app.jsonb_build_object(text, jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE pgm_schema SUPERUSER';
    RETURN pg_catalog.jsonb_build_object($1, $2);
END $$;
CREATE FUNCTION sec_app.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE pgm_schema SUPERUSER';
    RETURN pg_catalog.jsonb_build_object($1, $2);
END $$;
RESET ROLE;
SET search_path = sec_app, public;
SELECT pgmigrate.add_field_backward_compatible('User', 'plan', '{"type": "string"}', '"free"') AS new_version;
SELECT pgmigrate.deprecate_field('User', 'plan') AS new_version;
CALL pgmigrate.backfill_field('User', 'plan');
SELECT pgmigrate.register_migration('{"name": "path_probe", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success FROM pgmigrate.execute_migration('path_probe', '{"force": true}') r;
SELECT r->'success' AS success FROM pgmigrate.rollback_migration('path_probe') r;
SELECT pgmigrate.register_schema_version('9.0.0', '{"entities": {"User": {"fields": {"email": {"type": "string"}}}}}') IS NOT NULL AS registered;
SELECT pgmigrate.check_compatibility('{"entities": {}}', 'BACKWARD')->'compatible' AS compatible;
RESET search_path;
SELECT rolsuper FROM pg_roles WHERE rolname = 'pgm_schema';
-- Every function of pg_migrate pins its search_path, except the C entry points (which
-- call internal functions that do) and backfill_field (a procedure that COMMITs, which
-- PostgreSQL forbids with a SET clause; it pins the path itself), and register_migrations
-- (a SQL wrapper without a SET clause, so its entry point sees the caller's path; it
-- qualifies everything), and run_migration (a procedure that COMMITs, like backfill_field).
SELECT p.oid::regprocedure::text AS unpinned
  FROM pg_proc p
 WHERE p.pronamespace = 'pgmigrate'::regnamespace AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND NOT coalesce(p.proconfig::text LIKE '%search_path=pg_catalog, pg_temp%', false)
 ORDER BY 1;

-- 6. Status, logs, activation and published fields change only through pg_migrate.
SET ROLE pgm_mig;
SELECT pgmigrate.register_migration('{"name": "forge_me", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING' WHERE migration_name = 'forge_me'$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET execution_log = '[]'$$);
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.knowledge_migrations$$);
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.migration_execution_state$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.migration_execution_state (migration_id, step_number, step_name) SELECT migration_id, 0, 'x' FROM pgmigrate.knowledge_migrations LIMIT 1$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.audit_log (action) VALUES ('forged')$$);
RESET ROLE;
SET ROLE pgm_schema;
SELECT pgm_test.expect_error($$UPDATE pgmigrate.schema_versions SET is_active = (version_number = '9.0.0')$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.schema_versions SET created_by = 'someone', breaking_changes = '[]'$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, is_active) VALUES ('x', '{}', false)$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate._activate_schema_version('9.0.0', true, 'postgres', '')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate._exec_as('postgres'::regrole, 'public', 'ALTER ROLE pgm_schema SUPERUSER')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate._audit('forged', '{}', 'postgres')$$);
RESET ROLE;
SELECT pgmigrate.active_schema_version_number();
-- Audit rows name the role that asked, not the extension's owner.
SELECT action, role_name, details->>'migration' AS migration FROM pgmigrate.audit_log
 WHERE audit_id > :audit_start AND action IN ('migration.registered', 'migration.adopted', 'field.added', 'schema_version.registered')
 ORDER BY audit_id;
-- The old internals are gone or closed to everyone but the owner.
SELECT p.oid::regprocedure::text AS callable_by_admins
  FROM pg_proc p
 WHERE p.pronamespace = 'pgmigrate'::regnamespace
   AND (has_function_privilege('pgm_mig', p.oid, 'EXECUTE') OR has_function_privilege('pgm_schema', p.oid, 'EXECUTE'))
   AND p.provolatile = 'v' AND p.prorettype <> 'trigger'::regtype
 ORDER BY 1;

-- Clean up.
DROP TABLE public.sec_secret;
DROP SCHEMA sec_evil CASCADE;
DROP SCHEMA sec_app CASCADE;
DELETE FROM pgmigrate.migration_execution_state;
DELETE FROM pgmigrate.knowledge_migrations;
DELETE FROM pgmigrate.temporal_entities;
DELETE FROM pgmigrate.schema_versions;
REVOKE ALL ON ALL TABLES IN SCHEMA pgmigrate FROM pgm_mig, pgm_schema;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgmigrate FROM pgm_mig, pgm_schema;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA pgmigrate FROM pgm_mig, pgm_schema;
DROP ROLE pgm_mig;
DROP ROLE pgm_schema;
DROP ROLE pgm_nobody;

-- An entry point runs its internal function as that function's current owner, also right
-- after an ALTER FUNCTION ... OWNER TO in the same session (the trampoline's cache follows
-- pg_proc): owned by a role that cannot write the registry, the same call site fails.
CREATE ROLE pgm_weak_owner;
DO $$
DECLARE
    i integer;
    owner text := current_user;
BEGIN
    FOR i IN 1 .. 2 LOOP
        IF i = 2 THEN
            ALTER FUNCTION pgmigrate._register_pipeline(jsonb, regrole, text) OWNER TO pgm_weak_owner;
        END IF;
        BEGIN
            PERFORM pgmigrate.register_pipeline(jsonb_build_object('name', 'owner_probe_' || i, 'entityType', 'x',
                'steps', jsonb_build_array(jsonb_build_object('type', 'FILTER', 'config', jsonb_build_object('condition', '$.a == 1')))));
            RAISE NOTICE 'call %: registered', i;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'call %: %', i, SQLERRM;
        END;
    END LOOP;
    EXECUTE format('ALTER FUNCTION pgmigrate._register_pipeline(jsonb, regrole, text) OWNER TO %I', owner);
END $$;
SELECT name FROM pgmigrate.pipelines WHERE name LIKE 'owner\_probe\_%';
DELETE FROM pgmigrate.pipelines WHERE name LIKE 'owner\_probe\_%';
DROP ROLE pgm_weak_owner;

-- 7. Settings pg_migrate changes for its own statements end with the call: a schema admin's
-- transaction does not go on with the superuser-only validation switched off after a
-- backfill batch (it did before 0.6.2: an invalid document could then be written), nor a
-- migration's caller with the step's lock_timeout.
BEGIN;
CREATE ROLE pgm_guc_admin;
SELECT pgmigrate.grant_schema_admin('pgm_guc_admin');
GRANT INSERT ON pgmigrate.temporal_entities TO pgm_guc_admin;
SELECT pgmigrate.register_schema_version('9.1.0', '{"entities": {"GucDoc": {"fields": {"email": {"type": "string", "nullable": false},
  "tier": {"type": "string", "default": "std"}}}}}', 'a settings probe', activate => true) IS NOT NULL AS registered;
SET LOCAL ROLE pgm_guc_admin;
SELECT pgmigrate.backfill_field_batch('GucDoc', 'tier', 0, 10, 0) IS NOT NULL AS batch_done;
SELECT current_setting('pg_migrate.validation') AS validation, current_setting('pg_migrate.deprecated_field_policy') AS policy;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('GucDoc', '{"email": 42}')$$);
ROLLBACK;
BEGIN;
SET LOCAL lock_timeout = '7s';
SELECT pgmigrate.register_migration('{"name": "guc_probe", "forward": ["SELECT 1"], "rollback": ["SELECT 1"], "lockTimeout": 250}') IS NOT NULL AS registered;
SELECT r->'success' AS success FROM pgmigrate.execute_migration('guc_probe', '{"force": true}') r;
SELECT r->'success' AS success FROM pgmigrate.rollback_migration('guc_probe') r;
SHOW lock_timeout;
ROLLBACK;

-- 8. Settings a stored step changes, plain SET included, end with the step: a migration
-- admin's step cannot leave the superuser who runs it resolving names into the admin's
-- schema (a function there named like a built-in would then run as the superuser).
CREATE ROLE pgm_guc_author;
SELECT pgmigrate.grant_migration_admin('pgm_guc_author');
CREATE SCHEMA guc_evil AUTHORIZATION pgm_guc_author;
SET ROLE pgm_guc_author;
SELECT pgmigrate.register_migration('{"name": "guc_leak", "rollback": ["SELECT 1"],
  "forward": ["SET search_path = guc_evil, pg_catalog, public", "SET statement_timeout = 1", "SET LOCAL work_mem = ''77MB''",
              "SELECT set_config(''lock_timeout'', ''1'', false)"]}') IS NOT NULL AS registered;
RESET ROLE;
SET search_path = public;
SELECT r->'success' AS success FROM pgmigrate.execute_migration('guc_leak', '{"force": true}') r;
SELECT current_setting('search_path') AS search_path, current_setting('statement_timeout') AS statement_timeout,
       current_setting('work_mem') AS work_mem, current_setting('lock_timeout') AS lock_timeout;
RESET search_path;
DROP SCHEMA guc_evil;
DELETE FROM pgmigrate.knowledge_migrations WHERE migration_name = 'guc_leak';

-- 9. A temporary table the caller made under a pipeline work table's name is refused, not
-- used: the extension's owner, which empties it, would fire the caller's trigger.
CREATE ROLE pgm_temp_piper;
SELECT pgmigrate.grant_pipeline_admin('pgm_temp_piper');
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('TempDoc', '{"name": "a"}');
SET ROLE pgm_temp_piper;
SELECT pgmigrate.register_pipeline('{"name": "temp_probe", "entityType": "TempDoc", "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "FIELD_TRANSFORM", "field": "name", "transformation": {"sqlFunction": "pg_catalog.jsonb_strip_nulls"}}]}}]}') IS NOT NULL AS registered;
CREATE FUNCTION pg_temp.grab() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE pgm_temp_piper SUPERUSER';
    RETURN NULL;
END $$;
CREATE TEMP TABLE _pgm_pipe_in (ord integer PRIMARY KEY, entity_id uuid, row_id bigint, doc jsonb) ON COMMIT DELETE ROWS;
CREATE TRIGGER grab BEFORE DELETE ON pg_temp._pgm_pipe_in FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.grab();
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\set VERBOSITY terse
CALL pgmigrate.run_pipeline('temp_probe');
\set VERBOSITY default
SELECT * FROM pgmigrate.pipeline_preview('temp_probe', 1);
\set SHOW_CONTEXT errors
DROP TABLE pg_temp._pgm_pipe_in;
CALL pgmigrate.run_pipeline('temp_probe');
RESET client_min_messages;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'pgm_temp_piper';
SELECT status FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'temp_probe' ORDER BY started_at;
DELETE FROM pgmigrate.pipelines WHERE name = 'temp_probe';
DELETE FROM pgmigrate.temporal_entities WHERE entity_type = 'TempDoc';
DROP OWNED BY pgm_temp_piper, pgm_guc_author;
DROP ROLE pgm_temp_piper;
DROP ROLE pgm_guc_author;
