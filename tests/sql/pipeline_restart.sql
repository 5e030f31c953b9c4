-- A pipeline run interrupted by a server restart continues from its checkpoint when called
-- again: every document is written exactly once. And input/output validation against the
-- active schema, with SKIP recording the documents that fail it.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pgm_pipeline_restart WITH (FORCE);
CREATE DATABASE pgm_pipeline_restart;
\c pgm_pipeline_restart
SET client_min_messages = warning;
CREATE EXTENSION pg_migrate;
SELECT pgmigrate.register_schema_version('1', '{"entities": {"Item": {"fields": {"n": {"type": "integer"}, "label": {"type": "string"}}}}}', activate => true) IS NOT NULL AS registered;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'Item', jsonb_build_object('n', g, 'label', 'item ' || g) FROM generate_series(1, 3000) g;
-- A slow transformation (2 ms per document), so the restart lands mid-run.
CREATE FUNCTION public.slow_upper2(v jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN to_jsonb(upper(v #>> '{}')); END $$;
SELECT pgmigrate.register_pipeline('{"name": "shout", "entityType": "Item", "batchSize": 100,
  "steps": [{"name": "up", "type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_TRANSFORM", "field": "label", "transformation": {"sqlFunction": "public.slow_upper2"}}]}}]}') IS NOT NULL AS registered;
\! PGAPPNAME=pl_restart "$PGM_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pgm_pipeline_restart -c "CALL pgmigrate.run_pipeline('shout')" > /dev/null 2>&1 &
DO $$ DECLARE give_up timestamptz := clock_timestamp() + interval '60 s'; BEGIN
    WHILE coalesce((SELECT count(*) FROM pgmigrate.pipeline_batches WHERE status = 'DONE'), 0) < 3 AND clock_timestamp() < give_up LOOP
        PERFORM pg_sleep(0.02);
    END LOOP;
END $$;
\! scripts/cluster.sh restart > /dev/null 2>&1
\c pgm_pipeline_restart
SET client_min_messages = warning;
SELECT status, (SELECT count(*) FROM pgmigrate.pipeline_batches WHERE status = 'DONE') BETWEEN 3 AND 29 AS stopped_mid_run FROM pgmigrate.pipeline_runs;
CALL pgmigrate.run_pipeline('shout');
SELECT status, (SELECT count(*) FROM pgmigrate.pipeline_batches WHERE status = 'DONE') AS batches_done FROM pgmigrate.pipeline_runs;
-- Every document exactly once: one current version each, all transformed, and exactly
-- one closed earlier version each (the run wrote one new version per document).
SELECT count(*) AS current_docs, count(*) FILTER (WHERE content->>'label' = upper(content->>'label')) AS transformed
  FROM pgmigrate.temporal_entities WHERE entity_type = 'Item' AND valid_to = 'infinity';
SELECT count(*) AS entities_with_other_than_two_versions
  FROM (SELECT entity_id FROM pgmigrate.temporal_entities WHERE entity_type = 'Item' GROUP BY entity_id HAVING count(*) <> 2) x;

-- Output validation against the active schema: a transformation that breaks the schema
-- (a number where a string is declared) is refused per document and, under SKIP, recorded.
SELECT pgmigrate.register_pipeline('{"name": "break_labels", "entityType": "Item", "batchSize": 1000,
  "validation": {"output": true, "errorHandling": "SKIP"},
  "steps": [{"name": "numbers", "type": "MAP", "config": {"mappingRules": [
    {"type": "CONDITIONAL_TRANSFORM", "condition": "$.n <= 2", "rules": [
      {"type": "FIELD_TRANSFORM", "field": "label", "transformation": "to_number"}]}]}}]}') IS NOT NULL AS registered;
UPDATE pgmigrate.temporal_entities SET content = content || '{"label": "42"}' WHERE entity_type = 'Item' AND valid_to = 'infinity' AND (content->>'n')::int <= 2;
CALL pgmigrate.run_pipeline('break_labels');
SELECT e.step, e.sqlstate, e.original->'n' AS n FROM pgmigrate.pipeline_errors e
  JOIN pgmigrate.pipeline_runs r USING (run_id) WHERE r.pipeline_name = 'break_labels' ORDER BY 3;
SELECT count(*) AS still_strings FROM pgmigrate.temporal_entities
 WHERE entity_type = 'Item' AND valid_to = 'infinity' AND jsonb_typeof(content->'label') = 'string';
\c pg_migrate_regress
SET client_min_messages = warning;
DROP DATABASE pgm_pipeline_restart WITH (FORCE);
