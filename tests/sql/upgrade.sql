-- ALTER EXTENSION pg_migrate UPDATE from 0.1.0, 0.2.0, 0.3.0, 0.4.0, 0.5.0, 0.6.0, 0.6.1 and 0.6.2 yields the same objects as a fresh install.
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate VERSION '0.1.0';
-- Data written under 0.1.0 survives the update.
INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, is_active) VALUES ('0.1-era', '{"entities": {}}', true);
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT version_number, is_active FROM pgmigrate.schema_versions;

-- A description of every object the extension owns, detailed enough to tell them apart
-- (a NULL ACL is spelled out as the default it stands for).
CREATE FUNCTION pgm_test.extension_objects() RETURNS TABLE (kind text, object text, definition text)
LANGUAGE sql AS $$
    SELECT 'member', pg_describe_object(d.classid, d.objid, d.objsubid), ''
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
     WHERE e.extname = 'pg_migrate' AND d.deptype = 'e'
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text,
           pg_get_functiondef(p.oid) || array_to_string(coalesce(p.proacl, acldefault('f'::"char", p.proowner)), ',')
      FROM pg_proc p WHERE p.pronamespace = 'pgmigrate'::regnamespace
    UNION ALL
    SELECT 'column', a.attrelid::regclass || '.' || a.attname,
           format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
           || ' ' || a.attidentity::text || ' ' || a.attstorage::text
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE c.relnamespace = 'pgmigrate'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint', conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'pgmigrate'::regnamespace
    UNION ALL
    SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'pgmigrate'::regnamespace
    UNION ALL
    SELECT 'trigger', tgrelid::regclass || '.' || tgname, pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'pgmigrate'::regnamespace AND NOT tgisinternal
    UNION ALL
    SELECT 'acl', c.oid::regclass::text, array_to_string(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)), ',')
      FROM pg_class c WHERE c.relnamespace = 'pgmigrate'::regnamespace
    UNION ALL
    SELECT 'config', c.oid::regclass::text, ''
      FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid WHERE e.extname = 'pg_migrate'
$$;
CREATE TABLE pgm_test.upgraded AS SELECT * FROM pgm_test.extension_objects();
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
CREATE TABLE pgm_test.fresh AS SELECT * FROM pgm_test.extension_objects();

SELECT (SELECT count(*) FROM pgm_test.fresh) AS objects,
       (SELECT count(*) FROM pgm_test.fresh WHERE kind = 'function') AS functions;
-- Differences either way (none expected).
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded)
ORDER BY 1, 2, 3;

-- And from 0.2.0, with data written by 0.2.0 functions.
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate VERSION '0.2.0';
SELECT pgmigrate.register_schema_version('0.2-era', '{"entities": {}}', activate => true) IS NOT NULL AS registered;
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT pgmigrate.active_schema_version_number();
CREATE TABLE pgm_test.upgraded_from_020 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_020 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_020)
ORDER BY 1, 2, 3;

-- And from 0.3.0: grants its helpers handed out are taken back, and migrations it stored
-- (whose author it never recorded) wait to be adopted before they run.
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate VERSION '0.3.0';
CREATE ROLE pgm_old_admin;
SELECT pgmigrate.grant_migration_admin('pgm_old_admin'), pgmigrate.grant_schema_admin('pgm_old_admin');
SELECT pgmigrate.register_migration('{"name": "from_030", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT has_table_privilege('pgm_old_admin', 'pgmigrate.knowledge_migrations', 'INSERT') AS can_insert,
       has_table_privilege('pgm_old_admin', 'pgmigrate.knowledge_migrations', 'UPDATE') AS can_update,
       has_table_privilege('pgm_old_admin', 'pgmigrate.schema_versions', 'UPDATE') AS can_activate_by_hand,
       has_table_privilege('pgm_old_admin', 'pgmigrate.audit_log', 'INSERT') AS can_write_audit,
       has_function_privilege('pgm_old_admin', 'pgmigrate.execute_migration(text, jsonb)', 'EXECUTE') AS can_execute;
SELECT migration_name, stored_by FROM pgmigrate.knowledge_migrations;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('from_030')$$);
SELECT pgmigrate.adopt_migration('from_030');
SELECT r->'success' AS success FROM pgmigrate.execute_migration('from_030') r;
REVOKE ALL ON ALL TABLES IN SCHEMA pgmigrate FROM pgm_old_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgmigrate FROM pgm_old_admin;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA pgmigrate FROM pgm_old_admin;
CREATE TABLE pgm_test.upgraded_from_030 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_030 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_030)
ORDER BY 1, 2, 3;
DROP EXTENSION pg_migrate;
DROP ROLE pgm_old_admin;

-- And from 0.4.0, with a pipeline run that wrote documents: its changes move to its batches,
-- so it still rolls back; the registered pipeline is compiled again and runs.
CREATE EXTENSION pg_migrate VERSION '0.4.0';
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT ('00000000-0000-0000-0004-' || lpad(g::text, 12, '0'))::uuid, 'up_doc', jsonb_build_object('old', g) FROM generate_series(1, 5) g;
SELECT pgmigrate.register_pipeline('{"name": "up", "entityType": "up_doc", "batchSize": 2, "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "FIELD_RENAME", "source": "old", "target": "new"}]}}]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
CALL pgmigrate.run_pipeline('up');
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion, (SELECT count(*) FROM unnest(extconfig) o WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o)) AS dangling_config
  FROM pg_extension WHERE extname = 'pg_migrate';
SELECT count(*) AS changes, count(DISTINCT entity_id) AS entities FROM pgmigrate.pipeline_changes;
SELECT compiled ? 'builtinOnly' AS recompiled FROM pgmigrate.pipelines;
SELECT pgmigrate.rollback_pipeline(run_id) AS rolled_back FROM pgmigrate.pipeline_runs;
SELECT count(*) FILTER (WHERE content ? 'old') AS restored FROM pgmigrate.temporal_entities WHERE entity_type = 'up_doc' AND valid_to = 'infinity';
CALL pgmigrate.run_pipeline('up', '{"restart": true}');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE content ? 'new') AS renamed_again FROM pgmigrate.temporal_entities WHERE entity_type = 'up_doc' AND valid_to = 'infinity';
CREATE TABLE pgm_test.upgraded_from_040 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_040 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_040)
ORDER BY 1, 2, 3;
DROP EXTENSION pg_migrate;

-- And from 0.5.0: a role given the pipeline helpers then may start workers now, and a
-- parallel pipeline registered then runs with them.
CREATE EXTENSION pg_migrate VERSION '0.5.0';
CREATE ROLE pgm_old_piper;
SELECT pgmigrate.grant_pipeline_admin('pgm_old_piper');
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'up5_doc', jsonb_build_object('old', g) FROM generate_series(1, 40) g;
SELECT pgmigrate.register_pipeline('{"name": "up5", "entityType": "up5_doc", "batchSize": 4, "parallel": true, "steps": [{"type": "MAP",
  "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "old", "target": "new"}]}}]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
CALL pgmigrate.run_pipeline('up5');
RESET client_min_messages;
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT has_function_privilege('pgm_old_piper', 'pgmigrate.pipeline_workers(uuid, integer, integer[])', 'EXECUTE') AS can_start_workers,
       has_function_privilege('pgm_old_piper', 'pgmigrate.rollback_pipeline_batched(uuid, boolean)', 'EXECUTE') AS can_roll_back_in_batches;
-- The run 0.5.0 made (no xmins recorded) rolls back in batches; the pipeline runs again with workers.
SET ROLE pgm_old_piper;
SET client_min_messages = warning;
SELECT run_id AS up5_run FROM pgmigrate.pipeline_runs \gset
CALL pgmigrate.rollback_pipeline_batched(:'up5_run');
SELECT count(*) FILTER (WHERE content ? 'old') AS restored FROM pgmigrate.temporal_entities WHERE entity_type = 'up5_doc' AND valid_to = 'infinity';
CALL pgmigrate.run_pipeline('up5', '{"workers": 2}');
RESET client_min_messages;
RESET ROLE;
SELECT status, docs_written FROM pgmigrate.pipeline_runs ORDER BY started_at;
DROP OWNED BY pgm_old_piper;
DROP ROLE pgm_old_piper;
CREATE TABLE pgm_test.upgraded_from_050 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_050 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_050)
ORDER BY 1, 2, 3;
DROP EXTENSION pg_migrate;

-- And from 0.6.0: a run rolled back part way under 0.6.0 is finished by 0.6.2, whose
-- rollback refuses a NULL run id (22004) and hints at resuming only a run left part way.
CREATE EXTENSION pg_migrate VERSION '0.6.0';
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'up6_doc', jsonb_build_object('old', g) FROM generate_series(1, 12) g;
SELECT pgmigrate.register_pipeline('{"name": "up6", "entityType": "up6_doc", "batchSize": 4, "steps": [{"type": "MAP",
  "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "old", "target": "new"}]}}]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
CALL pgmigrate.run_pipeline('up6');
SELECT run_id AS up6_run FROM pgmigrate.pipeline_runs \gset
SELECT pgmigrate.pipeline_rollback_step(:'up6_run', false)->>'rolled_back' AS rolled_back_under_060;
RESET client_min_messages;
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
\set SHOW_CONTEXT never
CALL pgmigrate.rollback_pipeline_batched(NULL);
\set SHOW_CONTEXT errors
SET client_min_messages = warning;
CALL pgmigrate.rollback_pipeline_batched(:'up6_run');
RESET client_min_messages;
SELECT status, (SELECT count(*) FILTER (WHERE content ? 'old') FROM pgmigrate.temporal_entities WHERE entity_type = 'up6_doc' AND valid_to = 'infinity') AS restored
  FROM pgmigrate.pipeline_runs;
CREATE TABLE pgm_test.upgraded_from_060 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_060 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_060)
ORDER BY 1, 2, 3;
DROP EXTENSION pg_migrate;

-- And from 0.6.1: runs of one pipeline left unfinished side by side (two CALLs at once before
-- 0.6.1 could do that) are sorted out by the update (the older ABANDONED, with a WARNING
-- and an audit entry) before the index that allows one going at a time; a run RUNNING
-- beside one ROLLING_BACK stops the update, naming them, until the rollback is finished.
CREATE EXTENSION pg_migrate VERSION '0.6.1';
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'up61_doc', jsonb_build_object('old', g) FROM generate_series(1, 6) g;
SELECT pgmigrate.register_pipeline('{"name": "up61", "entityType": "up61_doc", "batchSize": 2, "steps": [{"type": "MAP",
  "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "old", "target": "new"}]}}]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
CALL pgmigrate.run_pipeline('up61');
CALL pgmigrate.run_pipeline('up61', '{"restart": true}');
CALL pgmigrate.run_pipeline('up61', '{"restart": true}');
RESET client_min_messages;
UPDATE pgmigrate.pipeline_runs SET status = 'RUNNING', finished_at = NULL;
UPDATE pgmigrate.pipeline_runs SET status = 'ROLLING_BACK'
 WHERE started_at = (SELECT min(started_at) FROM pgmigrate.pipeline_runs);
\set VERBOSITY sqlstate
ALTER EXTENSION pg_migrate UPDATE;
\set VERBOSITY default
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
UPDATE pgmigrate.pipeline_runs SET status = 'ROLLED_BACK'
 WHERE started_at = (SELECT min(started_at) FROM pgmigrate.pipeline_runs);
SET client_min_messages = error;  -- (a WARNING names the abandoned run)
ALTER EXTENSION pg_migrate UPDATE;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT row_number() OVER (ORDER BY started_at) AS run, status FROM pgmigrate.pipeline_runs ORDER BY started_at;
SELECT details->>'reason' AS reason FROM pgmigrate.audit_log WHERE action = 'pipeline.abandoned' AND details ? 'reason';
SET client_min_messages = warning;
CALL pgmigrate.run_pipeline('up61');
RESET client_min_messages;
SELECT row_number() OVER (ORDER BY started_at) AS run, status FROM pgmigrate.pipeline_runs ORDER BY started_at;
CREATE TABLE pgm_test.upgraded_from_061 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_061 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_061)
ORDER BY 1, 2, 3;
DROP EXTENSION pg_migrate;

-- And from 0.6.2: a migration run with a CONCURRENTLY step under 0.6.2 (its worker's job
-- recorded without DETAIL), updated, then one that fails on a duplicate key: the worker
-- passes the failed statement's DETAIL to the caller's error (the job row and the run's
-- record do not keep it: other migration admins read them).
CREATE EXTENSION pg_migrate VERSION '0.6.2';
CREATE TABLE public.up62 (k int);
INSERT INTO public.up62 VALUES (1), (1);
SELECT pgmigrate.register_migration('{"name": "up62_idx", "forward": ["CREATE INDEX CONCURRENTLY up62_k ON public.up62 (k)"],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.up62_k"]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
CALL pgmigrate.run_migration('up62_idx');
RESET client_min_messages;
-- The 0.6.3 library with the 0.6.2 SQL: a pipeline that needs a 0.6.3 helper (a rename
-- under a parent) is refused at registration with a hint to update (it failed on every
-- document); one that does not registers.
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "up62_nested", "entityType": "up62_doc", "steps": [{"type": "MAP",
  "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "x", "target": "a.b"}]}}]}')$$);
-- A pipeline as the 0.6.2 library compiled it (its rename to a child of a string lost the
-- value): the update compiles it again from its definition, and it records the document's
-- error instead. (Its definition is put in place by hand: this library compiles the new way.)
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('up62_doc', '{"x": 1, "a": "s"}');
SELECT pgmigrate.register_pipeline('{"name": "up62_ren", "entityType": "up62_doc", "steps": [{"type": "MAP", "errorHandling": "SKIP",
  "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "x", "target": "b"}]}}]}') IS NOT NULL AS registered;
UPDATE pgmigrate.pipelines SET definition = jsonb_set(definition, '{steps,0,config,mappingRules,0,target}', '"a.b"') WHERE name = 'up62_ren';
ALTER EXTENSION pg_migrate UPDATE;
SET client_min_messages = warning;
CALL pgmigrate.run_pipeline('up62_ren');
RESET client_min_messages;
SELECT e.content, x.sqlstate FROM pgmigrate.temporal_entities e LEFT JOIN pgmigrate.pipeline_errors x USING (entity_id)
 WHERE e.entity_type = 'up62_doc' AND e.valid_to = 'infinity';
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT status, hint FROM pgmigrate.migration_jobs;
SELECT pgmigrate.register_migration('{"name": "up62_unique", "forward": ["CREATE UNIQUE INDEX CONCURRENTLY up62_k_key ON public.up62 (k)"],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.up62_k_key"]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CALL pgmigrate.run_migration('up62_unique');
\set SHOW_CONTEXT errors
RESET client_min_messages;
SELECT status, sqlstate, (SELECT count(*) FROM pgmigrate.migration_job_details) AS details_left FROM pgmigrate.migration_jobs WHERE purpose = 'step' ORDER BY job_id;
SELECT error->>'detail' AS run_error_detail FROM pgmigrate.migration_runs WHERE status = 'FAILED';
DROP TABLE public.up62;
CREATE TABLE pgm_test.upgraded_from_062 AS SELECT * FROM pgm_test.extension_objects();
(SELECT 'only after upgrade' AS side, * FROM pgm_test.upgraded_from_062 EXCEPT SELECT 'only after upgrade', * FROM pgm_test.fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM pgm_test.fresh EXCEPT SELECT 'only in fresh install', * FROM pgm_test.upgraded_from_062)
ORDER BY 1, 2, 3;
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
