-- The end of a run that failed (the failed phase's own work is already undone).

CREATE OR REPLACE FUNCTION pgmigrate._fail_run(m pgmigrate.knowledge_migrations, run pgmigrate.migration_runs, failure jsonb, caller regrole)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    undo pgmigrate.migration_runs;
BEGIN
    -- (A failed step's DETAIL goes to the caller, not into the run's record: other migration
    -- admins read that, and a DETAIL can show values of the author's tables.)
    UPDATE pgmigrate.migration_runs SET status = 'FAILED', error = failure - 'detail', finished_at = clock_timestamp() WHERE run_id = run.run_id;
    -- (Nor kept for the owner: a worker's DETAIL its driver did not read, cancelled first.)
    DELETE FROM pgmigrate.migration_job_details d USING pgmigrate.migration_jobs j WHERE d.job_id = j.job_id AND j.run_id = run.run_id;
    PERFORM pgmigrate._run_log(m, run.run_id, 'FAILED', jsonb_build_object('direction', run.direction, 'phase', failure->'phase',
        'failedStep', failure->>'stepName', 'error', failure->>'error'), caller);
    IF run.undoes IS NOT NULL THEN
        -- The rollback of a failed run failed too: the migration stays FAILED.
        UPDATE pgmigrate.migration_runs SET status = 'FAILED' WHERE run_id = run.undoes;
        PERFORM pgmigrate._set_migration_status(m, 'FAILED');
        RETURN jsonb_build_object('action', 'failed', 'runId', run.run_id, 'error', failure,
            'original', (SELECT error FROM pgmigrate.migration_runs WHERE run_id = run.undoes));
    END IF;
    IF run.direction = 'forward' AND coalesce((run.options->>'rollbackOnFailure')::boolean, false) AND run.next_phase > 1
       AND jsonb_array_length(pgmigrate.migration_steps(m, 'rollback')) > 0 THEN
        INSERT INTO pgmigrate.migration_runs (run_id, migration_id, direction, phases, options, status, started_by, undoes)
        VALUES (gen_random_uuid(), m.migration_id, 'rollback', pgmigrate._phase_plan(m, 'rollback'), run.options, 'RUNNING',
                caller::text, run.run_id)
        RETURNING * INTO undo;
        RAISE NOTICE 'run_migration %: rolling back the % completed phase(s)', m.migration_name, run.next_phase - 1;
        RETURN jsonb_build_object('action', 'continue', 'runId', undo.run_id);
    END IF;
    PERFORM pgmigrate._set_migration_status(m, CASE run.direction WHEN 'forward' THEN 'FAILED' ELSE 'COMPLETED' END);
    RETURN jsonb_build_object('action', 'failed', 'runId', run.run_id, 'error', failure);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._fail_run(pgmigrate.knowledge_migrations, pgmigrate.migration_runs, jsonb, regrole) FROM PUBLIC;
