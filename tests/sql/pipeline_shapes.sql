-- Documents whose shape a rule does not expect, on the one-statement path ("_f" types) and
-- the general path ("_g" types, forced) alike: no value is ever lost silently. A rule that
-- writes under a value that is not an object fails that document (SKIP records it, FAIL
-- stops the run); merges keep sources under their target; DEEP_MERGE leaves missing
-- sources out; a CUSTOM result that is not an object is its document's error. Found by an
-- adversarial pass on 0.6.2: each of these lost data or miscounted before 0.6.3.
SET client_min_messages = warning;
\set VERBOSITY terse
CREATE SCHEMA shp;
-- Loads the same documents under two entity types (each numbered "n") and registers the
-- pipeline for each, the second forced onto the general path; runs both.
CREATE PROCEDURE shp.both(tag text, docs jsonb[], steps jsonb) LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[tag || '_f', tag || '_g'] LOOP
        INSERT INTO pgmigrate.temporal_entities (entity_type, content)
        SELECT t, d || jsonb_build_object('n', k) FROM unnest(docs) WITH ORDINALITY u(d, k);
        PERFORM pgmigrate.register_pipeline(jsonb_build_object('name', t, 'entityType', t, 'steps', steps));
    END LOOP;
    UPDATE pgmigrate.pipelines SET compiled = compiled || '{"builtinOnly": false}' WHERE name = tag || '_g';
    COMMIT;
    CALL pgmigrate.run_pipeline(tag || '_f');
    CALL pgmigrate.run_pipeline(tag || '_g');
END $$;
-- What both paths left: each document (without "n") and the errors recorded for it.
CREATE VIEW shp.result AS
SELECT left(e.entity_type, length(e.entity_type) - 2) AS tag, right(e.entity_type, 1) AS path, (e.content->>'n')::int AS n,
       e.content - 'n' AS doc,
       (SELECT string_agg(x.sqlstate || ' ' || x.error, '; ') FROM pgmigrate.pipeline_errors x WHERE x.entity_id = e.entity_id) AS errors
  FROM pgmigrate.temporal_entities e WHERE e.entity_type ~ '_[fg]$' AND e.valid_to = 'infinity';

-- A rename onto a child of null, a string, a number or an array: the document's error (it
-- was left without its source field, the value gone). Under a missing parent or an object:
-- written.
CALL shp.both('ren', ARRAY['{"x": 1, "a": null}', '{"x": 2, "a": "s"}', '{"x": 3, "a": 5}', '{"x": 4}', '{"x": 5, "a": {"k": 1}}',
                           '{"x": 6, "a": [1]}']::jsonb[],
  '[{"type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "x", "target": "a.b"}]}}]');
SELECT path, n, doc, errors FROM shp.result WHERE tag = 'ren' ORDER BY n, path;
SELECT pipeline_name, status, docs_in, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name LIKE 'ren_%' ORDER BY 1;
-- The preview says the same (its runs wrote nothing: run ids aside, one document each).
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('ren_p', '{"x": 1, "a": "s"}');
SELECT pgmigrate.register_pipeline('{"name": "ren_p", "entityType": "ren_p", "steps": [{"type": "MAP", "errorHandling": "SKIP",
  "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "x", "target": "a.b"}]}}]}') IS NOT NULL AS registered;
SELECT before, after, errors->0->>'sqlstate' AS sqlstate, errors->0->>'error' AS error FROM pgmigrate.pipeline_preview('ren_p', 10);
-- Deeper: a default under a path whose middle is a string; FAIL stops the run.
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('deep', '{"a": {"b": "text"}}');
SELECT pgmigrate.register_pipeline('{"name": "deep", "entityType": "deep", "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "FIELD_TRANSFORM", "field": "a.b.c.d", "transformation": {"function": "default", "value": 0}}]}}]}') IS NOT NULL AS registered;
\set VERBOSITY sqlstate
CALL pgmigrate.run_pipeline('deep');
\set VERBOSITY terse
SELECT regexp_replace(last_error, 'entity [0-9a-f-]+', 'entity <id>') AS last_error FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'deep';
SELECT status, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'deep';
SELECT content FROM pgmigrate.temporal_entities WHERE entity_type = 'deep' AND valid_to = 'infinity';

-- Merges with removeSources: into a child of a source that is a string (an error, the
-- sources kept), children into their own parent (kept, under it), DEEP_MERGE with a
-- source missing (the other kept, not replaced by an empty object).
CALL shp.both('m1', ARRAY['{"f": "Ann", "l": "Lee"}', '{"l": "Lee"}']::jsonb[],
  '[{"type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [{"type": "FIELD_MERGE", "sourceFields": ["f", "l"], "targetField": "f.full",
     "mergeStrategy": "CONCAT", "separator": " ", "removeSources": true}]}}]');
CALL shp.both('m2', ARRAY['{"p": {"f": "Ann", "l": "Lee"}}']::jsonb[],
  '[{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_MERGE", "sourceFields": ["p.f", "p.l"], "targetField": "p",
     "mergeStrategy": "OBJECT", "removeSources": true}]}}]');
CALL shp.both('m3', ARRAY['{"f": "Ann"}', '{"f": {"x": 1}, "l": {"y": 2}}', '{"l": {"y": 3}}', '{}']::jsonb[],
  '[{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_MERGE", "sourceFields": ["f", "l"], "targetField": "all",
     "mergeStrategy": "DEEP_MERGE", "removeSources": true}]}}]');
SELECT tag, path, n, doc, errors FROM shp.result WHERE tag IN ('m1', 'm2', 'm3') ORDER BY tag, n, path;

-- A CUSTOM function returning a JSON null or a scalar: that document's error (the run
-- failed on the store's check constraint, naming nothing); SQL NULL drops the document.
CREATE FUNCTION shp.odd(d jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE d->>'n' WHEN '1' THEN 'null'::jsonb WHEN '2' THEN '5'::jsonb WHEN '3' THEN NULL ELSE d || '{"ok": true}' END
$$;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'odd', jsonb_build_object('n', g) FROM generate_series(1, 4) g;
SELECT pgmigrate.register_pipeline('{"name": "odd", "entityType": "odd", "steps": [{"name": "c", "type": "CUSTOM", "errorHandling": "SKIP",
  "config": {"function": "shp.odd"}}]}') IS NOT NULL AS registered;
SELECT (before->>'n')::int AS n, after, errors->0->>'error' AS error FROM pgmigrate.pipeline_preview('odd', 10) ORDER BY 1;
CALL pgmigrate.run_pipeline('odd');
SELECT status, docs_in, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'odd';
SELECT (content->>'n')::int AS n, content FROM pgmigrate.temporal_entities WHERE entity_type = 'odd' AND valid_to = 'infinity' ORDER BY 1;
SELECT (original->>'n')::int AS n, step, sqlstate, error FROM pgmigrate.pipeline_errors e JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'odd' ORDER BY 1;

-- AGGREGATE after a SKIP step: only the bad document is left out (every document was
-- recorded as failed and no group written); the same with the bad value inside the
-- AGGREGATE itself.
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES
  ('agg', '{"g": "a", "v": "1"}'), ('agg', '{"g": "a", "v": 2}'), ('agg', '{"g": "b", "v": "x"}'), ('agg', '{"g": "b", "v": 3}');
SELECT pgmigrate.register_pipeline('{"name": "agg_map", "entityType": "agg", "steps": [
  {"name": "num", "type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "v", "transformation": "to_number"}]}},
  {"name": "sum", "type": "AGGREGATE", "config": {"groupBy": ["g"], "aggregations": [{"op": "sum", "path": "v", "as": "total"}]}}]}') IS NOT NULL AS registered;
SELECT pgmigrate.register_pipeline('{"name": "agg_only", "entityType": "agg", "steps": [
  {"name": "sum", "type": "AGGREGATE", "errorHandling": "SKIP", "config": {"groupBy": ["g"], "aggregations": [{"op": "sum", "path": "v", "as": "total"}]}}]}') IS NOT NULL AS registered;
CALL pgmigrate.run_pipeline('agg_map', '{"outputEntityType": "agg_map_out"}');
CALL pgmigrate.run_pipeline('agg_only', '{"outputEntityType": "agg_only_out"}');
SELECT entity_type, content FROM pgmigrate.temporal_entities WHERE entity_type IN ('agg_map_out', 'agg_only_out') ORDER BY 1, content->>'g';
SELECT r.pipeline_name, e.step, e.original->>'v' AS v, e.sqlstate FROM pgmigrate.pipeline_errors e JOIN pgmigrate.pipeline_runs r USING (run_id)
 WHERE r.pipeline_name LIKE 'agg_%' ORDER BY 1;

-- JSON nulls count as missing in min / max (null sorted first: it was every min), and a
-- null group key and a missing one are one group (two groups both printed null).
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES
  ('agg_n', '{"g": "a", "v": 3}'), ('agg_n', '{"g": "a", "v": null}'), ('agg_n', '{"g": "a", "v": 5}'),
  ('agg_n', '{"g": null, "v": 1}'), ('agg_n', '{"v": 2}');
SELECT pgmigrate.register_pipeline('{"name": "agg_n", "entityType": "agg_n", "steps": [{"type": "AGGREGATE", "config": {"groupBy": ["g"],
  "aggregations": [{"op": "min", "path": "v", "as": "lo"}, {"op": "max", "path": "v", "as": "hi"}, {"op": "count", "as": "docs"}]}}]}') IS NOT NULL AS registered;
CALL pgmigrate.run_pipeline('agg_n', '{"outputEntityType": "agg_n_out"}');
SELECT content FROM pgmigrate.temporal_entities WHERE entity_type = 'agg_n_out' ORDER BY content->>'g';

-- Two group keys under one name are refused (one group's key was lost).
SELECT pgmigrate.register_pipeline('{"name": "agg_dup", "entityType": "agg", "steps": [{"type": "AGGREGATE", "config": {
  "groupBy": ["x.id", "y.id"], "aggregations": [{"op": "count", "as": "n"}]}}]}');

-- An error of the pipeline's SQL, not of a document (a lookup column that does not exist,
-- a table the author may no longer read): every document fails with it, and the run fails,
-- instead of completing with every document "skipped".
CREATE TABLE shp.codes (code text, label text);
INSERT INTO shp.codes VALUES ('a', 'Alpha');
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('lk', '{"c": "a"}'), ('lk', '{"c": "b"}');
SELECT pgmigrate.register_pipeline('{"name": "lk", "entityType": "lk", "steps": [{"name": "look", "type": "MAP", "errorHandling": "SKIP",
  "config": {"mappingRules": [{"type": "LOOKUP_TRANSFORM", "keyField": "c", "targetField": "label", "lookupTable": "shp.codes",
    "lookupKey": "code", "lookupValue": "lable"}]}}]}') IS NOT NULL AS registered;
\set SHOW_CONTEXT never
CALL pgmigrate.run_pipeline('lk');
\set SHOW_CONTEXT errors
SELECT status, last_sqlstate, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'lk';
SELECT count(*) AS recorded_as_skipped FROM pgmigrate.pipeline_errors e JOIN pgmigrate.pipeline_runs r USING (run_id) WHERE r.pipeline_name = 'lk';
-- Values a transformation refuses rather than pass on: to_number of NaN / Infinity (they
-- became strings), date_format of infinity (became null, the value lost) or of "now" /
-- "tomorrow" (became the moment the batch ran).
CALL shp.both('val', ARRAY['{"v": "NaN", "d": "2024-01-02"}', '{"v": "7", "d": "infinity"}', '{"v": " 12.50 ", "d": "tomorrow"}',
                           '{"v": "1e3", "d": "2024-02-29 23:59"}', '{"v": "-Infinity", "d": "2024-03-01"}']::jsonb[],
  '[{"type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [
     {"type": "FIELD_TRANSFORM", "field": "v", "transformation": "to_number"}]}},
    {"type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [
     {"type": "FIELD_TRANSFORM", "field": "d", "transformation": {"function": "date_format", "to": "YYYY-MM-DD"}}]}}]');
SELECT path, n, doc, errors FROM shp.result WHERE tag = 'val' ORDER BY n, path;

-- A set-returning function, or one returning another type, is refused at registration
-- (one of its rows won at random).
CREATE FUNCTION shp.many(d jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT d UNION ALL SELECT d || '{"k": 2}' $$;
CREATE FUNCTION shp.text_of(d jsonb) RETURNS text LANGUAGE sql AS $$ SELECT d::text $$;
SELECT pgmigrate.register_pipeline('{"name": "srf", "entityType": "x", "steps": [{"type": "CUSTOM", "config": {"function": "shp.many"}}]}');
SELECT pgmigrate.register_pipeline('{"name": "txt", "entityType": "x", "steps": [{"type": "MAP", "config": {"mappingRules": [
  {"type": "FIELD_TRANSFORM", "field": "a", "transformation": {"sqlFunction": "shp.text_of"}}]}}]}');

-- An output the entity store's (enforced) schema refuses: the preview says so, and the run
-- fails naming the document, with a hint at validating outputs (it named nothing).
SELECT pgmigrate.register_schema_version('shp-1', '{"entities": {"shp_store": {"fields": {"n": {"type": "integer"}}}}}',
                                         activate => true, force => true) IS NOT NULL AS registered;
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content) VALUES
  ('00000000-0000-0000-0005-000000000001', 'shp_store', '{"n": 10}'), ('00000000-0000-0000-0005-000000000002', 'shp_store', '{"n": 11}');
SELECT pgmigrate.register_pipeline('{"name": "shp_store", "entityType": "shp_store", "steps": [{"type": "MAP", "errorHandling": "SKIP",
  "condition": "$.n == 11", "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "n", "transformation": "to_string"}]}}]}') IS NOT NULL AS registered;
SELECT entity_id, after, errors->0->>'step' AS step, errors->0->>'sqlstate' AS sqlstate, errors->0->>'error' AS error
  FROM pgmigrate.pipeline_preview('shp_store', 10) ORDER BY 1;
CALL pgmigrate.run_pipeline('shp_store');
SELECT count(*) FILTER (WHERE content->>'n' = '11') AS untouched FROM pgmigrate.temporal_entities WHERE entity_type = 'shp_store' AND valid_to = 'infinity';

-- ... also in a batch of one document, and when another document failed earlier for a
-- reason of its own (both completed with everything "skipped").
SELECT pgmigrate.register_pipeline('{"name": "lk1", "entityType": "lk", "batchSize": 1, "steps": [{"name": "look", "type": "MAP", "errorHandling": "SKIP",
  "config": {"mappingRules": [{"type": "LOOKUP_TRANSFORM", "keyField": "c", "targetField": "label", "lookupTable": "shp.codes",
    "lookupKey": "code", "lookupValue": "lable"}]}}]}') IS NOT NULL AS registered;
CALL pgmigrate.run_pipeline('lk1');
SELECT status, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'lk1';
CREATE FUNCTION shp.inv(d jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT d || jsonb_build_object('inv', 1 / ((d->>'n')::int - 1)) $$;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) SELECT 'mix', jsonb_build_object('n', g, 'c', 'a') FROM generate_series(1, 3) g;
SELECT pgmigrate.register_pipeline('{"name": "mix", "entityType": "mix", "steps": [
  {"name": "c1", "type": "CUSTOM", "errorHandling": "SKIP", "config": {"function": "shp.inv"}},
  {"name": "c2", "type": "MAP", "errorHandling": "SKIP", "config": {"mappingRules": [{"type": "LOOKUP_TRANSFORM", "keyField": "c",
    "targetField": "label", "lookupTable": "shp.codes", "lookupKey": "code", "lookupValue": "lable"}]}}]}') IS NOT NULL AS registered;
\set VERBOSITY sqlstate
CALL pgmigrate.run_pipeline('mix');
\set VERBOSITY terse
SELECT status, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'mix';
-- A function the author may no longer execute: refused when the run starts.
CREATE ROLE shp_author;
GRANT USAGE ON SCHEMA shp TO shp_author;
SELECT pgmigrate.grant_pipeline_admin('shp_author');
CREATE FUNCTION shp.mine(d jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT d $$;
SET ROLE shp_author;
SELECT pgmigrate.register_pipeline('{"name": "mine", "entityType": "mix", "steps": [{"type": "CUSTOM", "config": {"function": "shp.mine"}}]}') IS NOT NULL AS registered;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION shp.mine(jsonb) FROM PUBLIC;
CALL pgmigrate.run_pipeline('mine');

-- The same class of error from one document among good ones stays that document's error
-- (a function reading a table name from the document).
CREATE FUNCTION shp.rel(v jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb((v #>> '{}')::regclass::oid::int) $$;
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('rel', '{"t": "pg_class"}'), ('rel', '{"t": "no_such_table"}'), ('rel', '{"t": "pg_proc"}');
SELECT pgmigrate.register_pipeline('{"name": "rel", "entityType": "rel", "steps": [{"name": "r", "type": "MAP", "errorHandling": "SKIP",
  "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "t", "transformation": {"sqlFunction": "shp.rel"}}]}}]}') IS NOT NULL AS registered;
CALL pgmigrate.run_pipeline('rel');
SELECT status, docs_written, docs_failed FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'rel';
-- ... and a schema dropped under a pipeline: its run is refused when it starts (3F000 on
-- every document was "skipped", the run COMPLETED).
CREATE SCHEMA shp_gone;
CREATE FUNCTION shp_gone.f(v jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT v $$;
SELECT pgmigrate.register_pipeline('{"name": "gone", "entityType": "rel", "steps": [{"name": "g", "type": "MAP", "errorHandling": "SKIP",
  "config": {"mappingRules": [{"type": "FIELD_TRANSFORM", "field": "t", "transformation": {"sqlFunction": "shp_gone.f"}}]}}]}') IS NOT NULL AS registered;
DROP SCHEMA shp_gone CASCADE;
CALL pgmigrate.run_pipeline('gone');
SELECT status, last_sqlstate FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'gone';
-- A function made again as RETURNS SETOF after registration: refused when a run starts
-- (documents were dropped or duplicated at random).
CREATE FUNCTION shp.once(d jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT d $$;
SELECT pgmigrate.register_pipeline('{"name": "once", "entityType": "rel", "steps": [{"type": "CUSTOM", "errorHandling": "SKIP",
  "config": {"function": "shp.once"}}]}') IS NOT NULL AS registered;
DROP FUNCTION shp.once(jsonb);
CREATE FUNCTION shp.once(d jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT d UNION ALL SELECT d $$;
CALL pgmigrate.run_pipeline('once');
-- Relative dates with a time or other spacing are refused too.
SELECT pgmigrate._pipeline_timestamp(t) FROM unnest(ARRAY[E'\tnow', 'today 10:00', 'now()', 'Tomorrow 15:00']) t;
SELECT count(*) AS refused FROM unnest(ARRAY[E'\tnow', 'today 10:00', 'now()', 'Tomorrow 15:00', 'yesterday 00:00']) t
 WHERE NOT EXISTS (SELECT 1 WHERE pgm_test.expect_error(format('SELECT pgmigrate._pipeline_timestamp(%L)', t)) = 'no error');
-- The preview lists the documents a whole-input pipeline left out, with their errors.
SELECT (before->>'v') AS v, after, errors->0->>'sqlstate' AS sqlstate FROM pgmigrate.pipeline_preview('agg_only', 10) ORDER BY 1 NULLS LAST;

DROP SCHEMA shp CASCADE;
DELETE FROM pgmigrate.pipelines WHERE name = 'mine';
DROP OWNED BY shp_author;
DROP ROLE shp_author;
