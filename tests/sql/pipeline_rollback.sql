-- Rolling back a pipeline run in committed batches (CALL rollback_pipeline_batched): refused
-- up front when a document changed since, resumable when a batch is refused half way,
-- forced to the end; a run being rolled back cannot be resumed or re-run.
\set VERBOSITY sqlstate
SET client_min_messages = warning;
-- (Errors print their SQLSTATE only: their messages name random run ids.)
INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content)
SELECT ('00000000-0000-0000-0006-' || lpad(g::text, 12, '0'))::uuid, 'rb_doc', jsonb_build_object('n', g, 'Name', 'Doc ' || g)
  FROM generate_series(1, 300) g;
SELECT pgmigrate.register_pipeline('{"name": "rb", "entityType": "rb_doc", "batchSize": 100,
  "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "Name", "target": "name"}]}}]}') IS NOT NULL AS registered;
CALL pgmigrate.run_pipeline('rb');
SELECT run_id AS run FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'rb' \gset

-- A document changed after the run wrote it: refused before anything is written.
UPDATE pgmigrate.temporal_entities SET content = content || '{"touched": true}'
 WHERE entity_id = '00000000-0000-0000-0006-000000000250' AND valid_to = 'infinity';
CALL pgmigrate.rollback_pipeline_batched(:'run');
SELECT regexp_replace(pgm_test.expect_error(format('SELECT pgmigrate.rollback_pipeline(%L)', :'run')), '[0-9a-f-]{36}:', '<run>:') AS refused;
SELECT status, (SELECT count(*) FROM pgmigrate.pipeline_batches b WHERE b.run_id = r.run_id AND b.docs_rolled_back IS NOT NULL) AS batches_rolled_back
  FROM pgmigrate.pipeline_runs r WHERE run_id = :'run';

-- Forced, one step by hand (the first batch), then the CALL goes on from there.
SELECT pgmigrate.pipeline_rollback_step(:'run', true) - 'remaining' AS step;
SELECT status FROM pgmigrate.pipeline_runs WHERE run_id = :'run';
-- While it is being rolled back the pipeline neither resumes nor starts again.
CALL pgmigrate.run_pipeline('rb');
CALL pgmigrate.run_pipeline('rb', '{"restart": true}');
-- Unforced now: batch 2 is rolled back, batch 3 holds the changed document and is refused;
-- what was done stays done.
CALL pgmigrate.rollback_pipeline_batched(:'run');
SELECT batch_no, docs_rolled_back FROM pgmigrate.pipeline_batches WHERE run_id = :'run' ORDER BY batch_no;
SELECT status FROM pgmigrate.pipeline_runs WHERE run_id = :'run';
-- Forced to the end (also through the one-transaction function, which finds nothing left).
CALL pgmigrate.rollback_pipeline_batched(:'run', true);
SELECT batch_no, docs_rolled_back FROM pgmigrate.pipeline_batches WHERE run_id = :'run' ORDER BY batch_no;
SELECT status FROM pgmigrate.pipeline_runs WHERE run_id = :'run';
SELECT pgmigrate.rollback_pipeline(:'run');
SELECT count(*) FILTER (WHERE content ? 'Name' AND NOT content ? 'name' AND NOT content ? 'touched') AS before_images,
       count(*) AS current
  FROM pgmigrate.temporal_entities WHERE entity_type = 'rb_doc' AND valid_to = 'infinity';
SELECT details->>'documents_rolled_back' AS documents, details->>'forced' AS forced
  FROM pgmigrate.audit_log WHERE action = 'pipeline.rolled_back' AND details->>'run_id' = :'run';

-- The pipeline runs again once the rollback is finished; rolled back in one go, in batches.
CALL pgmigrate.run_pipeline('rb');
SELECT run_id AS run2 FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'rb' ORDER BY started_at DESC LIMIT 1 \gset
CALL pgmigrate.rollback_pipeline_batched(:'run2');
SELECT status, (SELECT sum(docs_rolled_back) FROM pgmigrate.pipeline_batches b WHERE b.run_id = r.run_id) AS documents
  FROM pgmigrate.pipeline_runs r WHERE run_id = :'run2';
CALL pgmigrate.rollback_pipeline_batched(:'run2');
CALL pgmigrate.rollback_pipeline_batched('00000000-0000-0000-0000-000000000000');

-- Not while another run of the pipeline is RUNNING (here one started and left so, as a
-- crash leaves it): it may be rewriting the same documents. Once it has finished (it had
-- nothing left to change), both roll back, the newer first.
CALL pgmigrate.run_pipeline('rb');
SELECT run_id AS run3 FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'rb' ORDER BY started_at DESC LIMIT 1 \gset
SELECT pgmigrate.pipeline_start('rb', '{"restart": true}')->>'resumed' AS resumed;
SELECT run_id AS run4 FROM pgmigrate.pipeline_runs WHERE pipeline_name = 'rb' ORDER BY started_at DESC LIMIT 1 \gset
SELECT pgmigrate.rollback_pipeline(:'run3') IS NOT NULL;
CALL pgmigrate.rollback_pipeline_batched(:'run3');
SELECT status FROM pgmigrate.pipeline_runs WHERE run_id = :'run3';
CALL pgmigrate.run_pipeline('rb');
SELECT status, docs_written FROM pgmigrate.pipeline_runs WHERE run_id = :'run4';
SELECT pgmigrate.rollback_pipeline(:'run4') > 0 AS newer_rolled_back;
SELECT pgmigrate.rollback_pipeline(:'run3') > 0 AS older_rolled_back;

-- Privileges: revoked from PUBLIC.
CREATE ROLE pgm_rb_nobody;
SET ROLE pgm_rb_nobody;
CALL pgmigrate.rollback_pipeline_batched(:'run2');
SELECT pgmigrate.pipeline_rollback_step(:'run2', true);
RESET ROLE;
DROP ROLE pgm_rb_nobody;
RESET client_min_messages;
DELETE FROM pgmigrate.temporal_entities WHERE entity_type = 'rb_doc';
DELETE FROM pgmigrate.pipelines WHERE name = 'rb';
