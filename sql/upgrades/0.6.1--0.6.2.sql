-- pg_migrate 0.6.1 -> 0.6.2
-- A document the application gives a new version (closes the current row, inserts the
-- next) while a pipeline batch waits for its row lock is transformed in that batch (it
-- dropped out, untransformed and unrecorded, and the run completed without it).
-- At most one run of a pipeline RUNNING or ROLLING_BACK at a time (a unique index): a run
-- is not rolled back while another of its pipeline is going, a REPEATABLE READ session
-- whose snapshot predates another's start no longer starts a second run, a TRANSFORM step
-- does not run a pipeline whose run is going.
-- pipeline_workers starts 0 to 63 workers, only for a RUNNING run.

-- Runs of one pipeline left RUNNING side by side (two CALLs at once before 0.6.1): the
-- newest stays, the older are ABANDONED, as {"restart": true} would. A pipeline with a run
-- RUNNING and another ROLLING_BACK cannot be sorted out here: the update stops, naming them.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        UPDATE pgmigrate.pipeline_runs x SET status = 'ABANDONED', finished_at = clock_timestamp(), updated_at = clock_timestamp()
         WHERE x.status = 'RUNNING' AND x.pipeline_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM pgmigrate.pipeline_runs y
                        WHERE y.pipeline_id = x.pipeline_id AND y.status = 'RUNNING' AND y.started_at > x.started_at)
        RETURNING x.run_id, x.pipeline_name
    LOOP
        RAISE NOTICE 'pipeline "%": run % ABANDONED (a newer run of it is RUNNING)', r.pipeline_name, r.run_id;
    END LOOP;
    FOR r IN
        SELECT x.pipeline_name, string_agg(x.run_id || ' ' || x.status, ', ' ORDER BY x.started_at) AS runs
          FROM pgmigrate.pipeline_runs x WHERE x.status IN ('RUNNING', 'ROLLING_BACK') AND x.pipeline_id IS NOT NULL
         GROUP BY x.pipeline_id, x.pipeline_name HAVING count(*) > 1
    LOOP
        RAISE EXCEPTION 'pipeline "%" has runs going and being rolled back at once: %', r.pipeline_name, r.runs
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Finish the rollback (CALL pgmigrate.rollback_pipeline_batched(run_id)) or the run under 0.6.1, then update.';
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
