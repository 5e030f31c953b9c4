-- Transformation pipelines: definitions, every rule and step type, preview, committed and
-- resumable runs, SKIP / RETRY / FAIL, cancel and resume, rollback and its refusal,
-- TRANSFORM steps in the engine, privileges.
SET client_min_messages = warning;
\set VERBOSITY terse
DROP ROLE IF EXISTS pl_author;
DROP ROLE IF EXISTS pl_runner;
DROP ROLE IF EXISTS pl_nobody;
CREATE ROLE pl_author;
CREATE ROLE pl_runner;
CREATE ROLE pl_nobody;
SELECT pgmigrate.grant_pipeline_admin('pl_author'), pgmigrate.grant_pipeline_admin('pl_runner');
CREATE SCHEMA pl_s AUTHORIZATION pl_author;
GRANT USAGE ON SCHEMA pl_s TO pl_runner;

-- The author's lookup table and functions: the runner cannot read or call them itself.
SET ROLE pl_author;
CREATE TABLE pl_s.countries (code text PRIMARY KEY, name text);
INSERT INTO pl_s.countries VALUES ('NL', 'Netherlands'), ('DE', 'Germany'), ('ÉS', 'España');
CREATE FUNCTION pl_s.shout(v jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(upper(v #>> '{}') || '!') $$;
CREATE FUNCTION pl_s.tag(d jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT CASE WHEN d ? 'drop' THEN NULL ELSE d || '{"tagged": true}' END $$;
CREATE FUNCTION pl_s.number_all(ds jsonb[]) RETURNS jsonb[] LANGUAGE sql AS $$
    SELECT array_agg(d || jsonb_build_object('pos', n) ORDER BY n) FROM unnest(ds) WITH ORDINALITY u(d, n) $$;
CREATE SEQUENCE pl_s.flaky_calls;
-- Fails (serialization_failure, a transient error) on its first call only.
CREATE FUNCTION pl_s.flaky(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('pl_s.flaky_calls') = 1 THEN
        RAISE EXCEPTION 'flaky first call' USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN d || '{"flaky": "ok"}';
END $$;
-- Always fails on a document marked bad.
CREATE FUNCTION pl_s.picky(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    IF d ? 'bad' THEN
        RAISE EXCEPTION 'picky: cannot handle %', d->>'name' USING ERRCODE = 'data_exception';
    END IF;
    RETURN d || '{"picky": "ok"}';
END $$;
REVOKE ALL ON FUNCTION pl_s.shout(jsonb), pl_s.tag(jsonb), pl_s.number_all(jsonb[]), pl_s.flaky(jsonb), pl_s.picky(jsonb) FROM PUBLIC;
RESET ROLE;

-- Documents with fixed ids (so the output is stable).
CREATE FUNCTION pgm_test.eid(n int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$ SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid $$;
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT pgm_test.eid(g), 'pl_person',
       jsonb_build_object('first', 'Ann' || g, 'Last Name', ' Smith ', 'age', g * 10,
                          'country', CASE WHEN g % 3 = 0 THEN 'es' WHEN g % 2 = 0 THEN 'nl' ELSE 'de' END,
                          'addr', jsonb_build_object('zip', '100' || g), 'tags', 'a,b', 'born', '2001-02-0' || g,
                          'n', g::text, 'team', CASE WHEN g <= 3 THEN 'red' ELSE 'blue' END,
                          'it''s "q"', 'quoted key', 'ключ', 'значение ' || g)
  FROM generate_series(1, 6) g;
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
VALUES (pgm_test.eid(101), 'pl_team', '{"key": "red", "label": "Red team", "lead": "Ann1"}'),
       (pgm_test.eid(102), 'pl_team', '{"key": "blue", "label": "Blue team", "lead": "Ann4"}');

-- Definitions are checked, naming the JSON path of what is wrong.
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "MAPX"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_SPLAT"}]}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "batchsize": 5, "steps": []}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "a", "target": "b", "color": 1}]}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "a", "transformation": "reverse"}]}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "FILTER", "config": {"condition": "$.a >>> 1"}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "CUSTOM", "config": {"function": "pl_s.nope"}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "JOIN", "config": {"table": "pl_s.nope", "on": {"left": "a", "right": "b"}}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "MAP", "errorHandling": "IGNORE", "config": {"mappingRules": []}}]}')$$);
CALL pgmigrate.run_pipeline('no such pipeline');
SELECT pgm_test.expect_error($$SELECT * FROM pgmigrate.pipeline_preview('{"name": "x", "entityType": "pl_person", "steps": [{"type": "FILTER", "config": {"condition": "1"}}]}', 1, '{"colour": 1}')$$);

-- Privileges: roles without the grant cannot register, run, preview or roll back.
SET ROLE pl_nobody;
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "x", "steps": [{"type": "FILTER", "config": {"condition": "true"}}]}')$$);
CALL pgmigrate.run_pipeline('x');
SELECT pgm_test.expect_error($$SELECT * FROM pgmigrate.pipeline_preview('x')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.rollback_pipeline(gen_random_uuid())$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.pipelines (name, definition, compiled, author, author_search_path) VALUES ('x', '{}', '{}', 'pl_nobody', '')$$);
RESET ROLE;

-- Every MAP rule: renames (top-level, nested, hostile names), every built-in transform,
-- an SQL function, merges, conditionals, lookups (table, with a miss and a default).
SET ROLE pl_author;
SELECT pgmigrate.register_pipeline($${"name": "people", "entityType": "pl_person", "batchSize": 4, "steps": [
  {"name": "reshape", "type": "MAP", "config": {"mappingRules": [
     {"type": "FIELD_RENAME", "source": "first", "target": "firstName"},
     {"type": "FIELD_RENAME", "source": "addr.zip", "target": "address.postal.code"},
     {"type": "FIELD_RENAME", "source": ["it's \"q\""], "target": ["odd.name"]},
     {"type": "FIELD_RENAME", "source": "missing", "target": "never"},
     {"type": "FIELD_TRANSFORM", "field": "country", "transformation": "upper"},
     {"type": "FIELD_TRANSFORM", "field": "Last Name", "transformation": "trim"},
     {"type": "FIELD_TRANSFORM", "field": "n", "transformation": "to_number"},
     {"type": "FIELD_TRANSFORM", "field": "tags", "transformation": {"function": "split", "separator": ","}},
     {"type": "FIELD_TRANSFORM", "field": "born", "transformation": {"function": "date_format", "from": "YYYY-MM-DD", "to": "DD.MM.YYYY"}},
     {"type": "FIELD_TRANSFORM", "field": "status", "transformation": {"function": "default", "value": "active"}},
     {"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_string"},
     {"type": "FIELD_TRANSFORM", "field": "ключ", "transformation": {"function": "concat", "prefix": "«", "suffix": "»"}},
     {"type": "FIELD_TRANSFORM", "field": "team", "transformation": {"sqlFunction": "pl_s.shout"}},
     {"type": "FIELD_TRANSFORM", "field": "nowhere", "transformation": "lower"},
     {"type": "FIELD_MERGE", "sourceFields": ["firstName", "Last Name"], "targetField": "full", "mergeStrategy": "CONCAT", "separator": " "},
     {"type": "FIELD_MERGE", "sourceFields": ["country", "status"], "targetField": "meta.both", "mergeStrategy": "OBJECT"},
     {"type": "FIELD_MERGE", "sourceFields": ["nope", "country"], "targetField": "first_nn", "mergeStrategy": "FIRST_NON_NULL"},
     {"type": "FIELD_MERGE", "sourceFields": ["country", "nope", "n"], "targetField": "arr", "mergeStrategy": "ARRAY"},
     {"type": "FIELD_MERGE", "sourceFields": ["address", "meta"], "targetField": "deep", "mergeStrategy": "DEEP_MERGE", "removeSources": true},
     {"type": "CONDITIONAL_TRANSFORM", "condition": "$.n >= 4 && $.country == \"NL\"", "rules": [
        {"type": "FIELD_TRANSFORM", "field": "senior_nl", "transformation": {"function": "default", "value": true}}]},
     {"type": "LOOKUP_TRANSFORM", "keyField": "country", "lookupTable": "pl_s.countries", "lookupKey": "code", "lookupValue": "name",
      "targetField": "countryName", "default": "unknown"}
  ]}}]}$$) IS NOT NULL AS registered;
RESET ROLE;
-- A runner with no access to the author's table or functions previews and runs it: the
-- pipeline's SQL runs as its author.
SET ROLE pl_runner;
SELECT pgm_test.expect_error($$SELECT * FROM pl_s.countries$$);
SELECT entity_id, jsonb_pretty(after) AS after, errors FROM pgmigrate.pipeline_preview('people', 2);
-- Preview wrote nothing.
SELECT count(*) AS versions FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_person';
CALL pgmigrate.run_pipeline('people');
SELECT status, batches_total, batches_done, docs_in, docs_out, docs_written, docs_failed, checkpoint, author, started_by
  FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'people';
RESET ROLE;
-- Results are new temporal versions: one closed and one current row per document.
SELECT count(*) FILTER (WHERE valid_to = 'infinity') AS current, count(*) FILTER (WHERE valid_to < 'infinity') AS closed
  FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_person';
SELECT entity_id, content->'firstName' AS first, content->'countryName' AS country, content->'deep' AS deep,
       content->'odd.name' AS odd, content->'ключ' AS unicode, content->'team' AS team, content ? 'senior_nl' AS senior
  FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_person' AND valid_to = 'infinity' ORDER BY entity_id;
-- Rollback: the run's documents get their pre-run content back, as new versions.
SELECT pgmigrate.rollback_pipeline(run_id) FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'people' AND docs_written = 6;
SELECT count(*) AS restored FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_person' AND valid_to = 'infinity' AND content ? 'first';
SELECT regexp_replace(pgm_test.expect_error($$SELECT pgmigrate.rollback_pipeline(run_id) FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'people' AND docs_written = 6$$), 'run [0-9a-f-]{36}', 'run <id>');
-- Refused when a document changed after the run wrote it (naming it), unless forced.
CALL pgmigrate.run_pipeline('people', '{"restart": true}');
WITH cur AS (UPDATE pgmigrate.temporal_entities SET valid_to = clock_timestamp()
              WHERE entity_id = pgm_test.eid(2) AND valid_to = 'infinity' RETURNING entity_id, entity_type, content)
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT entity_id, entity_type, content || '{"edited": "by the app"}' FROM cur;
SELECT regexp_replace(pgm_test.expect_error($$SELECT pgmigrate.rollback_pipeline(run_id) FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'people' AND status = 'COMPLETED' AND docs_written = 6$$), 'run [0-9a-f-]{36}', 'run <id>');
SELECT pgmigrate.rollback_pipeline(run_id, force => true) FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'people' AND status = 'COMPLETED' AND docs_written = 6;
SELECT count(*) AS restored FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_person' AND valid_to = 'infinity' AND content ? 'first' AND NOT content ? 'edited';

-- FILTER, JOIN (entity type, inner and left), CUSTOM per document and per batch, AGGREGATE:
-- previewed (nothing written).
SET ROLE pl_author;
SELECT entity_id, after, errors FROM pgmigrate.pipeline_preview($${"name": "shapes", "entityType": "pl_person", "steps": [
  {"type": "FILTER", "config": {"condition": "$.age > 15 && $.age < 55"}},
  {"type": "JOIN", "config": {"entityType": "pl_team", "on": {"left": "team", "right": "key"}, "fields": {"teamLabel": "label"}, "kind": "INNER"}},
  {"type": "CUSTOM", "condition": "$.age >= 40", "config": {"function": "pl_s.tag"}},
  {"type": "CUSTOM", "config": {"function": "pl_s.number_all", "mode": "batch"}}]}$$, 10);
SELECT entity_id, after->'country' AS country, after->'c' AS c FROM pgmigrate.pipeline_preview($${"name": "joins", "entityType": "pl_person", "steps": [
  {"type": "MAP", "config": {"rules": [{"type": "FIELD_TRANSFORM", "field": "country", "transformation": "upper"}]}},
  {"type": "JOIN", "condition": "$.age < 30", "config": {"table": "pl_s.countries", "on": {"left": "country", "right": "code"}, "into": "c"}}]}$$, 3);
SELECT after FROM pgmigrate.pipeline_preview($${"name": "agg", "entityType": "pl_person", "steps": [
  {"type": "AGGREGATE", "config": {"groupBy": ["team"], "aggregations": [
     {"op": "count", "as": "n"}, {"op": "sum", "path": "age", "as": "total"}, {"op": "avg", "path": "age", "as": "mean"},
     {"op": "min", "path": "age", "as": "youngest"}, {"op": "max", "path": "age", "as": "oldest"},
     {"op": "array", "path": "first", "as": "names"}, {"op": "object", "keyPath": "first", "path": "country", "as": "by_name"}]}}]}$$)
 WHERE entity_id IS NULL ORDER BY after->>'team';
-- An aggregate run writes one new document per group, as the named entity type.
SELECT pgmigrate.register_pipeline($${"name": "team_stats", "entityType": "pl_person", "steps": [
  {"type": "AGGREGATE", "config": {"groupBy": [{"path": "team", "as": "team"}], "aggregations": [{"op": "count", "as": "members"}]}}]}$$) IS NOT NULL;
CALL pgmigrate.run_pipeline('team_stats');
CALL pgmigrate.run_pipeline('team_stats', '{"outputEntityType": "pl_team_stats", "restart": true}');
SELECT content FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_team_stats' ORDER BY content->>'team';
RESET ROLE;

-- Error handling. SKIP: an item that always fails costs only itself.
SET ROLE pl_author;
SELECT pgmigrate.register_pipeline($${"name": "skipper", "entityType": "pl_flaky", "batchSize": 8, "steps": [
  {"name": "pick", "type": "CUSTOM", "errorHandling": "SKIP", "config": {"function": "pl_s.picky"}}]}$$) IS NOT NULL;
RESET ROLE;
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT pgm_test.eid(200 + g), 'pl_flaky', jsonb_build_object('name', 'd' || g) || CASE WHEN g IN (7, 11) THEN '{"bad": 1}'::jsonb ELSE '{}'::jsonb END
  FROM generate_series(1, 12) g;
CALL pgmigrate.run_pipeline('skipper');
SELECT status, docs_in, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'skipper';
SELECT entity_id, step, error, sqlstate, original FROM pgmigrate.pipeline_errors e JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'skipper' ORDER BY entity_id;
SELECT count(*) AS picked FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_flaky' AND valid_to = 'infinity' AND content ? 'picky';

-- RETRY: a transient error (a function failing on its first call) is retried, then succeeds.
SET ROLE pl_author;
SELECT pgmigrate.register_pipeline($${"name": "retrier", "entityType": "pl_flaky", "steps": [
  {"name": "flaky", "type": "CUSTOM", "errorHandling": "RETRY", "config": {"function": "pl_s.flaky"}}]}$$) IS NOT NULL;
RESET ROLE;
CALL pgmigrate.run_pipeline('retrier');
SELECT status, docs_written, docs_failed, retries FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'retrier';
-- RETRY with a deterministic error: handled as FAIL.
SET ROLE pl_author;
SELECT pgmigrate.register_pipeline($${"name": "retrier2", "entityType": "pl_flaky", "steps": [
  {"name": "pick", "type": "CUSTOM", "errorHandling": "RETRY", "config": {"function": "pl_s.picky"}}]}$$) IS NOT NULL;
RESET ROLE;
CALL pgmigrate.run_pipeline('retrier2');
SELECT status, last_sqlstate, retries FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'retrier2';

-- FAIL: the failing batch is undone, the run stops FAILED with earlier batches kept, and
-- a later CALL resumes from the checkpoint.
SET ROLE pl_author;
SELECT pgmigrate.register_pipeline($${"name": "failer", "entityType": "pl_flaky", "batchSize": 4, "steps": [
  {"name": "pick", "type": "CUSTOM", "config": {"function": "pl_s.picky"}}]}$$) IS NOT NULL;
RESET ROLE;
CALL pgmigrate.run_pipeline('failer');
SELECT status, batches_done, docs_written, checkpoint, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'failer';
UPDATE pgmigrate.temporal_entities SET content = content - 'bad' WHERE entity_type = 'pl_flaky' AND valid_to = 'infinity' AND content ? 'bad';
CALL pgmigrate.run_pipeline('failer');
SELECT status, batches_done, docs_written, checkpoint FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'failer';
SELECT count(*) AS versions_per_doc_max FROM pgmigrate.pipeline_changes c JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'failer' GROUP BY c.entity_id ORDER BY 1 DESC LIMIT 1;

-- Cancel mid-run (the backend cancels itself while transforming its second batch), then resume.
CREATE SEQUENCE pgm_test.cancel_calls;
CREATE FUNCTION pgm_test.cancel_once(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    IF d->>'name' = 'd6' AND nextval('pgm_test.cancel_calls') = 1 THEN
        PERFORM pg_cancel_backend(pg_backend_pid());
        PERFORM pg_sleep(5);
    END IF;
    RETURN d || '{"cancel_test": true}';
END $$;
SELECT pgmigrate.register_pipeline($${"name": "cancelled", "entityType": "pl_flaky", "batchSize": 4, "steps": [
  {"type": "CUSTOM", "config": {"function": "pgm_test.cancel_once"}}]}$$) IS NOT NULL;
CALL pgmigrate.run_pipeline('cancelled');
SELECT status, batches_done, docs_written, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'cancelled';
CALL pgmigrate.run_pipeline('cancelled');
SELECT status, batches_done, docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'cancelled';
SELECT count(*) AS written_once FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_flaky' AND valid_to = 'infinity' AND content ? 'cancel_test';

-- Big and unicode documents: ~400 KB each.
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT pgm_test.eid(300 + g), 'pl_big', jsonb_build_object('título', repeat('ñandú 🦤 ', 40000), 'n', g, 'nested', jsonb_build_object('deep', repeat('x', 1000)))
  FROM generate_series(1, 3) g;
SELECT pgmigrate.register_pipeline($${"name": "big", "entityType": "pl_big", "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "FIELD_RENAME", "source": "título", "target": "title"},
  {"type": "FIELD_TRANSFORM", "field": "title", "transformation": "upper"},
  {"type": "FIELD_RENAME", "source": "nested.deep", "target": "flat"}]}}]}$$) IS NOT NULL;
CALL pgmigrate.run_pipeline('big');
SELECT entity_id, length(content::text) AS bytes, left(content->>'title', 20) AS title, length(content->>'flat') AS flat, content->'nested' AS nested
  FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_big' AND valid_to = 'infinity' ORDER BY 1;

-- The engine: a TRANSFORM step runs a pipeline inside the migration's transaction.
SELECT pgmigrate.register_migration($${"name": "pl_transform_ok", "version": "pl.1", "rollback": ["SELECT 1"], "forward": [
  {"type": "TRANSFORM", "pipeline": {"name": "inline_ok", "entityType": "pl_team", "steps": [{"type": "MAP", "config": {"mappingRules": [
     {"type": "FIELD_RENAME", "source": "label", "target": "title"}]}}]}}]}$$) IS NOT NULL;
SELECT pgmigrate.execute_migration('pl_transform_ok')->>'success' AS ok;
SELECT content FROM pgmigrate.temporal_entities WHERE entity_type = 'pl_team' AND valid_to = 'infinity' ORDER BY entity_id;
-- A failing later step undoes the migration, the pipeline's writes included.
SELECT pgmigrate.register_migration($${"name": "pl_transform_fail", "version": "pl.2", "rollback": ["SELECT 1"], "forward": [
  {"type": "TRANSFORM", "pipeline": "people"},
  {"type": "SQL", "script": "SELECT 1 / 0"}]}$$) IS NOT NULL;
SELECT count(*) AS runs_before FROM pgmigrate.pipeline_runs;
SELECT pgmigrate.execute_migration('pl_transform_fail', '{"force": true}')->>'success' AS ok;
SELECT count(*) AS runs_after FROM pgmigrate.pipeline_runs;
SELECT count(*) FILTER (WHERE content ? 'firstName') AS transformed FROM pgmigrate.temporal_entities
 WHERE entity_type = 'pl_person' AND valid_to = 'infinity';
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"type": "TRANSFORM"}]}')$$);

-- Stored SQL runs as its author: a pipeline whose author cannot read a table fails even
-- when a superuser runs it.
CREATE TABLE pgm_test.secret (code text, name text);
SET ROLE pl_author;
SELECT pgmigrate.register_pipeline($${"name": "nosy", "entityType": "pl_person", "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "LOOKUP_TRANSFORM", "keyField": "country", "lookupTable": "pgm_test.secret", "lookupKey": "code", "lookupValue": "name", "targetField": "s"}]}}]}$$) IS NOT NULL;
RESET ROLE;
CALL pgmigrate.run_pipeline('nosy');
-- Only the author (or a member of its role) replaces a pipeline.
SET ROLE pl_runner;
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "nosy", "steps": [{"type": "FILTER", "config": {"condition": "true"}}]}')$$);
RESET ROLE;

-- Audit trail.
SELECT action, count(*) FROM pgmigrate.audit_log WHERE action LIKE 'pipeline.%' AND coalesce(details->>'name', details->>'pipeline', '') NOT LIKE 'owner\_probe\_%'
 GROUP BY action ORDER BY action;

-- A TRANSFORM step does not run a pipeline whose run is going (55000, and the error's hint
-- reaches the caller of execute_migration); neither a TRANSFORM step nor a one-transaction
-- rollback_pipeline leaves its lock_timeout or enable_memoize to the rest of the caller's
-- transaction.
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'pl_busy', jsonb_build_object('n', g) FROM generate_series(1, 3) g;
SELECT pgmigrate.register_pipeline('{"name": "pl_busy", "entityType": "pl_busy", "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "FIELD_RENAME", "source": "n", "target": "m"}]}}]}') IS NOT NULL AS registered;
SELECT pgmigrate.register_migration('{"name": "pl_busy_step", "version": "pl.9", "rollback": ["SELECT 1"],
  "forward": [{"name": "t", "type": "TRANSFORM", "pipeline": "pl_busy"}]}') IS NOT NULL AS registered;
SELECT pgmigrate.pipeline_start('pl_busy', '{}')->>'resumed' AS resumed;  -- left RUNNING (as by a crash)
-- (The error names the run in the way; run ids masked.)
DO $$
DECLARE m text; h text;
BEGIN
    PERFORM pgmigrate.execute_migration('pl_busy_step', '{"force": true, "raise": true}');
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
    RAISE WARNING E'%: %\nHINT: %', SQLSTATE, regexp_replace(m, '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}', '<run>', 'g'),
        regexp_replace(h, '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}', '<run>', 'g');
END $$;
CALL pgmigrate.run_pipeline('pl_busy');
BEGIN;
SET LOCAL lock_timeout = '7s';
SET LOCAL enable_memoize = on;
SELECT pgmigrate.execute_migration('pl_busy_step', '{"force": true}')->>'success' AS ok;
SELECT pgmigrate.rollback_pipeline(run_id) AS rolled_back FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'pl_busy' AND status = 'COMPLETED'
 ORDER BY started_at LIMIT 1;
SHOW lock_timeout;
SHOW enable_memoize;
ROLLBACK;
-- Called inside a transaction block, run_pipeline fails at its first COMMIT without leaving
-- the session-level lock a non-parallel run is worked under (other sessions were refused
-- "being worked by another session" until this one disconnected).
BEGIN;
CALL pgmigrate.run_pipeline('pl_busy', '{"restart": true}');
ROLLBACK;
SELECT count(*) AS advisory_locks_left FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- Clean up the roles (their pipelines stay, as history).
DROP SCHEMA pl_s CASCADE;
DROP OWNED BY pl_author, pl_runner, pl_nobody;
DROP ROLE pl_author;
DROP ROLE pl_runner;
DROP ROLE pl_nobody;
