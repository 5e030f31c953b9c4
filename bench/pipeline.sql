-- Transformation pipeline (rename + transform, versioned writes, committed batches) over
-- entity documents of ~1 KB, against (a) the floor: one set-based UPDATE doing the same
-- change in place, (a') the versioned floor: one statement writing it as new versions, and
-- (b) the baseline: a PL/pgSQL loop transforming and writing one
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
CREATE TEMP TABLE pipe_results (impl text, docs bigint, seconds float8, result_count bigint, result_sum numeric);
-- Every implementation starts from the same state: the entity store emptied, its n documents
-- loaded, vacuumed and analyzed, a checkpoint taken. (Sharing one table, the later ones
-- would pay for the earlier ones' rows, dead tuples and index growth; the floor, first,
-- would run on the cleanest table.)
CREATE FUNCTION pgm_bench.fresh(etype text, n int) RETURNS void LANGUAGE sql AS $$
    TRUNCATE pgmigrate.temporal_entities;
    INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT etype, pgm_bench.doc(g) FROM generate_series(1, n) g;
$$;
-- What an implementation left: its current documents, counted and checksummed (the same
-- change must give the same documents).
CREATE FUNCTION pgm_bench.record(label text, docs bigint, t0 timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    secs float8 := extract(epoch FROM clock_timestamp() - t0);  -- (the time first)
BEGIN
    INSERT INTO pipe_results
    SELECT label, docs, secs, count(*), sum(hashtextextended(content::text, 0))
      FROM pgmigrate.temporal_entities WHERE valid_to = 'infinity';
END $$;

-- (a) The floor: in place, no versions, one statement.
SELECT pgm_bench.fresh('bench_floor', :n) \g /dev/null
VACUUM ANALYZE pgmigrate.temporal_entities;
SELECT 'document size' AS what, avg(octet_length(content::text))::int AS bytes, count(*) AS docs
  FROM pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
UPDATE pgmigrate.temporal_entities
   SET content = (content - 'name') || jsonb_build_object('fullName', content->'name', 'email', to_jsonb(lower(content->>'email')))
 WHERE entity_type = 'bench_floor' AND valid_to = 'infinity' AND NOT is_deleted;
SELECT pgm_bench.record('set-based UPDATE in place (floor)', :n, :'t0') \g /dev/null

-- (a') The versioned floor: the same change written as the pipeline writes it (each current
-- row closed, its next version inserted), for every document in one statement: no batches,
-- no locks, no bookkeeping. What versioned writes cost on this machine, whoever does them.
SELECT pgm_bench.fresh('bench_vfloor', :n) \g /dev/null
VACUUM ANALYZE pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
WITH closed AS (
    UPDATE pgmigrate.temporal_entities SET valid_to = now()
     WHERE entity_type = 'bench_vfloor' AND valid_to = 'infinity' AND NOT is_deleted
    RETURNING entity_id, entity_type, metadata, content)
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, metadata, valid_from)
SELECT entity_id, entity_type, (content - 'name') || jsonb_build_object('fullName', content->'name', 'email', to_jsonb(lower(content->>'email'))),
       metadata, now()
  FROM closed;
SELECT pgm_bench.record('set-based versioned, one statement (versioned floor)', :n, :'t0') \g /dev/null

-- (b) The baseline, as the sketch's engine works: per document, apply each mapping rule of
-- the definition in turn (dispatching on its type), then write the document (a new version).
SELECT pgm_bench.fresh('bench_loop', :loop_n) \g /dev/null
VACUUM ANALYZE pgmigrate.temporal_entities;
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
SELECT pgm_bench.record('PL/pgSQL loop per document (baseline)', :loop_n, :'t0') \g /dev/null

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
SELECT pgm_bench.fresh('bench_pipe', :n) \g /dev/null
VACUUM ANALYZE pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL pgmigrate.run_pipeline('bench');
SELECT pgm_bench.record('run_pipeline (versioned, batches of 1000, one statement each)', :n, :'t0') \g /dev/null
SELECT pgm_bench.fresh('bench_general', :n) \g /dev/null
VACUUM ANALYZE pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL pgmigrate.run_pipeline('bench_general');
SELECT pgm_bench.record('run_pipeline, general path (work tables)', :n, :'t0') \g /dev/null
SELECT pgm_bench.fresh('bench_workers', :n) \g /dev/null
VACUUM ANALYZE pgmigrate.temporal_entities;
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
CALL pgmigrate.run_pipeline('bench_workers', '{"workers": 2}');
SELECT pgm_bench.record('run_pipeline, "workers": 2 (this session + 1 background worker)', :n, :'t0') \g /dev/null

-- Same results? Every implementation left the same documents as the floor (count and
-- checksum of the current ones), and the runs wrote each document once.
SELECT impl, result_count = (SELECT result_count FROM pipe_results WHERE impl LIKE '%(floor)')
         AND result_sum = (SELECT result_sum FROM pipe_results WHERE impl LIKE '%(floor)') AS same_documents_as_floor
  FROM pipe_results WHERE docs = :n ORDER BY impl;
SELECT pipeline_name, docs_written,
       (SELECT count(DISTINCT done_by) FROM pgmigrate.pipeline_batches b WHERE b.run_id = r.run_id) AS processes
  FROM pgmigrate.pipeline_runs r ORDER BY pipeline_name;

-- Throughput of each relative to the floor, to the versioned floor and to the per-document
-- loop (> 1: faster).
SELECT impl, docs, round(seconds::numeric, 2) AS seconds, round((docs / seconds)::numeric) AS docs_per_s,
       round(((docs / seconds) / (SELECT docs / seconds FROM pipe_results WHERE impl LIKE '%(floor)'))::numeric, 2) AS vs_floor,
       round(((docs / seconds) / (SELECT docs / seconds FROM pipe_results WHERE impl LIKE '%(versioned floor)'))::numeric, 2) AS vs_versioned,
       round(((docs / seconds) / (SELECT docs / seconds FROM pipe_results WHERE impl LIKE '%(baseline)'))::numeric, 2) AS vs_loop
  FROM pipe_results ORDER BY docs / seconds DESC;
