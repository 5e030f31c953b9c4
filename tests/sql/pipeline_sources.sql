-- Pipelines over a SQL query's (id, document) rows, validation against a named schema
-- version, and documents in / out / failed per step.
SET client_min_messages = warning;
\set VERBOSITY terse
DROP ROLE IF EXISTS pq_author;
DROP ROLE IF EXISTS pq_runner;
CREATE ROLE pq_author;
CREATE ROLE pq_runner;
SELECT pgmigrate.grant_pipeline_admin('pq_author'), pgmigrate.grant_pipeline_admin('pq_runner');
CREATE SCHEMA pq AUTHORIZATION pq_author;
CREATE FUNCTION pgm_test.qid(n int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$ SELECT ('00000000-0000-0000-0001-' || lpad(n::text, 12, '0'))::uuid $$;

-- The author's own table (the runner cannot read it).
SET ROLE pq_author;
CREATE TABLE pq.customers (id uuid PRIMARY KEY, name text, email text, tier text);
INSERT INTO pq.customers SELECT pgm_test.qid(g), 'Cust ' || g, 'Cust' || g || '@Example.COM', CASE WHEN g % 2 = 0 THEN 'gold' END
  FROM generate_series(1, 7) g;
-- Import the table into the entity store through a pipeline: ids become entities.
SELECT pgmigrate.register_pipeline($${"name": "import", "entityType": "pq_customer", "batchSize": 3,
  "query": "SELECT c.id, to_jsonb(c) - 'id' FROM pq.customers c;",
  "steps": [{"name": "clean", "type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"},
    {"type": "FIELD_TRANSFORM", "field": "tier", "transformation": {"function": "default", "value": "basic"}}]}}]}$$) IS NOT NULL AS registered;
RESET ROLE;
SELECT has_table_privilege('pq_runner', 'pq.customers', 'SELECT') AS runner_reads_table;

-- Preview: the query's first rows, nothing written.
SET ROLE pq_runner;
SELECT entity_id, after FROM pgmigrate.pipeline_preview('import', 2);
SELECT count(*) AS written_by_preview FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_customer';
-- The definition's query runs as the pipeline's author, whoever runs it.
CALL pgmigrate.run_pipeline('import');
RESET ROLE;
SELECT status, batches_total, docs_in, docs_written, docs_failed, source_query IS NOT NULL AS from_query, query_author
  FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'import';
SELECT entity_id, content FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_customer' AND valid_to = 'infinity' ORDER BY entity_id;
SELECT s.step_no, s.step, s.docs_in, s.docs_out, s.docs_failed FROM pgmigrate.pipeline_steps s JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'import' ORDER BY s.step_no;

-- Run again: the documents are already what the pipeline makes, so nothing is written.
CALL pgmigrate.run_pipeline('import');
SELECT status, docs_in, docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'import' ORDER BY started_at DESC LIMIT 1;

-- A query over the entity store itself (a subset), from the run options: it runs as the
-- caller, who needs to be able to read what it names.
SET ROLE pq_author;
SELECT pgmigrate.register_pipeline($${"name": "golden", "entityType": "pq_customer", "batchSize": 2,
  "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "name", "target": "fullName"}]}}]}$$) IS NOT NULL;
RESET ROLE;
SET ROLE pq_runner;
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"query": "SELECT id, to_jsonb(c) FROM pq.customers c"}')$$);
CALL pgmigrate.run_pipeline('golden', $${"query": "SELECT entity_id, content FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_customer' AND valid_to = 'infinity' AND content->>'tier' = 'gold'"}$$);
RESET ROLE;
SELECT content->>'tier' AS tier, count(*) FILTER (WHERE content ? 'fullName') AS renamed, count(*) AS docs
  FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_customer' AND valid_to = 'infinity' GROUP BY 1 ORDER BY 1;
SELECT query_author, started_by FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'golden' AND status = 'COMPLETED';

-- The query is read when the run starts; a document changed after that is not overwritten:
-- it is recorded (40001, step "source") and the rest is written.
SELECT (pgmigrate.pipeline_start('golden', $${"restart": true, "query": "SELECT entity_id, content - 'fullName' || jsonb_build_object('name', content->'fullName') FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_customer' AND valid_to = 'infinity' AND content ? 'fullName'"}$$))->>'batches' AS batches;
UPDATE pgmigrate.temporal_entities SET content = content || '{"touched": true}'
 WHERE entity_id = pgm_test.qid(4) AND valid_to = 'infinity';
CALL pgmigrate.run_pipeline('golden');
SELECT status, docs_in, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'golden' ORDER BY started_at DESC LIMIT 1;
SELECT e.entity_id, e.step, e.sqlstate, e.error FROM pgmigrate.pipeline_errors e
  JOIN pgmigrate.pipeline_runs r USING (run_id) WHERE r.pipeline_name = 'golden';
SELECT content ? 'touched' AS kept_later_change FROM pgmigrate.temporal_entities WHERE entity_id = pgm_test.qid(4) AND valid_to = 'infinity';

-- Rollback of the import: the entities it created are closed.
SELECT pgmigrate.rollback_pipeline(run_id, force => true) AS restored FROM pgmigrate.pipeline_runs
 WHERE pipeline_name = 'import' AND docs_written > 0;
SELECT count(*) AS current_customers FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_customer' AND valid_to = 'infinity';

-- Bad queries: clear errors, nothing started.
SET ROLE pq_author;
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT name, email FROM pq.customers"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT id FROM pq.customers"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT id, to_jsonb(c) FROM pq.customers c, generate_series(1, 2)"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT NULL::uuid, jsonb_build_object()"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT id, to_jsonb(name) FROM pq.customers"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT id, to_jsonb(c) FROM pq.customers c; DROP TABLE pq.customers"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "  ;  "}')$$);
RESET ROLE;
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, is_deleted) VALUES
  (pgm_test.qid(90), 'pq_other', '{}', false), (pgm_test.qid(91), 'pq_customer', '{}', true);
SET ROLE pq_author;
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT pgm_test.qid(90), jsonb_build_object()"}')$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.run_pipeline('golden', '{"restart": true, "query": "SELECT pgm_test.qid(91), jsonb_build_object()"}')$$);
RESET ROLE;
SELECT count(*) AS customers_table_intact FROM pq.customers;

-- Validation against a named schema version (not the active one).
SELECT pgmigrate.register_schema_version('pq-strict', $${"entities": {"pq_customer": {"fields": {
  "email": {"type": "string", "nullable": false}, "tier": {"type": "string", "nullable": false}}}}}$$, force => true) IS NOT NULL AS registered;
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "v", "validation": {"output": true, "schemaVersion": "no-such"}, "steps": [{"type": "FILTER", "config": {"condition": "true"}}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_pipeline('{"name": "v", "validation": {"schemaVersion": "pq-strict"}, "steps": [{"type": "FILTER", "config": {"condition": "true"}}]}')$$);
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content) VALUES
  (pgm_test.qid(101), 'pq_strict', '{"email": "a@x", "tier": "gold"}'),
  (pgm_test.qid(102), 'pq_strict', '{"email": "b@x"}'),
  (pgm_test.qid(103), 'pq_strict', '{"tier": "basic"}');
SET ROLE pq_author;
SELECT pgmigrate.register_pipeline($${"name": "strict", "entityType": "pq_strict",
  "query": "SELECT entity_id, content FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_strict' AND valid_to = 'infinity'",
  "validation": {"output": true, "errorHandling": "SKIP", "schemaVersion": "pq-strict"},
  "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "email", "transformation": "upper"}]}}]}$$) IS NOT NULL;
RESET ROLE;
-- The entities are checked as pq_customer: the type under which the version defines them.
CALL pgmigrate.run_pipeline('strict', '{"entityType": "pq_strict"}');
SELECT status, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'strict';
SELECT pgmigrate.register_schema_version('pq-strict2', $${"entities": {"pq_strict": {"fields": {
  "email": {"type": "string", "nullable": false}, "tier": {"type": "string", "nullable": false}}}}}$$, force => true) IS NOT NULL AS registered;
SET ROLE pq_author;
SELECT pgmigrate.register_pipeline($${"name": "strict", "entityType": "pq_strict",
  "validation": {"input": true, "errorHandling": "SKIP", "schemaVersion": "pq-strict2"},
  "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}]}}]}$$) IS NOT NULL;
RESET ROLE;
SELECT entity_id, after, errors FROM pgmigrate.pipeline_preview('strict', 10) ORDER BY entity_id;
CALL pgmigrate.run_pipeline('strict', '{"restart": true}');
SELECT status, docs_in, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'strict' ORDER BY started_at DESC LIMIT 1;
SELECT e.entity_id, e.step, e.sqlstate, e.error FROM pgmigrate.pipeline_errors e JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'strict' AND r.status = 'COMPLETED' ORDER BY 1;

-- Per step: documents in, out and failed, while bisecting around failing items too.
CREATE FUNCTION pq.fussy(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    IF (d->>'n')::int % 5 = 0 THEN
        RAISE EXCEPTION 'fussy about %', d->>'n' USING ERRCODE = 'data_exception';
    END IF;
    RETURN d || '{"fussy": "ok"}';
END $$;
ALTER FUNCTION pq.fussy(jsonb) OWNER TO pq_author;
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT pgm_test.qid(200 + g), 'pq_counted', jsonb_build_object('n', g, 'keep', g % 3 <> 0) FROM generate_series(1, 30) g;
SET ROLE pq_author;
SELECT pgmigrate.register_pipeline($${"name": "counted", "entityType": "pq_counted", "batchSize": 8, "steps": [
  {"name": "keep", "type": "FILTER", "config": {"condition": "$.keep == true"}},
  {"name": "fuss", "type": "CUSTOM", "errorHandling": "SKIP", "config": {"function": "pq.fussy"}},
  {"name": "mark", "type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "keep", "target": "kept"}]}}]}$$) IS NOT NULL;
RESET ROLE;
CALL pgmigrate.run_pipeline('counted');
SELECT s.step_no, s.step, s.docs_in, s.docs_out, s.docs_failed FROM pgmigrate.pipeline_steps s JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'counted' ORDER BY step_no;
SELECT docs_in, docs_out, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'counted';
SELECT b.batch_no, b.step_counts FROM pgmigrate.pipeline_batches b JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'counted' ORDER BY 1 LIMIT 2;

-- A TRANSFORM step in a migration can read a query too (inside the migration's transaction).
SELECT pgmigrate.register_migration($${"name": "pq_transform", "version": "pq.1", "rollback": ["SELECT 1"], "forward": [
  {"type": "TRANSFORM", "pipeline": {"name": "inline_import", "entityType": "pq_imported",
     "query": "SELECT id, jsonb_build_object('name', name) FROM pq.customers WHERE tier = 'gold'",
     "steps": [{"type": "FILTER", "config": {"condition": "true"}}]}}]}$$) IS NOT NULL AS registered;
SELECT pgmigrate.execute_migration('pq_transform')->>'success' AS ok;
SELECT count(*) AS imported FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_imported' AND valid_to = 'infinity';

-- Built-in rules run as one statement per batch; the general path (work tables, the
-- author's role) must give the very same documents. The same pipeline over two identical
-- sets of documents, the second forced onto the general path.
INSERT INTO pgmigrate.temporal_entities (entity_type, content)
SELECT t, jsonb_build_object('n', g, 'name', CASE WHEN g % 7 <> 0 THEN ' Name ' || g END, 'email', 'U' || g || '@X.ORG',
                             'it''s "q"', 'ключ ' || g, 'addr', CASE WHEN g % 3 = 0 THEN jsonb_build_object('zip', g::text) END,
                             'age', (g * 13) % 90, 'tags', 'a,b,' || g, 'born', '2001-02-' || lpad((g % 28 + 1)::text, 2, '0'),
                             'a', jsonb_build_object('x', g), 'b', CASE WHEN g % 2 = 0 THEN jsonb_build_object('y', g) END)
  FROM generate_series(1, 300) g, (VALUES ('pq_same_a'), ('pq_same_b')) v(t);
SELECT pgmigrate.register_pipeline(format($$%s, "name": "same_%s", "entityType": "pq_same_%s"}$$,
  rtrim($${"batchSize": 64, "steps": [
    {"name": "adults", "type": "FILTER", "config": {"condition": "$.age >= 18"}},
    {"name": "map", "type": "MAP", "config": {"mappingRules": [
      {"type": "FIELD_RENAME", "source": "name", "target": "fullName"},
      {"type": "FIELD_TRANSFORM", "field": "fullName", "transformation": "trim"},
      {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"},
      {"type": "FIELD_RENAME", "source": "addr.zip", "target": "address.postcode"},
      {"type": "FIELD_TRANSFORM", "field": "tags", "transformation": {"function": "split", "separator": ","}},
      {"type": "FIELD_TRANSFORM", "field": "born", "transformation": {"function": "date_format", "from": "YYYY-MM-DD", "to": "DD.MM.YYYY"}},
      {"type": "FIELD_TRANSFORM", "field": "nick", "transformation": {"function": "default", "value": "none"}},
      {"type": "FIELD_MERGE", "sourceFields": ["a", "b"], "targetField": "ab", "mergeStrategy": "DEEP_MERGE", "removeSources": true},
      {"type": "CONDITIONAL_TRANSFORM", "condition": "$.age > 60", "rules": [
        {"type": "FIELD_TRANSFORM", "field": "it's \"q\"", "transformation": "upper"}]}]}}]$$, '}'), v, v)::jsonb) IS NOT NULL
  FROM (VALUES ('a'), ('b')) x(v);
UPDATE pgmigrate.pipelines SET compiled = compiled || '{"builtinOnly": false}' WHERE name = 'same_b';
CALL pgmigrate.run_pipeline('same_a');
CALL pgmigrate.run_pipeline('same_b');
SELECT r.pipeline_name, r.docs_in, r.docs_out, r.docs_written, bool_and(b.single_statement) AS one_statement
  FROM pgmigrate.pipeline_runs r JOIN pgmigrate.pipeline_batches b USING (run_id)
 WHERE r.pipeline_name LIKE 'same_%' GROUP BY 1, 2, 3, 4 ORDER BY 1;
SELECT count(*) AS compared, count(*) FILTER (WHERE a.content = b.content) AS identical
  FROM pgmigrate.temporal_entities a JOIN pgmigrate.temporal_entities b ON (a.content->'n') = (b.content->'n')
 WHERE a.entity_type = 'pq_same_a' AND b.entity_type = 'pq_same_b' AND a.valid_to = 'infinity' AND b.valid_to = 'infinity';
SELECT content FROM pgmigrate.temporal_entities WHERE entity_type = 'pq_same_a' AND valid_to = 'infinity' AND content->>'n' IN ('63', '66');
SELECT (SELECT array_agg(s.docs_out ORDER BY s.step_no) FROM pgmigrate.pipeline_steps s JOIN pgmigrate.pipeline_runs r USING (run_id)
         WHERE r.pipeline_name = 'same_a') AS steps_a,
       (SELECT array_agg(s.docs_out ORDER BY s.step_no) FROM pgmigrate.pipeline_steps s JOIN pgmigrate.pipeline_runs r USING (run_id)
         WHERE r.pipeline_name = 'same_b') AS steps_b;
-- A built-in rule failing on one document (not a number): that batch falls back to the
-- general path, which skips just that document.
UPDATE pgmigrate.temporal_entities SET content = content || '{"age": "old"}'
 WHERE entity_type = 'pq_same_a' AND valid_to = 'infinity' AND content->>'n' = '100';
SELECT pgmigrate.register_pipeline($${"name": "numbers", "entityType": "pq_same_a", "batchSize": 64, "steps": [
  {"name": "num", "type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [
    {"type": "FIELD_TRANSFORM", "field": "age", "transformation": "to_number"},
    {"type": "FIELD_TRANSFORM", "field": "n", "transformation": "to_string"}]}}]}$$) IS NOT NULL;
CALL pgmigrate.run_pipeline('numbers');
SELECT r.docs_in, r.docs_written, r.docs_failed, count(*) FILTER (WHERE b.single_statement) AS one_statement_batches,
       count(*) FILTER (WHERE NOT b.single_statement) AS general_batches
  FROM pgmigrate.pipeline_runs r JOIN pgmigrate.pipeline_batches b USING (run_id) WHERE r.pipeline_name = 'numbers' GROUP BY 1, 2, 3;
SELECT e.step, e.sqlstate, e.original->>'n' AS n FROM pgmigrate.pipeline_errors e JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'numbers';

DROP SCHEMA pq CASCADE;
DROP OWNED BY pq_author, pq_runner;
DROP ROLE pq_author;
DROP ROLE pq_runner;
