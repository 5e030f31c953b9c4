-- Background workers sharing a parallel run: CALL run_pipeline(name, '{"workers": n}').
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE ROLE pgm_wk_author;
CREATE ROLE pgm_wk_caller;          -- NOLOGIN: reached with SET ROLE only
SELECT pgmigrate.grant_pipeline_admin('pgm_wk_author'), pgmigrate.grant_pipeline_admin('pgm_wk_caller');
CREATE SCHEMA pgm_wk;
GRANT USAGE ON SCHEMA pgm_wk TO pgm_wk_author;
-- A document-at-a-time CUSTOM step that takes a while (so every process gets batches) and
-- notes who ran it, and a counter of calls per document.
CREATE TABLE pgm_wk.calls (entity text, who text, pid integer);
GRANT INSERT ON pgm_wk.calls TO pgm_wk_author;
CREATE FUNCTION pgm_wk.slow(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.002);
    INSERT INTO pgm_wk.calls VALUES (d->>'n', current_user, pg_backend_pid());
    IF d->>'n' = '777' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'pgm_wk_fail_777') THEN
        RAISE EXCEPTION 'document 777 is bad' USING ERRCODE = 'data_exception';
    END IF;
    RETURN d || jsonb_build_object('passes', coalesce((d->>'passes')::int, 0) + 1);
END $$;
ALTER FUNCTION pgm_wk.slow(jsonb) OWNER TO pgm_wk_author;
INSERT INTO pgmigrate.temporal_entities (entity_type, content)
SELECT 'wk_doc', jsonb_build_object('n', g, 'Email', 'User' || g || '@X.ORG') FROM generate_series(1, 1200) g;
SET ROLE pgm_wk_author;
SELECT pgmigrate.register_pipeline('{"name": "wk_slow", "entityType": "wk_doc", "parallel": true, "batchSize": 40,
  "steps": [{"type": "CUSTOM", "config": {"function": "pgm_wk.slow"}, "errorHandling": "FAIL"}]}') IS NOT NULL AS registered;
SELECT pgmigrate.register_pipeline('{"name": "wk_fast", "entityType": "wk_doc", "parallel": true, "batchSize": 25,
  "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "Email", "transformation": "lower"},
                                                        {"type": "FIELD_RENAME", "source": "Email", "target": "email"}]}}]}') IS NOT NULL AS registered;
SELECT pgmigrate.register_pipeline('{"name": "wk_single", "entityType": "wk_doc", "batchSize": 25,
  "steps": [{"type": "FILTER", "config": {"condition": "$.n > 0"}}]}') IS NOT NULL AS registered;
RESET ROLE;

-- Bad worker options: refused before anything starts.
CALL pgmigrate.run_pipeline('wk_slow', '{"workers": 0}');
CALL pgmigrate.run_pipeline('wk_slow', '{"workers": 65}');
CALL pgmigrate.run_pipeline('wk_slow', '{"workers": "two"}');
CALL pgmigrate.run_pipeline('wk_single', '{"workers": 2}');
CALL pgmigrate.run_pipeline('wk_slow', '{"join": "not a uuid"}');
-- pipeline_workers (what run_pipeline starts its workers with): 0 to 63 of them, only for
-- a RUNNING run; a pid counts while it is one of this server's workers (pid 1 is not, nor
-- is this session, a client backend).
SELECT pgmigrate.pipeline_workers(gen_random_uuid(), 64, '{}');
SELECT pgmigrate.pipeline_workers(gen_random_uuid(), -1, '{}');
SELECT pgmigrate.pipeline_workers(gen_random_uuid(), NULL, '{}');
SELECT pgmigrate.pipeline_workers('00000000-0000-0000-0000-000000000000', 1, '{}');
SELECT pgmigrate.pipeline_workers(gen_random_uuid(), 0, ARRAY[1, pg_backend_pid(), 0, -5]) AS alive;
CALL pgmigrate.run_pipeline('wk_slow', '{"join": null}');
CALL pgmigrate.run_pipeline('wk_slow', '{"join": "00000000-0000-0000-0000-000000000001", "batchSize": 5}');
CALL pgmigrate.run_pipeline('wk_slow', '{"join": "00000000-0000-0000-0000-000000000001"}');
SELECT pgmigrate.register_migration($${"name": "wk_transform", "version": "wk.1", "rollback": ["SELECT 1"], "forward": [
  {"type": "TRANSFORM", "pipeline": "wk_fast", "options": {"workers": 2}}]}$$) IS NOT NULL AS registered;
SELECT r->>'success' AS success, r->'result'->0->>'sqlstate' AS sqlstate, r->'result'->0->>'error' AS error FROM pgmigrate.execute_migration('wk_transform') r;
SELECT count(*) AS runs FROM pgmigrate.pipeline_runs WHERE pipeline_name LIKE 'wk\_%';

-- Four processes on one run, as a NOLOGIN role the session SET ROLE to: every document is
-- transformed exactly once, the workers took batches too, and they ran as the caller.
SET ROLE pgm_wk_caller;
CALL pgmigrate.run_pipeline('wk_slow', '{"workers": 4}');
RESET ROLE;
SELECT status, batches_total, docs_in, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow';
SELECT count(*) AS calls, count(DISTINCT entity) AS documents, count(DISTINCT pid) > 1 AS shared, array_agg(DISTINCT who) AS ran_as
  FROM pgm_wk.calls;
SELECT count(DISTINCT done_by) > 1 AS batches_by_several_processes, count(*) FILTER (WHERE b.status = 'DONE') AS done
  FROM pgmigrate.pipeline_batches b JOIN pgmigrate.pipeline_runs r USING (run_id) WHERE r.pipeline_name = 'wk_slow';
-- No worker starts for a finished run (55000).
\set VERBOSITY sqlstate
SELECT pgmigrate.pipeline_workers((SELECT run_id FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow'), 1, '{}');
\set VERBOSITY terse
SELECT count(*) FILTER (WHERE valid_to = 'infinity') AS current, count(*) AS versions,
       count(*) FILTER (WHERE valid_to = 'infinity' AND content->>'passes' = '1') AS transformed
  FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_doc';
SELECT DISTINCT action, role_name FROM pgmigrate.audit_log WHERE action LIKE 'pipeline.%' AND details->>'pipeline' = 'wk_slow' ORDER BY 1;
-- The CALL returned after its workers: none is left.
SELECT count(*) AS workers_left FROM pg_stat_activity WHERE backend_type = 'pg_migrate pipeline';
-- Joining a finished run does nothing (what a worker that starts late does).
SELECT jsonb_build_object('join', run_id) AS join_slow FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow' \gset
CALL pgmigrate.run_pipeline('wk_slow', :'join_slow');
SELECT count(*) AS runs FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow';
-- A joined run of another pipeline: refused.
\set VERBOSITY sqlstate
CALL pgmigrate.run_pipeline('wk_fast', :'join_slow');
\set VERBOSITY terse

-- The one-statement path with workers (built-in rules only).
CALL pgmigrate.run_pipeline('wk_fast', '{"workers": 3}');
SELECT status, docs_written, (SELECT bool_and(single_statement) FROM pgmigrate.pipeline_batches b WHERE b.run_id = r.run_id) AS one_statement
  FROM pgmigrate.pipeline_runs r WHERE pipeline_name = 'wk_fast';
SELECT count(*) FILTER (WHERE valid_to = 'infinity') AS current, count(*) AS versions,
       count(*) FILTER (WHERE valid_to = 'infinity' AND content->>'email' = lower('User' || (content->>'n') || '@X.ORG') AND NOT content ? 'Email') AS transformed
  FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_doc';

-- A document that fails under FAIL, whichever process meets it: the run is FAILED, the CALL
-- fails with the document's SQLSTATE, and no worker is left. Fixed, a resume with workers
-- finishes it, each document written once.
TRUNCATE pgm_wk.calls;
CREATE TABLE pgm_wk_fail_777 ();
\set VERBOSITY sqlstate
CALL pgmigrate.run_pipeline('wk_slow', '{"restart": true, "workers": 3}');
\set VERBOSITY terse
SELECT status, last_sqlstate, last_error LIKE '%document 777 is bad%' AS names_error FROM pgmigrate.pipeline_runs
 WHERE pipeline_name = 'wk_slow' AND status <> 'COMPLETED';
SELECT count(*) AS workers_left FROM pg_stat_activity WHERE backend_type = 'pg_migrate pipeline';
DROP TABLE pgm_wk_fail_777;
CALL pgmigrate.run_pipeline('wk_slow', '{"workers": 3}');
SELECT status, docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow' ORDER BY started_at DESC LIMIT 1;
SELECT count(DISTINCT entity_id) AS entities, count(*) AS versions_written
  FROM pgmigrate.pipeline_changes c JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'wk_slow' AND r.status = 'COMPLETED' AND r.started_at = (SELECT max(started_at) FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow');

-- Cancelled (statement_timeout) while workers share the run: CANCELLED, workers stopped;
-- resumed with workers, it completes with every document written exactly once.
TRUNCATE pgm_wk.calls;
SET statement_timeout = '400ms';
CALL pgmigrate.run_pipeline('wk_slow', '{"restart": true, "workers": 3}');
RESET statement_timeout;
SELECT status, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow' ORDER BY started_at DESC LIMIT 1;
-- (On a loaded machine the timeout can land while the workers are being started: the run
-- is CANCELLED all the same and they stop before their first batch, a moment later.)
DO $$
BEGIN
    FOR i IN 1 .. 1000 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_migrate pipeline');
        PERFORM pg_sleep(0.01);
    END LOOP;
END $$;
SELECT count(*) AS workers_left FROM pg_stat_activity WHERE backend_type = 'pg_migrate pipeline';
CALL pgmigrate.run_pipeline('wk_slow', '{"workers": 3}');
SELECT status, docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow' ORDER BY started_at DESC LIMIT 1;
SELECT count(*) AS calls, count(DISTINCT entity) AS documents FROM pgm_wk.calls;
SELECT count(*) AS written, count(DISTINCT entity_id) AS entities
  FROM pgmigrate.pipeline_changes c WHERE c.run_id = (SELECT run_id FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow' ORDER BY started_at DESC LIMIT 1);

-- Cancelled (statement_timeout) while this session waits for its workers (a step slow in
-- workers only): the run is CANCELLED, the CALL fails once the workers have stopped, none
-- is left, and a resume completes it.
CREATE FUNCTION pgm_wk.slow_in_workers(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT backend_type FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()) <> 'client backend' THEN
        PERFORM pg_sleep(0.1);
    END IF;
    RETURN d || '{"waited": true}';
END $$;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'wk_wait', jsonb_build_object('n', g) FROM generate_series(1, 300) g;
SELECT pgmigrate.register_pipeline('{"name": "wk_wait", "entityType": "wk_wait", "parallel": true, "batchSize": 20,
  "steps": [{"type": "CUSTOM", "config": {"function": "pgm_wk.slow_in_workers"}}]}') IS NOT NULL AS registered;
SET statement_timeout = '700ms';
\set SHOW_CONTEXT never
CALL pgmigrate.run_pipeline('wk_wait', '{"workers": 3}');
\set SHOW_CONTEXT errors
RESET statement_timeout;
SELECT status, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_wait';
SELECT count(*) AS workers_left FROM pg_stat_activity WHERE backend_type = 'pg_migrate pipeline';
CALL pgmigrate.run_pipeline('wk_wait');
SELECT status, docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_wait';
SELECT count(*) FILTER (WHERE content ? 'waited') AS transformed, count(*) AS current
  FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_wait' AND valid_to = 'infinity';
DELETE FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_wait';

-- More workers than the server has slots: the run still completes with those it got.
CALL pgmigrate.run_pipeline('wk_fast', '{"restart": true, "workers": 64}');
SELECT status FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_fast' ORDER BY started_at DESC LIMIT 1;

-- Under a SERIALIZABLE (or REPEATABLE READ) default, batches still run at READ COMMITTED,
-- so the processes sharing a run neither fail each other's claims and commits (40001) nor
-- back off from each other: 120 batches over 4 processes complete, each batch once.
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'wk_ssi', jsonb_build_object('n', g) FROM generate_series(1, 600) g;
SET ROLE pgm_wk_author;
SELECT pgmigrate.register_pipeline('{"name": "wk_ssi", "entityType": "wk_ssi", "batchSize": 5, "parallel": true,
  "steps": [{"type": "CUSTOM", "config": {"function": "pgm_wk.slow"}}]}') IS NOT NULL AS registered;
RESET ROLE;
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET default_transaction_isolation = 'serializable';
\c
SET client_min_messages = warning;
SHOW default_transaction_isolation;
CALL pgmigrate.run_pipeline('wk_ssi', '{"workers": 4}');
ALTER DATABASE :"db" RESET default_transaction_isolation;
\c
SET client_min_messages = warning;
SELECT r.status, r.docs_written, count(*) FILTER (WHERE b.status = 'DONE') AS batches_done, count(DISTINCT b.done_by) > 1 AS shared
  FROM pgmigrate.pipeline_runs r JOIN pgmigrate.pipeline_batches b USING (run_id) WHERE r.pipeline_name = 'wk_ssi' GROUP BY 1, 2;
SELECT count(*) FILTER (WHERE (content->>'passes')::int = 1) AS transformed_once, count(DISTINCT entity_id) AS entities
  FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_ssi' AND valid_to = 'infinity';
DELETE FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_ssi';

-- Rolling back a run that workers wrote restores every document it changed.
SELECT pgmigrate.rollback_pipeline((SELECT run_id FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'wk_slow' ORDER BY started_at DESC LIMIT 1)) AS rolled_back;
SELECT content->>'passes' AS passes, count(*) FROM pgmigrate.temporal_entities
 WHERE entity_type = 'wk_doc' AND valid_to = 'infinity' GROUP BY 1;

-- Values read and printed as the session that started the run reads them, in every process
-- sharing it: "01/02/2024" under DateStyle DMY is the 1st of February, in the workers too
-- (they read it as January 2nd, so one run gave different dates to equal documents).
INSERT INTO pgmigrate.temporal_entities (entity_type, content)
SELECT 'wk_date', jsonb_build_object('d', '01/02/2024 10:00') FROM generate_series(1, 40);
SELECT pgmigrate.register_pipeline('{"name": "wk_date", "entityType": "wk_date", "batchSize": 2, "parallel": true, "steps": [{"type": "MAP",
  "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "d", "transformation": {"function": "date_format", "to": "YYYY-MM-DD HH24:MI"}}]}}]}') IS NOT NULL AS registered;
SET DateStyle = 'ISO, DMY';
CALL pgmigrate.run_pipeline('wk_date', '{"workers": 3}');
RESET DateStyle;
SELECT content->>'d' AS d, count(*) FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_date' AND valid_to = 'infinity' GROUP BY 1;
SELECT count(DISTINCT b.done_by) > 1 AS shared FROM pgmigrate.pipeline_batches b JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'wk_date';
SHOW DateStyle;
DELETE FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_date';

RESET client_min_messages;
DROP SCHEMA pgm_wk CASCADE;
DELETE FROM pgmigrate.temporal_entities WHERE entity_type = 'wk_doc';
DELETE FROM pgmigrate.pipelines WHERE name LIKE 'wk\_%';
DROP OWNED BY pgm_wk_author, pgm_wk_caller;
DROP ROLE pgm_wk_author;
DROP ROLE pgm_wk_caller;
