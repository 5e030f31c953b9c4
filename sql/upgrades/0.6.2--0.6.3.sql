-- pg_migrate 0.6.2 -> 0.6.3
-- A migration run's session-level lock goes with a transaction of the run that fails
-- (CALL run_migration inside a transaction block, an error before the run starts or
-- escaping a phase): the session kept it, and every other session was refused "being run
-- by another session" until it disconnected.
-- A session sharing a parallel pipeline run that another session restarts ({"restart":
-- true}) ends with the 55000 saying so (it could end quietly, as if others were finishing
-- the last batches); the message names the pipeline, the run is in its DETAIL.
-- A migration step's error DETAIL reaches the caller (execute_migration / rollback_migration
-- with {"raise": true}, CALL run_migration) and the step's result, as its HINT did; a step
-- run by the background worker (CREATE INDEX CONCURRENTLY, ...) passes both on too
-- (migration_jobs.hint; the DETAIL through migration_job_details, which only the owner
-- reads: the duplicated key of a unique index that could not be built).
-- A TRANSFORM step refused because its pipeline has a run going names that run and says
-- how to finish it. CALL run_migration below a subtransaction is refused (25001); a second
-- session's CALL is refused before it touches the migration's row; runners lock it FOR NO
-- KEY UPDATE (a registration naming it in dependsOn no longer blocks them); a cancel after
-- the worker finished its statement counts the phase done; an interrupted automatic
-- rollback (rollbackOnFailure) is resumed by the next CALL. A DETAIL reaches only callers
-- in the author's role and is not kept in run records.
-- Pipelines: a rule writing a field under a value that is not an object (rename to "a.b"
-- where "a" is a string or null, a merge or default there) is an error of that document
-- (it left the document unchanged, and with the source removed lost the value); a merge
-- with removeSources keeps sources under its target; a DEEP_MERGE leaves missing sources
-- out; a CUSTOM function's result that is not an object is that document's error; two
-- AGGREGATE group keys under one name are refused; a SKIP step of an AGGREGATE or batch
-- CUSTOM pipeline costs only the failing documents; an error of the pipeline's SQL (class
-- 42) fails the batch instead of skipping every document. Registered pipelines are
-- compiled again, and unfinished runs of an unchanged definition take the new SQL. A run
-- reads and prints values (DateStyle, IntervalStyle, TimeZone, lc_time) as the session
-- that started it, in every session and worker sharing it. to_number refuses NaN and
-- Infinity, date_format infinite dates and "now"/"today"/...; a set-returning function,
-- or one returning another type, is refused at registration. min/max leave JSON nulls
-- out; a missing and a null group key are one group; a default of null is a value. An
-- output the entity store refuses is named (run) and shown (preview).

ALTER TABLE pgmigrate.migration_jobs ADD COLUMN hint text;
CREATE TABLE pgmigrate.migration_job_details (
    job_id bigint PRIMARY KEY REFERENCES pgmigrate.migration_jobs (job_id) ON DELETE CASCADE,
    detail text NOT NULL
);

\ir ../engine/unlock_on_abort.sql
\ir ../engine/run_migration_phase.sql
\ir ../engine/raise_failure.sql
\ir ../engine/run_step.sql
\ir ../engine/execute_migration.sql
\ir ../engine/rollback_migration.sql
\ir ../engine/run_migration.sql
\ir ../engine/run_phase_work.sql
\ir ../engine/run_migration_options.sql
\ir ../engine/start_run.sql
\ir ../engine/fail_run.sql
\ir ../engine/lock_migration.sql
\ir ../pipeline/pipeline_batch.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/pipeline_run_inline.sql
\ir ../pipeline/pipeline_shape_error.sql
\ir ../pipeline/pipeline_values.sql
\ir ../pipeline/pipeline_transform.sql
\ir ../pipeline/pipeline_apply.sql
\ir ../pipeline/register_pipeline.sql
\ir ../pipeline/pipeline_preview.sql

DO $$
DECLARE
    p record;
    c jsonb;
BEGIN
    FOR p IN SELECT * FROM pgmigrate.pipelines ORDER BY name LOOP
        BEGIN
            c := pgmigrate._pipeline_compile(p.definition);
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE WARNING 'pipeline "%" keeps its 0.6.2 compilation: %', p.name, SQLERRM
                USING HINT = 'Register it again with the definition fixed (0.6.3 refuses it as it is).';
            CONTINUE;
        END;
        UPDATE pgmigrate.pipeline_runs r SET compiled = c
         WHERE r.pipeline_id = p.pipeline_id AND r.status IN ('RUNNING', 'FAILED', 'CANCELLED') AND r.compiled = p.compiled;
        UPDATE pgmigrate.pipelines x SET compiled = c WHERE x.pipeline_id = p.pipeline_id;
    END LOOP;
END $$;
