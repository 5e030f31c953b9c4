-- pg_migrate 0.4.0 -> 0.5.0. Built by scripts/build_sql.sh into sql/pg_migrate--0.4.0--0.5.0.sql.
-- Table changes are written here; every changed function is then re-created from its one
-- source file, the same files a fresh install runs (sql/install.sql).

-- Pipelines over a source query: the query and who stored it, per run; its rows per batch.
ALTER TABLE pgmigrate.pipeline_runs
    ADD COLUMN source_query text,
    ADD COLUMN query_author regrole,
    ADD COLUMN query_search_path text;
-- What each batch wrote (replacing the pipeline_changes table: one row per batch instead of
-- one row and index entry per document), its per-step counts and the path it took.
ALTER TABLE pgmigrate.pipeline_batches
    ADD COLUMN source_docs jsonb[],
    ADD COLUMN source_rows bigint[],
    ADD COLUMN source_xmins xid[],
    ADD COLUMN changed_ids uuid[],
    ADD COLUMN old_row_ids bigint[],
    ADD COLUMN new_row_ids bigint[],
    ADD COLUMN step_counts jsonb,
    ADD COLUMN single_statement boolean;
-- The changes 0.4.0 recorded per document move to the first finished batch of their run
-- (rollback_pipeline reads them through the pipeline_changes view, per run).
UPDATE pgmigrate.pipeline_batches b
   SET changed_ids = c.ids, old_row_ids = c.olds, new_row_ids = c.news
  FROM (SELECT ch.run_id, array_agg(ch.entity_id ORDER BY ch.entity_id) AS ids, array_agg(ch.old_row_id ORDER BY ch.entity_id) AS olds,
               array_agg(ch.new_row_id ORDER BY ch.entity_id) AS news
          FROM pgmigrate.pipeline_changes ch GROUP BY ch.run_id) c
 WHERE b.run_id = c.run_id
   AND b.batch_no = (SELECT min(x.batch_no) FROM pgmigrate.pipeline_batches x WHERE x.run_id = c.run_id AND x.status = 'DONE');
ALTER EXTENSION pg_migrate DROP TABLE pgmigrate.pipeline_changes;  -- also drops it from the configuration tables
DROP TABLE pgmigrate.pipeline_changes;
-- 0.3.0 -> 0.4.0 dropped a configuration table without that, leaving its OID in
-- pg_extension.extconfig (pg_dump skips it, but it is wrong): keep only tables that exist.
UPDATE pg_catalog.pg_extension e
   SET (extconfig, extcondition) = (SELECT array_agg(c.o ORDER BY c.n), array_agg(c.cond ORDER BY c.n)
                                      FROM unnest(e.extconfig, e.extcondition) WITH ORDINALITY c(o, cond, n)
                                     WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = c.o))
 WHERE e.extname = 'pg_migrate';
\ir ../pipeline/pipeline_changes.sql
\ir ../pipeline/pipeline_step_counts.sql

-- Functions: new, and re-created (a changed signature drops the old one first).
DROP FUNCTION pgmigrate._pipeline_write(uuid, text, text);
\ir ../entity_store/document_violations.sql
\ir ../pipeline/pipeline_sql.sql
\ir ../pipeline/pipeline_temp.sql
\ir ../pipeline/pipeline_load.sql
\ir ../pipeline/pipeline_apply.sql
\ir ../pipeline/pipeline_write.sql
\ir ../pipeline/pipeline_fused.sql
\ir ../pipeline/pipeline_source.sql
\ir ../pipeline/pipeline_plan.sql
\ir ../pipeline/register_pipeline.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/pipeline_batch.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/pipeline_preview.sql
\ir ../pipeline/rollback_pipeline.sql
\ir ../pipeline/pipeline_run_inline.sql
\ir ../pipeline/grant_pipeline_admin.sql

-- Registered pipelines compiled by 0.4.0 are compiled again (source queries, the
-- one-statement path, per-step counts). Runs keep the SQL they started with.
UPDATE pgmigrate.pipelines SET compiled = pgmigrate._pipeline_compile(definition);
