-- pg_migrate 0.5.0 -> 0.6.0. Built by scripts/build_sql.sh into sql/pg_migrate--0.5.0--0.6.0.sql.
-- Table changes are written here; every changed function is then re-created from its one
-- source file, the same files a fresh install runs (sql/install.sql).

-- Batches keep their id arrays uncompressed (see pipeline/pipeline_batches.sql).
ALTER TABLE pgmigrate.pipeline_batches ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN changed_ids SET STORAGE EXTERNAL,
    ALTER COLUMN old_row_ids SET STORAGE EXTERNAL, ALTER COLUMN new_row_ids SET STORAGE EXTERNAL;

-- Functions: new, and re-created.
\ir ../pipeline/pipeline_workers.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/pipeline_batch.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/pipeline_run_inline.sql
\ir ../pipeline/grant_pipeline_admin.sql

-- Roles given the pipeline helpers under 0.5.0 may start workers too.
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN SELECT a.oid::regrole FROM pg_catalog.pg_roles a
                    WHERE NOT a.rolsuper AND a.rolname NOT LIKE 'pg\_%'
                      AND pg_catalog.has_function_privilege(a.oid, 'pgmigrate.pipeline_batch(uuid)', 'EXECUTE')
                      AND NOT pg_catalog.has_function_privilege(a.oid, 'pgmigrate.pipeline_workers(uuid, integer, integer[])', 'EXECUTE') LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION pgmigrate.pipeline_workers(uuid, integer, integer[]) TO %s', grantee);
    END LOOP;
END $$;
