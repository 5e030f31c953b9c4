-- Start a run of `direction`, or resume the last one (FAILED, or RUNNING without a session).

CREATE OR REPLACE FUNCTION pgmigrate._start_run(m pgmigrate.knowledge_migrations, options jsonb, caller regrole)
RETURNS pgmigrate.migration_runs LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    direction text := CASE WHEN coalesce((options->>'rollback')::boolean, false) THEN 'rollback' ELSE 'forward' END;
    prev pgmigrate.migration_runs;
    run pgmigrate.migration_runs;
    missing text[];
    dependents text[];
    report jsonb;
    live_job bigint;
    live_sql text;
BEGIN
    SELECT * INTO prev FROM pgmigrate.migration_runs r WHERE r.migration_id = m.migration_id ORDER BY started_at DESC LIMIT 1;
    -- The rollback rollbackOnFailure started after a failure, interrupted (cancelled, its
    -- session gone) or failed itself: finished first, whatever this call asks (a new forward
    -- run went over the partly undone migration: "already exists" on every attempt).
    -- {"abandonRollback": true} gives up undoing (a rollback step that cannot succeed): the
    -- rollback stays FAILED, marked abandoned, and this call starts the migration afresh.
    IF prev.run_id IS NOT NULL AND prev.undoes IS NOT NULL AND prev.status IN ('RUNNING', 'FAILED')
       AND NOT coalesce((prev.error->>'abandoned')::boolean, false) AND coalesce((options->>'abandonRollback')::boolean, false) THEN
        -- (Not while one of its statements still runs in a worker: it would interleave with
        -- the fresh run.)
        SELECT j.job_id, j.sql INTO live_job, live_sql FROM pgmigrate.migration_jobs j
         WHERE j.run_id = prev.run_id AND j.status IN ('PENDING', 'RUNNING') AND pgmigrate._process_alive(j.pid) LIMIT 1;
        IF live_job IS NOT NULL THEN
            RAISE EXCEPTION 'the rollback of migration "%" still runs a statement in a background worker: %', m.migration_name, live_sql
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Wait for it (or end it with pg_cancel_backend on the pg_migrate job), then abandon the rollback.';
        END IF;
        DELETE FROM pgmigrate.migration_job_details d USING pgmigrate.migration_jobs j WHERE d.job_id = j.job_id AND j.run_id = prev.run_id;
        UPDATE pgmigrate.migration_runs r SET status = 'FAILED', finished_at = coalesce(r.finished_at, clock_timestamp()),
               error = coalesce(r.error, '{}') || '{"abandoned": true}'
         WHERE r.run_id = prev.run_id RETURNING * INTO prev;
        PERFORM pgmigrate._run_log(m, prev.run_id, 'ROLLBACK_ABANDONED', jsonb_build_object('undoes', prev.undoes, 'phase', prev.next_phase), caller);
        PERFORM pgmigrate._set_migration_status(m, 'FAILED');
        m.status := 'FAILED';
        RAISE NOTICE 'run_migration %: the rollback of its failed run is abandoned at phase % of %: what it did not undo stays',
            m.migration_name, prev.next_phase, jsonb_array_length(prev.phases);
    ELSIF prev.run_id IS NOT NULL AND prev.undoes IS NOT NULL AND prev.status IN ('RUNNING', 'FAILED')
       AND NOT coalesce((prev.error->>'abandoned')::boolean, false) THEN
        -- (This call's lock settings apply to the rest of the rollback.)
        UPDATE pgmigrate.migration_runs r SET status = 'RUNNING', error = NULL, finished_at = NULL,
               resumed_at = CASE WHEN prev.status = 'FAILED' THEN clock_timestamp() ELSE r.resumed_at END,
               options = prev.options || (options - 'runId' - 'cancel' - 'rollback' - 'force' - 'abandonRollback')
         WHERE r.run_id = prev.run_id RETURNING * INTO run;
        PERFORM pgmigrate._set_migration_status(m, 'RUNNING');
        PERFORM pgmigrate._run_log(m, run.run_id, 'RESUMED', jsonb_build_object('phase', run.next_phase, 'direction', 'rollback',
            'undoes', run.undoes), caller);
        RAISE NOTICE 'run_migration %: resuming the rollback of its failed run at phase % of % (then CALL again to run it afresh)',
            m.migration_name, run.next_phase, jsonb_array_length(run.phases);
        RETURN run;
    END IF;
    IF prev.run_id IS NOT NULL AND prev.direction = direction AND prev.undoes IS NULL
       AND (prev.status = 'RUNNING' OR (prev.status = 'FAILED'
            AND m.status = CASE direction WHEN 'forward' THEN 'FAILED' ELSE 'COMPLETED' END)) THEN
        -- Resume: completed phases stay done.
        IF direction = 'forward' THEN
            SELECT array_agg(coalesce(d.migration_name, dep::text) ORDER BY 1) INTO missing
              FROM unnest(m.depends_on) dep LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep
             WHERE d.status IS DISTINCT FROM 'COMPLETED';
            IF missing IS NOT NULL THEN
                RAISE EXCEPTION 'migration "%" depends on migrations that are not COMPLETED: %', m.migration_name,
                    array_to_string(missing, ', ') USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END IF;
        -- A FAILED run's jobs of the failed phase are history; a RUNNING one (its session went
        -- away) continues where it was, waiting for a worker still at work.
        UPDATE pgmigrate.migration_runs r SET status = 'RUNNING', error = NULL, finished_at = NULL,
               resumed_at = CASE WHEN prev.status = 'FAILED' THEN clock_timestamp() ELSE r.resumed_at END,
               options = prev.options || (options - 'runId' - 'cancel')
         WHERE r.run_id = prev.run_id RETURNING * INTO run;
        PERFORM pgmigrate._set_migration_status(m, 'RUNNING');
        PERFORM pgmigrate._run_log(m, run.run_id, 'RESUMED', jsonb_build_object('phase', run.next_phase, 'direction', direction), caller);
        RAISE NOTICE 'run_migration %: resuming % run at phase % of %', m.migration_name, direction, run.next_phase,
            jsonb_array_length(run.phases);
        RETURN run;
    END IF;
    IF m.status = 'RUNNING' THEN
        RAISE EXCEPTION 'migration "%" is RUNNING (%)', m.migration_name, coalesce(prev.direction, 'execute_migration')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = CASE WHEN prev.direction = 'rollback' THEN 'Resume its rollback with {"rollback": true}.'
                              ELSE 'Another session runs it, or ran it and went away: wait, or resume it with CALL pgmigrate.run_migration.' END;
    END IF;
    IF direction = 'forward' THEN
        IF m.status NOT IN ('PENDING', 'FAILED', 'ROLLED_BACK') THEN
            RAISE EXCEPTION 'migration "%" is %', m.migration_name, m.status
                USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only PENDING, FAILED or ROLLED_BACK migrations run.';
        END IF;
        PERFORM 1 FROM pgmigrate.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on) ORDER BY d.migration_id FOR SHARE;
        SELECT array_agg(coalesce(d.migration_name, dep::text) ORDER BY 1) INTO missing
          FROM unnest(m.depends_on) dep LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep
         WHERE d.status IS DISTINCT FROM 'COMPLETED';
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'migration "%" depends on migrations that are not COMPLETED: %', m.migration_name, array_to_string(missing, ', ')
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF NOT coalesce((options->>'force')::boolean, false) THEN
            report := pgmigrate.validate_migration_safety(m.migration_name);
            IF NOT (report->>'overallSafety')::boolean THEN
                RAISE EXCEPTION 'migration "%" failed its safety checks', m.migration_name
                    USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = (report->'criticalIssues')::text,
                          HINT = 'See pgmigrate.validate_migration_safety(name); options {"force": true} runs it anyway.';
            END IF;
        END IF;
    ELSE
        IF m.status <> 'COMPLETED' THEN
            RAISE EXCEPTION 'migration "%" is %, only COMPLETED migrations roll back', m.migration_name, m.status
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        SELECT array_agg(d.migration_name ORDER BY d.migration_name) INTO dependents
          FROM pgmigrate.knowledge_migrations d WHERE m.migration_id = ANY (d.depends_on) AND d.status IN ('COMPLETED', 'RUNNING');
        IF dependents IS NOT NULL THEN
            RAISE EXCEPTION 'migration "%" has COMPLETED dependents: %', m.migration_name, array_to_string(dependents, ', ')
                USING ERRCODE = 'dependent_objects_still_exist', HINT = 'Roll them back first.';
        END IF;
        IF jsonb_array_length(pgmigrate.migration_steps(m, 'rollback')) = 0 THEN
            RAISE EXCEPTION 'migration "%" has no rollback steps', m.migration_name USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    INSERT INTO pgmigrate.migration_runs (run_id, migration_id, direction, phases, options, status, started_by)
    VALUES (gen_random_uuid(), m.migration_id, direction, pgmigrate._phase_plan(m, direction),
            options - 'runId' - 'cancel', 'RUNNING', caller::text)
    RETURNING * INTO run;
    IF direction = 'forward' THEN
        UPDATE pgmigrate.knowledge_migrations SET started_at = clock_timestamp(), completed_at = NULL, executed_by = caller::text
         WHERE migration_id = m.migration_id;
    END IF;
    PERFORM pgmigrate._set_migration_status(m, 'RUNNING');
    PERFORM pgmigrate._run_log(m, run.run_id, 'STARTED', jsonb_build_object('direction', direction,
        'phases', jsonb_array_length(run.phases)), caller);
    RAISE NOTICE 'run_migration %: % run in % phase(s)', m.migration_name, direction, jsonb_array_length(run.phases);
    RETURN run;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._start_run(pgmigrate.knowledge_migrations, jsonb, regrole) FROM PUBLIC;
