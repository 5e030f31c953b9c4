-- CALL run_pipeline(name, options): run (or resume) a pipeline over the current documents
-- of its entity type, one committed batch at a time, with a progress NOTICE per batch.
-- Several sessions may CALL it on a parallel pipeline and share the batches; with
-- {"workers": n} this session starts n - 1 background workers that do so, and waits for
-- them before it returns. On an error the batch is undone and the run is FAILED (a cancel:
-- CANCELLED); CALL again to resume. {"join": run} (what a worker does) works that run's
-- batches if it is still RUNNING, and returns quietly if another session stopped it.
-- Batches run at READ COMMITTED whatever the session's default isolation (each is one
-- transaction that locks the current rows it rewrites, FOR UPDATE): under REPEATABLE READ
-- or SERIALIZABLE, sessions sharing a run would fail each other's batch claims and commits
-- (40001) on the batch rows they mark done. A batch that meets a deadlock (or a
-- serialization failure) is retried in a new transaction, with backoff, up to 10 times.
-- (No SET clause: PostgreSQL forbids COMMIT in procedures that have one; search_path is
-- pinned for its own statements and the caller's restored before every COMMIT. SET
-- TRANSACTION must be the first statement of a transaction: it follows every COMMIT.)

CREATE OR REPLACE PROCEDURE pgmigrate.run_pipeline(name text, options jsonb DEFAULT '{}')
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    joining boolean := options IS NOT NULL AND options ? 'join';
    started jsonb;
    run uuid;
    res jsonb;
    err text;
    state text;
    detail text;
    hint text;
    stop_as text;
    locked boolean := false;
    pids integer[] := '{}';
    waited boolean := false;
    conflicts integer := 0;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    started := pgmigrate.pipeline_start(name, options);
    run := (started->>'run_id')::uuid;
    IF NOT (started->>'joined')::boolean THEN
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        RETURN;
    END IF;
    RAISE NOTICE 'pipeline %: % run %, % batches', name,
        CASE WHEN joining THEN 'joining' WHEN (started->>'resumed')::boolean THEN 'resuming' ELSE 'starting' END, run, started->>'batches';
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    COMMIT;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    -- (After the first COMMIT: called inside a transaction block, where it cannot commit,
    -- it has failed by now without taking this session-level lock.)
    IF NOT (started->>'parallel')::boolean THEN
        -- A non-parallel run is worked by one session at a time.
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF NOT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('pgmigrate.pipeline_run'), pg_catalog.hashtext(run::text)) THEN
            RAISE EXCEPTION 'pipeline "%" run % is being worked by another session', name, run
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Only a pipeline defined with "parallel": true can be shared by several sessions.';
        END IF;
        locked := true;
    END IF;
    IF (started->>'workers')::int > 1 THEN
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        BEGIN
            pids := pgmigrate.pipeline_workers(run, (started->>'workers')::int - 1, '{}');
        EXCEPTION WHEN query_canceled THEN
            -- Cancelled while starting them: the run is CANCELLED (those already started
            -- stop before their first batch) and the CALL fails below.
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
            stop_as := 'CANCELLED';
            PERFORM pgmigrate.pipeline_stop(run, stop_as, err, state);
        END;
        IF stop_as IS NOT NULL THEN
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            COMMIT;
            RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state,
                HINT = pg_catalog.format('Run %s is CANCELLED; CALL pgmigrate.run_pipeline(%L) resumes it from its checkpoint.', run, name);
        END IF;
        RAISE NOTICE 'pipeline %: % background workers share run %', name, pg_catalog.cardinality(pids), run;
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
    END IF;
    -- Until no batch is left: this session's batches, then (with workers) a wait for theirs,
    -- and one more pass for any batch a worker that died left PENDING.
    LOOP
        LOOP
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            stop_as := NULL;
            BEGIN
                res := pgmigrate.pipeline_batch(run);
            EXCEPTION
                WHEN query_canceled THEN
                    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
                    stop_as := 'CANCELLED';
                WHEN serialization_failure OR deadlock_detected THEN
                    -- A deadlock (or a serialization failure from a function a step
                    -- calls): a new transaction does the batch.
                    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
                    conflicts := conflicts + 1;
                    stop_as := CASE WHEN conflicts <= 10 THEN 'RETRY' ELSE 'FAILED' END;
                WHEN others THEN
                    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
                    stop_as := 'FAILED';
            END;
            IF stop_as = 'RETRY' THEN
                RAISE NOTICE 'pipeline %: a batch met a concurrent change (%: %), retrying it in a new transaction (attempt %)',
                    name, state, err, conflicts + 1;
                BEGIN
                    PERFORM pg_catalog.pg_sleep(least(0.01 * pg_catalog.power(2, conflicts), 1.0) * (0.5 + pg_catalog.random() / 2));
                EXCEPTION WHEN query_canceled THEN
                    -- (A cancel during the backoff stops the run like one during a batch.)
                    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
                    stop_as := 'CANCELLED';
                END;
                IF stop_as = 'RETRY' THEN
                    PERFORM pg_catalog.set_config('search_path', caller_path, true);
                    COMMIT;
                    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
                    CONTINUE;
                END IF;
            END IF;
            conflicts := 0;
            IF stop_as IS NULL AND res ? 'stopped' THEN
                -- Another session sharing the run (or one of its workers) stopped it.
                IF joining THEN
                    PERFORM pg_catalog.set_config('search_path', caller_path, true);
                    RETURN;
                END IF;
                stop_as := res->>'stopped';
                detail := NULL;
                IF stop_as = 'ABANDONED' THEN
                    err := pg_catalog.format('pipeline "%s": the run this session worked was abandoned: another session started the pipeline afresh ({"restart": true})', name);
                    state := '55000';
                    detail := pg_catalog.format('Run %s is ABANDONED.', run);
                    hint := pg_catalog.format('That new run goes on; CALL pgmigrate.run_pipeline(%L) joins or resumes it.', name);
                ELSE
                    err := pg_catalog.format('pipeline run %s was stopped by a session sharing it: %s', run, coalesce(res->>'error', res->>'stopped'));
                    state := coalesce(res->>'sqlstate', '55000');
                    hint := NULL;
                END IF;
            END IF;
            IF stop_as IS NOT NULL THEN
                IF stop_as IN ('FAILED', 'CANCELLED') THEN
                    PERFORM pgmigrate.pipeline_stop(run, stop_as, err, state);
                END IF;
                IF locked THEN
                    PERFORM pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('pgmigrate.pipeline_run'), pg_catalog.hashtext(run::text));
                END IF;
                -- (The workers stop before their next batch; the error is raised once they have.)
                EXIT;
            END IF;
            EXIT WHEN (res->>'done')::boolean;
            RAISE NOTICE 'pipeline %: batch % (% of % done): % in, % written, % skipped', name, res->>'batch', res->>'batches_done',
                res->>'batches', res->>'docs_in', res->>'docs_written', res->>'docs_failed';
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            -- A batch commits without waiting for its WAL flush: its documents and its DONE mark
            -- commit together, so a crash can only lose whole batches, which are PENDING again
            -- and redone on resume. The session's last COMMIT below waits, flushing them all.
            PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
            COMMIT;
            SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        END LOOP;
        EXIT WHEN stop_as IS NULL AND (waited OR pg_catalog.cardinality(pids) = 0);
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        COMMIT;
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        WHILE pg_catalog.cardinality(pids) > 0 LOOP
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            BEGIN
                PERFORM pg_catalog.pg_sleep(0.01);
                -- (Inside the block too: a cancel or statement_timeout landing while it
                -- looks at the workers escaped, leaving the run RUNNING and them working.)
                pids := pgmigrate.pipeline_workers(run, 0, pids);
            EXCEPTION WHEN query_canceled THEN
                -- Cancelled (or statement_timeout) while its workers work: the run is
                -- CANCELLED, they stop before their next batch, and the CALL fails once they
                -- have. A second cancel while waiting gives up waiting.
                IF stop_as IS NOT NULL THEN
                    RAISE;
                END IF;
                GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
                stop_as := 'CANCELLED';
                PERFORM pgmigrate.pipeline_stop(run, stop_as, err, state);
                pids := pgmigrate.pipeline_workers(run, 0, pids);
            END;
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            COMMIT;
            SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        END LOOP;
        IF stop_as IS NOT NULL THEN
            IF stop_as <> 'ABANDONED' THEN
                hint := pg_catalog.concat_ws(' ', nullif(hint, ''),
                            pg_catalog.format('Run %s is %s; CALL pgmigrate.run_pipeline(%L) resumes it from its checkpoint.', run, stop_as, name));
            END IF;
            IF nullif(detail, '') IS NULL THEN
                RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state, HINT = hint;
            END IF;
            RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state, DETAIL = detail, HINT = hint;
        END IF;
        waited := true;
    END LOOP;
    IF locked THEN
        PERFORM pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('pgmigrate.pipeline_run'), pg_catalog.hashtext(run::text));
    END IF;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    COMMIT;
    RAISE NOTICE 'pipeline %: run % finished this session''s work', name, run;
END $$;

REVOKE EXECUTE ON PROCEDURE pgmigrate.run_pipeline(text, jsonb) FROM PUBLIC;
