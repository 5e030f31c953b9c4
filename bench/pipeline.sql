-- Transformation pipeline (rename + transform, versioned writes, committed batches) over
-- entity documents of ~1 KB, against (a) the floor: one set-based UPDATE doing the same
-- change in place, and (b) the baseline: a PL/pgSQL loop transforming and writing one
-- document at a time (new version per document), as the sketch's engine would.
-- psql variables: n (documents, default 1000000), loop_n (documents for the per-document
-- loop, default n: every implementation is measured over as many documents).
\pset footer off
SET client_min_messages = warning;
\if :{?n}
\else
\set n 1000000
\endif
\if :{?loop_n}
\else
\set loop_n :n
\endif
CREATE SCHEMA IF NOT EXISTS pgm_bench;
CREATE OR REPLACE FUNCTION pgm_bench.doc(g int) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('name', 'User ' || g, 'email', 'User' || g || '@Example.COM', 'country', 'nl',
                              'profile', (SELECT jsonb_object_agg('attr' || i, 'value ' || md5((g * 31 + i)::text)) FROM generate_series(1, 18) i))
$$;
CREATE TEMP TABLE pipe_results (impl text, docs bigint, seconds float8);
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'bench_floor', pgm_bench.doc(g) FROM generate_series(1, :n) g;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'bench_pipe', pgm_bench.doc(g) FROM generate_series(1, :n) g;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'bench_general', pgm_bench.doc(g) FROM generate_series(1, :n) g;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'bench_workers', pgm_bench.doc(g) FROM generate_series(1, :n) g;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'bench_loop', pgm_bench.doc(g) FROM generate_series(1, :loop_n) g;
VACUUM ANALYZE pgmigrate.temporal_entities;
SELECT 'document size' AS what, avg(octet_length(content::text))::int AS bytes, count(*) AS docs
  FROM pgmigrate.temporal_entities WHERE entity_type = 'bench_pipe';

-- Every implementation starts from a vacuumed table after a checkpoint (the floor after the
-- load's VACUUM ANALYZE): no autovacuum of an earlier implementation's dead rows runs on
-- one of the two cores while the next is timed. Its own dead rows are its own.

-- (a) The floor: in place, no versions, one statement.
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
UPDATE pgmigrate.temporal_entities
   SET content = (content - 'name') || jsonb_build_object('fullName', content->'name', 'email', to_jsonb(lower(content->>'email')))
 WHERE entity_type = 'bench_floor' AND valid_to = 'infinity' AND NOT is_deleted;
INSERT INTO pipe_results SELECT 'set-based UPDATE in place (floor)', :n, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);

-- (b) The baseline, as the sketch's engine works: per document, apply each mapping rule of
-- the definition in turn (dispatching on its type), then write the document (a new version).
VACUUM pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
DO $$
DECLARE
    r record; d jsonb; ts timestamptz; rule jsonb;
    rules jsonb := '[{"type": "FIELD_RENAME", "source": "name", "target": "fullName"},
                     {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}]';
BEGIN
    FOR r IN SELECT row_id, entity_id, content FROM pgmigrate.temporal_entities
              WHERE entity_type = 'bench_loop' AND valid_to = 'infinity' AND NOT is_deleted LOOP
        d := r.content;
        FOR rule IN SELECT * FROM jsonb_array_elements(rules) LOOP
            CASE rule->>'type'
            WHEN 'FIELD_RENAME' THEN
                IF d ? (rule->>'source') THEN
                    d := (d - (rule->>'source')) || jsonb_build_object(rule->>'target', d->(rule->>'source'));
                END IF;
            WHEN 'FIELD_TRANSFORM' THEN
                IF d ? (rule->>'field') AND rule->>'transformation' = 'lower' THEN
                    d := jsonb_set(d, ARRAY[rule->>'field'], to_jsonb(lower(d->>(rule->>'field'))));
                END IF;
            END CASE;
        END LOOP;
        ts := clock_timestamp();
        UPDATE pgmigrate.temporal_entities SET valid_to = ts WHERE row_id = r.row_id;
        INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, valid_from) VALUES (r.entity_id, 'bench_loop', d, ts);
    END LOOP;
END $$;
INSERT INTO pipe_results SELECT 'PL/pgSQL loop per document (baseline)', :loop_n, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);

-- The pipeline: rename + transform, versioned, committed every 1000 documents. Built-in
-- rules only, so each batch is one statement; the same pipeline forced onto the general
-- path (work tables, the author's role: what a pipeline calling SQL functions takes); and
-- the same pipeline, parallel, worked by this session and one background worker (one
-- process per core of the 2-core bench machine).
SELECT pgmigrate.register_pipeline(format('{"name": "%s", "entityType": "%s", "batchSize": 1000, "steps": [
  {"type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_RENAME", "source": "name", "target": "fullName"},
    {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}]}}]}', p, t)::jsonb) IS NOT NULL AS registered
  FROM (VALUES ('bench', 'bench_pipe'), ('bench_general', 'bench_general')) v(p, t);
SELECT pgmigrate.register_pipeline('{"name": "bench_workers", "entityType": "bench_workers", "batchSize": 1000, "parallel": true, "steps": [
  {"type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_RENAME", "source": "name", "target": "fullName"},
    {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"}]}}]}') IS NOT NULL AS registered;
UPDATE pgmigrate.pipelines SET compiled = compiled || '{"builtinOnly": false}' WHERE name = 'bench_general';
VACUUM pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL pgmigrate.run_pipeline('bench');
INSERT INTO pipe_results SELECT 'run_pipeline (versioned, batches of 1000, one statement each)', :n, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
VACUUM pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL pgmigrate.run_pipeline('bench_general');
INSERT INTO pipe_results SELECT 'run_pipeline, general path (work tables)', :n, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
VACUUM pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL pgmigrate.run_pipeline('bench_workers', '{"workers": 2}');
INSERT INTO pipe_results SELECT 'run_pipeline, "workers": 2 (this session + 1 background worker)', :n, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);

-- Same results?
SELECT (SELECT count(*) FROM pgmigrate.temporal_entities p JOIN pgmigrate.temporal_entities f
          ON f.entity_type = 'bench_floor' AND f.content->>'fullName' = p.content->>'fullName' AND f.valid_to = 'infinity'
         WHERE p.entity_type = 'bench_pipe' AND p.valid_to = 'infinity' AND p.content = f.content) AS pipeline_equals_floor,
       (SELECT docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'bench') AS pipeline_written,
       (SELECT count(*) FROM pgmigrate.temporal_entities p JOIN pgmigrate.temporal_entities f
          ON f.entity_type = 'bench_floor' AND f.content->>'fullName' = p.content->>'fullName' AND f.valid_to = 'infinity'
         WHERE p.entity_type = 'bench_workers' AND p.valid_to = 'infinity' AND p.content = f.content) AS workers_equal_floor,
       (SELECT docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'bench_general') AS general_written,
       (SELECT docs_written FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'bench_workers') AS workers_written,
       (SELECT count(DISTINCT done_by) FROM pgmigrate.pipeline_batches b JOIN pgmigrate.pipeline_runs r USING (run_id)
         WHERE r.pipeline_name = 'bench_workers') AS workers_processes;

-- Throughput of each relative to the floor and to the per-document loop (> 1: faster).
SELECT impl, docs, round(seconds::numeric, 2) AS seconds, round((docs / seconds)::numeric) AS docs_per_s,
       round(((docs / seconds) / (SELECT docs / seconds FROM pipe_results WHERE impl LIKE '%(floor)'))::numeric, 2) AS vs_floor,
       round(((docs / seconds) / (SELECT docs / seconds FROM pipe_results WHERE impl LIKE '%(baseline)'))::numeric, 2) AS vs_loop
  FROM pipe_results ORDER BY docs / seconds DESC;
