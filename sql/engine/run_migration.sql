-- run_migration, 0.4.0: migrations that run as phases, committing between them, and steps
-- that wait for locks only briefly and retry.
--
-- * Lock timeouts. Every step runs with a short lock_timeout (default 1000 ms; per step
--   or per migration "lockTimeout", per run option "lockTimeout"; 0 turns it off) and a
--   step that fails with 55P03 lock_not_available is retried after a capped, jittered,
--   exponential backoff, up to "lockRetries" more times (default 9: ten attempts). A
--   migration never queues behind a long transaction with every reader and writer of
--   the table queued behind it. Precedence: the step's own (or its migration's) setting,
--   then the run's option, then the default.
-- * Phases. CALL pgmigrate.run_migration(name, options) splits the forward (then
--   validation) steps into phases: consecutive transactional steps form one phase (one
--   transaction); a step with "transaction": false, or whose SQL needs autocommit (CREATE
--   / DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM, DETACH PARTITION
--   CONCURRENTLY: read from PostgreSQL's parse tree), is a phase of its own. Autocommit
--   statements run in a background worker as top-level statements (src/engine/
--   job_worker.*), as the migration's author. The procedure commits between phases.
-- * Resuming. Calling run_migration again on a FAILED migration continues its last run at
--   the failed phase (completed phases are not run again); pgmigrate.migration_runs says
--   which phase is next. A run whose session went away (status RUNNING) is resumed too.
--   With {"rollbackOnFailure": true}, a failure after completed phases runs the
--   migration's rollback steps as phases (so rollback steps must tolerate a partly applied
--   migration: IF EXISTS); the migration ends FAILED and its next run starts from phase 1.
--   {"rollback": true} rolls a COMPLETED migration back as phases.

-- The driver: loops over run_migration_phase, committing after each call, and never
-- holds a snapshot while a background worker runs a statement (CREATE INDEX
-- CONCURRENTLY waits for every older snapshot). A cancel while it waits terminates the
-- worker and records the run as FAILED (resumable). A failure is raised after its state
-- is committed. (No SET clause: PostgreSQL forbids COMMIT in procedures that have one.)

CREATE OR REPLACE PROCEDURE pgmigrate.run_migration(name text, options jsonb DEFAULT '{}')
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    r jsonb;
    opts jsonb;
    canceled boolean := false;
    err jsonb;
    msg text;
    hint text;
    polls int := 0;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    opts := coalesce(options, '{}'::jsonb);
    IF pg_catalog.jsonb_typeof(opts) OPERATOR(pg_catalog.=) 'object' THEN
        opts := opts OPERATOR(pg_catalog.-) 'runId' OPERATOR(pg_catalog.-) 'cancel';
    END IF;
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        BEGIN
            r := pgmigrate.run_migration_phase(name, opts);
        EXCEPTION WHEN query_canceled THEN
            canceled := true;
        END;
        EXIT WHEN canceled;
        IF r->>'runId' IS NOT NULL THEN
            opts := opts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('runId', r->'runId');
        END IF;
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        EXIT WHEN r->>'action' IN ('done', 'failed');
        IF r->>'action' IN ('wait', 'sleep') THEN
            BEGIN
                polls := polls OPERATOR(pg_catalog.+) 1;
                PERFORM pg_catalog.pg_sleep(CASE WHEN r->>'action' OPERATOR(pg_catalog.=) 'sleep'
                    THEN (r->>'ms')::pg_catalog.numeric OPERATOR(pg_catalog./) 1000
                    ELSE least(0.2, 0.01 OPERATOR(pg_catalog.*) polls) END);
            EXCEPTION WHEN query_canceled THEN
                canceled := true;
            END;
            EXIT WHEN canceled;
            COMMIT;
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        ELSE
            polls := 0;
        END IF;
    END LOOP;
    IF canceled THEN
        -- Terminate the worker, record the run as FAILED (resumable), then report the cancel.
        IF opts ? 'runId' THEN
            r := pgmigrate.run_migration_phase(name, opts OPERATOR(pg_catalog.||) '{"cancel": true}'::jsonb);
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            COMMIT;
        END IF;
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        RAISE EXCEPTION 'run_migration of "%" was canceled', name USING ERRCODE = 'query_canceled',
            HINT = 'The run is recorded as FAILED; CALL pgmigrate.run_migration again to resume it.';
    END IF;
    IF r->>'action' = 'failed' THEN
        err := r->'error';
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        IF err->>'sqlstate' OPERATOR(pg_catalog.=) '55P03' THEN
            RAISE EXCEPTION 'migration "%" failed at phase %: %', name, err->>'phase', err->>'error'
                USING ERRCODE = 'lock_not_available',
                      HINT = 'Another session held a conflicting lock throughout. Find it in pg_locks / pg_stat_activity, or raise lockTimeout / lockRetries; CALL pgmigrate.run_migration again to resume.';
        END IF;
        msg := pg_catalog.format('migration "%s" failed at phase %s (step "%s"): %s%s', name, err->>'phase',
            err->>'stepName', err->>'error',
            CASE WHEN (r->>'rolledBack')::pg_catalog.bool THEN ' (its completed phases were rolled back)' ELSE '' END);
        -- (The step's own hint first, as a sentence.)
        hint := pg_catalog.concat_ws(' ', pg_catalog.regexp_replace(err->>'hint', '([^.!?])\s*$', '\1.'),
                    CASE WHEN (r->>'rolledBack')::pg_catalog.bool THEN 'Fix the cause and run it again: it starts from phase 1.'
                         WHEN r ? 'original' THEN pg_catalog.format('This was the rollback of a failed run: fix the cause and CALL pgmigrate.run_migration(%L) again to finish it, '
                              'or CALL pgmigrate.run_migration(%L, ''{"abandonRollback": true}'') to give up undoing and run the migration afresh.', name, name)
                         ELSE 'Fix the cause and CALL pgmigrate.run_migration again: it resumes at the failed phase.' END);
        IF nullif(err->>'detail', '') IS NOT NULL THEN
            RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = coalesce(err->>'sqlstate', 'P0001'), DETAIL = err->>'detail', HINT = hint;
        END IF;
        RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = coalesce(err->>'sqlstate', 'P0001'), HINT = hint;
    END IF;
    RAISE NOTICE 'run_migration %: done, % phase(s)', name, r->>'phases';
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END $$;

REVOKE EXECUTE ON PROCEDURE pgmigrate.run_migration(text, jsonb) FROM PUBLIC;
