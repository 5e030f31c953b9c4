-- pg_migrate 0.5.0 -> 0.6.0. Built by scripts/build_sql.sh into sql/pg_migrate--0.5.0--0.6.0.sql.
-- Table changes are written here; every changed function is then re-created from its one
-- source file, the same files a fresh install runs (sql/install.sql).

-- Batches keep their id arrays uncompressed (see pipeline/pipeline_batches.sql).
ALTER TABLE pgmigrate.pipeline_batches ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN changed_ids SET STORAGE EXTERNAL,
    ALTER COLUMN old_row_ids SET STORAGE EXTERNAL, ALTER COLUMN new_row_ids SET STORAGE EXTERNAL;

-- Rollback in committed batches: a run being rolled back, and each batch once it is.
ALTER TABLE pgmigrate.pipeline_runs DROP CONSTRAINT pipeline_runs_status_check,
    ADD CONSTRAINT pipeline_runs_status_check
        CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'ABANDONED', 'ROLLING_BACK', 'ROLLED_BACK'));
ALTER TABLE pgmigrate.pipeline_batches ADD COLUMN docs_rolled_back integer;
-- The xmin of each version a batch writes, so a rollback sees in-place UPDATEs since.
ALTER TABLE pgmigrate.pipeline_batches ADD COLUMN new_row_xmins xid[];
ALTER TABLE pgmigrate.pipeline_batches ALTER COLUMN new_row_xmins SET STORAGE EXTERNAL;
-- Runs rolled back under 0.5.0 are rolled back batch by batch as far as the new column tells.
UPDATE pgmigrate.pipeline_batches b SET docs_rolled_back = coalesce(cardinality(b.changed_ids), 0)
  FROM pgmigrate.pipeline_runs r WHERE r.run_id = b.run_id AND r.status = 'ROLLED_BACK' AND b.status = 'DONE';

\ir ../pipeline/pipeline_changes.sql

-- Functions: new, and re-created (a changed result type drops the old one first).
DROP FUNCTION pgmigrate._pipeline_write(uuid, text, text, text, boolean);
DROP FUNCTION pgmigrate._pipeline_fused(jsonb, uuid[], text, integer);
\ir ../pipeline/pipeline_write.sql
\ir ../pipeline/pipeline_fused.sql
\ir ../pipeline/pipeline_workers.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/pipeline_batch.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/pipeline_run_inline.sql
\ir ../pipeline/rollback_pipeline.sql
\ir ../pipeline/grant_pipeline_admin.sql

-- Roles given the pipeline helpers under 0.5.0 may start workers and roll back in batches too.
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN SELECT a.oid::regrole FROM pg_catalog.pg_roles a
                    WHERE NOT a.rolsuper AND a.rolname NOT LIKE 'pg\_%'
                      AND pg_catalog.has_function_privilege(a.oid, 'pgmigrate.pipeline_batch(uuid)', 'EXECUTE')
                      AND NOT pg_catalog.has_function_privilege(a.oid, 'pgmigrate.pipeline_workers(uuid, integer, integer[])', 'EXECUTE') LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION pgmigrate.pipeline_workers(uuid, integer, integer[]), '
                                  'pgmigrate.pipeline_rollback_step(uuid, boolean) TO %s', grantee);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON PROCEDURE pgmigrate.rollback_pipeline_batched(uuid, boolean) TO %s', grantee);
    END LOOP;
END $$;
