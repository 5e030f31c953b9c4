-- pg_migrate 0.6.1 -> 0.6.2
-- A document the application gives a new version (closes the current row, inserts the
-- next) while a pipeline batch waits for its row lock is transformed in that batch (it
-- dropped out, untransformed and unrecorded, and the run completed without it).
-- At most one run of a pipeline RUNNING or ROLLING_BACK at a time (a unique index): a run
-- is not rolled back while another of its pipeline is going, a REPEATABLE READ session
-- whose snapshot predates another's start no longer starts a second run, a TRANSFORM step
-- does not run a pipeline whose run is going.
-- pipeline_workers starts 0 to 63 workers, only for a RUNNING parallel run.
-- A {"restart": true} waits for batches other sessions are in the middle of, and does not
-- take a non-parallel run from the session working it; that session's CALL ends with a
-- clear 55000 (it failed on an internal error). Errors about a RUNNING run in the way say
-- what to do when a crash left it so. Pipeline functions keep their lock_timeout and
-- enable_memoize to themselves (a TRANSFORM step or a rollback_pipeline in a transaction
-- left them changed for what followed). A migration step's error HINT reaches the caller.
-- A backfill batch no longer leaves pg_migrate.validation and deprecated_field_policy off
-- for the rest of its caller's transaction (a schema admin could then write a document
-- the active schema refuses), nor a migration step its lock_timeout. Every setting stored
-- SQL changes (plain SET included) is undone when it returns (a migration admin's step
-- could leave the runner's search_path pointing into the admin's schema). A temporary
-- table the caller made under a pipeline work table's name is refused, not used by the
-- owner (its trigger would have run as the owner). CALL run_pipeline inside a transaction
-- block fails at its first COMMIT before taking the session-level lock it used to leave
-- held (other sessions were then refused until this one disconnected); a cancel during its
-- retry backoff stops the run cleanly.

-- Runs of one pipeline left unfinished side by side (two CALLs at once before 0.6.1 could
-- start two): the newest unfinished run (RUNNING, FAILED or CANCELLED: the one CALL
-- run_pipeline resumes) stays, the older ones are ABANDONED, as {"restart": true} would,
-- with a WARNING and an audit entry each. A pipeline left with more than one run RUNNING or
-- ROLLING_BACK after that (one RUNNING beside one being rolled back, two being rolled back)
-- cannot be sorted out here: the update stops, naming them.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        UPDATE pgmigrate.pipeline_runs x SET status = 'ABANDONED', finished_at = coalesce(x.finished_at, clock_timestamp()),
               updated_at = clock_timestamp()
         WHERE x.status IN ('RUNNING', 'FAILED', 'CANCELLED') AND x.pipeline_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM pgmigrate.pipeline_runs y
                        WHERE y.pipeline_id = x.pipeline_id AND y.status IN ('RUNNING', 'FAILED', 'CANCELLED')
                          AND (y.started_at, y.run_id) > (x.started_at, x.run_id))
        RETURNING x.run_id, x.pipeline_name
    LOOP
        RAISE WARNING 'pipeline "%": run % ABANDONED by the update to 0.6.2 (a newer run of it is unfinished)', r.pipeline_name, r.run_id;
        PERFORM pgmigrate._audit('pipeline.abandoned', jsonb_build_object('pipeline', r.pipeline_name, 'run_id', r.run_id,
            'reason', 'ALTER EXTENSION pg_migrate UPDATE to 0.6.2: a newer run of the pipeline is unfinished'),
            current_user::regrole);
    END LOOP;
    FOR r IN
        SELECT x.pipeline_name, string_agg(x.run_id || ' ' || x.status, ', ' ORDER BY x.started_at) AS runs
          FROM pgmigrate.pipeline_runs x WHERE x.status IN ('RUNNING', 'ROLLING_BACK') AND x.pipeline_id IS NOT NULL
         GROUP BY x.pipeline_id, x.pipeline_name HAVING count(*) > 1
    LOOP
        RAISE EXCEPTION 'pipeline "%" has more than one run RUNNING or ROLLING_BACK: %', r.pipeline_name, r.runs
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = '0.6.2 allows one run of a pipeline going or being rolled back at a time.',
                  HINT = 'Under 0.6.1, finish each rollback (CALL pgmigrate.rollback_pipeline_batched(run_id)) and stop or finish the runs, then update.';
    END LOOP;
END $$;
CREATE UNIQUE INDEX pipeline_runs_one_active ON pgmigrate.pipeline_runs (pipeline_id)
    WHERE status IN ('RUNNING', 'ROLLING_BACK');

\ir ../pipeline/pipeline_load.sql
\ir ../pipeline/pipeline_fused.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/pipeline_run_inline.sql
\ir ../pipeline/rollback_pipeline.sql
\ir ../pipeline/pipeline_workers.sql
\ir ../pipeline/pipeline_transform.sql
\ir ../pipeline/run_pipeline.sql
\ir ../engine/run_step.sql
\ir ../engine/execute_migration.sql
\ir ../engine/rollback_migration.sql
\ir ../engine/run_migration.sql
\ir ../schema_evolution/backfill_field_batch.sql
\ir ../pipeline/pipeline_temp.sql
\ir ../pipeline/pipeline_source.sql
