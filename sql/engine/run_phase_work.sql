CREATE OR REPLACE FUNCTION pgmigrate._run_phase_work(m pgmigrate.knowledge_migrations, run pgmigrate.migration_runs, options jsonb,
                                          caller regrole) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    name text := m.migration_name;
    p jsonb;
    step jsonb;
    r jsonb;
    results jsonb := '[]';
    failed jsonb;
    sj pgmigrate.migration_jobs;
    cj pgmigrate.migration_jobs;
    lp integer[];
    ok text;
    n_cleanup int;
    leftover text;
BEGIN
    IF coalesce((options->>'cancel')::boolean, false) THEN
        UPDATE pgmigrate.migration_jobs j SET status = 'CANCELED', finished_at = clock_timestamp(),
               error = 'canceled: the caller of run_migration was canceled'
         WHERE j.run_id = run.run_id AND j.status IN ('PENDING', 'RUNNING') RETURNING * INTO cj;
        IF cj.pid IS NOT NULL THEN
            PERFORM pg_terminate_backend(cj.pid) FROM pg_stat_activity a WHERE a.pid = cj.pid AND a.backend_type = 'pg_migrate job';
            -- What a terminated build leaves is dropped when the run resumes.
            UPDATE pgmigrate.migration_jobs SET cleanup = pgmigrate._leftover_indexes(cj) WHERE job_id = cj.job_id;
        END IF;
        -- A statement the worker finished before the cancel came is done: its phase counts
        -- as completed (resuming would run it again: CREATE INDEX ... already exists).
        p := run.phases->(run.next_phase - 1);
        IF p->>'mode' = 'autocommit' THEN
            SELECT * INTO sj FROM pgmigrate.migration_jobs j WHERE j.run_id = run.run_id AND j.phase_number = run.next_phase
               AND j.purpose = 'step' AND j.created_at >= coalesce(run.resumed_at, run.started_at) ORDER BY job_id DESC LIMIT 1;
            IF sj.status = 'COMPLETED' THEN
                step := p->'steps'->0;
                PERFORM pgmigrate._record_steps(m, run.run_id, jsonb_build_array(jsonb_build_object('stepName', step->>'name',
                    'stepNumber', step->'stepNumber', 'phase', step->>'phase', 'phaseNumber', run.next_phase, 'status', 'COMPLETED',
                    'startedAt', sj.started_at, 'durationMs', round(extract(epoch FROM sj.finished_at - sj.started_at)::numeric * 1000, 3),
                    'rows', 0, 'attempts', sj.attempt)));
                UPDATE pgmigrate.migration_runs SET next_phase = next_phase + 1 WHERE run_id = run.run_id RETURNING * INTO run;
            END IF;
        END IF;
        run.options := '{}';  -- no rollbackOnFailure after a cancel
        RETURN pgmigrate._fail_run(m, run, jsonb_build_object('phase', run.next_phase, 'error', 'run_migration was canceled',
            'sqlstate', '57014'), caller) || jsonb_build_object('action', 'failed');
    END IF;

    IF run.next_phase > jsonb_array_length(run.phases) THEN
        UPDATE pgmigrate.migration_runs SET status = 'COMPLETED', finished_at = clock_timestamp() WHERE run_id = run.run_id;
        PERFORM pgmigrate._run_log(m, run.run_id, 'COMPLETED', jsonb_build_object('direction', run.direction,
            'phases', jsonb_array_length(run.phases)), caller);
        IF run.undoes IS NOT NULL THEN
            UPDATE pgmigrate.migration_runs SET status = 'ROLLED_BACK' WHERE run_id = run.undoes;
            PERFORM pgmigrate._set_migration_status(m, 'FAILED');
            RETURN jsonb_build_object('action', 'failed', 'runId', run.undoes, 'rolledBack', true,
                'error', (SELECT error FROM pgmigrate.migration_runs WHERE run_id = run.undoes));
        END IF;
        PERFORM pgmigrate._set_migration_status(m, CASE run.direction WHEN 'forward' THEN 'COMPLETED' ELSE 'ROLLED_BACK' END);
        RETURN jsonb_build_object('action', 'done', 'runId', run.run_id, 'phases', jsonb_array_length(run.phases));
    END IF;

    p := run.phases->(run.next_phase - 1);
    IF p->>'mode' <> 'autocommit' THEN
        RAISE NOTICE 'run_migration %: phase % of %: % step(s) in one transaction', name, run.next_phase,
            jsonb_array_length(run.phases), jsonb_array_length(p->'steps');
        BEGIN
            FOR step IN SELECT * FROM jsonb_array_elements(p->'steps') LOOP
                r := pgmigrate._run_step_retrying(m, step, (step->>'stepNumber')::int, step->>'phase', run.options)
                     || jsonb_build_object('phaseNumber', run.next_phase);
                results := results || jsonb_build_array(r);
                IF r->>'status' = 'FAILED' THEN
                    failed := r;
                    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'pg_migrate: phase failed';
                END IF;
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'P0001' THEN
            IF failed IS NULL THEN
                RAISE;
            END IF;
            SELECT jsonb_agg(CASE WHEN x->>'status' = 'COMPLETED'
                                  THEN x || '{"rolledBack": true, "error": "rolled back: a later step of its phase failed"}' ELSE x END)
              INTO results FROM jsonb_array_elements(results) x;
        END;
        PERFORM pgmigrate._record_steps(m, run.run_id, results);
        IF failed IS NOT NULL THEN
            RETURN pgmigrate._fail_run(m, run, failed || jsonb_build_object('phase', run.next_phase), caller);
        END IF;
        UPDATE pgmigrate.migration_runs SET next_phase = next_phase + 1 WHERE run_id = run.run_id;
        RETURN jsonb_build_object('action', 'continue', 'runId', run.run_id);
    END IF;

    -- An autocommit phase: one statement, run by the background worker.
    step := p->'steps'->0;
    lp := pgmigrate._lock_plan(step, run.options);
    -- (A job still at work is waited for, whenever it started; finished jobs from before
    -- the resume of a FAILED run are history: the resumed phase starts over.)
    SELECT * INTO cj FROM pgmigrate.migration_jobs j WHERE j.run_id = run.run_id AND j.phase_number = run.next_phase
     ORDER BY job_id DESC LIMIT 1;
    IF cj.status IN ('PENDING', 'RUNNING') THEN
        IF pgmigrate._process_alive(cj.pid) THEN
            RETURN jsonb_build_object('action', 'wait', 'runId', run.run_id, 'job', cj.job_id);
        END IF;
        UPDATE pgmigrate.migration_jobs SET status = 'FAILED', finished_at = clock_timestamp(), sqlstate = '57P01',
               error = 'the background worker ended without recording an outcome', cleanup = pgmigrate._leftover_indexes(cj)
         WHERE job_id = cj.job_id AND status IN ('PENDING', 'RUNNING');
    END IF;
    SELECT * INTO sj FROM pgmigrate.migration_jobs j WHERE j.run_id = run.run_id AND j.phase_number = run.next_phase
       AND j.purpose = 'step' AND j.created_at >= coalesce(run.resumed_at, run.started_at) ORDER BY job_id DESC LIMIT 1;
    IF sj.job_id IS NULL THEN
        -- Resumed: first drop what earlier attempts of this phase left and nobody dropped.
        SELECT x INTO leftover FROM pgmigrate.migration_jobs j, unnest(j.cleanup) x
         WHERE j.run_id = run.run_id AND j.phase_number = run.next_phase AND j.purpose = 'step'
           AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = to_regclass(x) AND NOT i.indisvalid)
           AND NOT EXISTS (SELECT 1 FROM pgmigrate.migration_jobs c WHERE c.run_id = run.run_id
                              AND c.phase_number = run.next_phase AND c.purpose = 'cleanup'
                              AND c.created_at >= coalesce(run.resumed_at, run.started_at)
                              AND c.sql = 'DROP INDEX CONCURRENTLY IF EXISTS ' || x)
         LIMIT 1;
        IF leftover IS NOT NULL THEN
            RETURN pgmigrate._launch(m, run, run.next_phase, step, 'cleanup', 1, 'DROP INDEX CONCURRENTLY IF EXISTS ' || leftover);
        END IF;
        IF step ? 'condition' THEN
            ok := pgmigrate._query_as(m.stored_by, m.stored_search_path,
                      'SELECT ' || pgmigrate._subquery(step->>'condition') || '::boolean::text');
            IF NOT coalesce(ok::boolean, false) THEN
                PERFORM pgmigrate._record_steps(m, run.run_id, jsonb_build_array(jsonb_build_object('stepName', step->>'name',
                    'stepNumber', step->'stepNumber', 'phase', step->>'phase', 'phaseNumber', run.next_phase, 'status', 'SKIPPED',
                    'startedAt', clock_timestamp(), 'durationMs', 0, 'rows', 0)));
                UPDATE pgmigrate.migration_runs SET next_phase = next_phase + 1 WHERE run_id = run.run_id;
                RETURN jsonb_build_object('action', 'continue', 'runId', run.run_id);
            END IF;
        END IF;
        RETURN pgmigrate._launch(m, run, run.next_phase, step, 'step', 1, step->>'script');
    END IF;
    IF sj.status = 'COMPLETED' THEN
        PERFORM pgmigrate._record_steps(m, run.run_id, jsonb_build_array(jsonb_build_object('stepName', step->>'name',
            'stepNumber', step->'stepNumber', 'phase', step->>'phase', 'phaseNumber', run.next_phase, 'status', 'COMPLETED',
            'startedAt', sj.started_at, 'durationMs', round(extract(epoch FROM sj.finished_at - sj.started_at)::numeric * 1000, 3),
            'rows', 0, 'attempts', sj.attempt)));
        UPDATE pgmigrate.migration_runs SET next_phase = next_phase + 1 WHERE run_id = run.run_id;
        RETURN jsonb_build_object('action', 'continue', 'runId', run.run_id);
    END IF;
    -- The attempt failed. First drop what a failed CREATE INDEX CONCURRENTLY left (INVALID indexes).
    SELECT count(*) INTO n_cleanup FROM pgmigrate.migration_jobs j
     WHERE j.run_id = run.run_id AND j.phase_number = run.next_phase AND j.purpose = 'cleanup' AND j.job_id > sj.job_id;
    IF n_cleanup < coalesce(cardinality(sj.cleanup), 0) THEN
        RETURN pgmigrate._launch(m, run, run.next_phase, step, 'cleanup', sj.attempt,
            'DROP INDEX CONCURRENTLY IF EXISTS ' || sj.cleanup[n_cleanup + 1]);
    END IF;
    IF sj.sqlstate = '55P03' AND lp[1] > 0 AND sj.attempt < lp[2] THEN
        IF sj.retry_at IS NULL THEN
            UPDATE pgmigrate.migration_jobs SET retry_at = clock_timestamp() + make_interval(secs => pgmigrate._lock_backoff_ms(sj.attempt) / 1000.0)
             WHERE job_id = sj.job_id RETURNING * INTO sj;
        END IF;
        IF clock_timestamp() < sj.retry_at THEN
            RETURN jsonb_build_object('action', 'sleep', 'runId', run.run_id,
                'ms', ceil(extract(epoch FROM sj.retry_at - clock_timestamp()) * 1000));
        END IF;
        RETURN pgmigrate._launch(m, run, run.next_phase, step, 'step', sj.attempt + 1, step->>'script');
    END IF;
    failed := jsonb_build_object('stepName', step->>'name', 'stepNumber', step->'stepNumber', 'phase', step->>'phase',
        'phaseNumber', run.next_phase, 'status', 'FAILED', 'startedAt', coalesce(sj.started_at, sj.created_at),
        'durationMs', round(extract(epoch FROM coalesce(sj.finished_at, clock_timestamp()) - coalesce(sj.started_at, sj.created_at))::numeric * 1000, 3),
        'rows', 0, 'attempts', sj.attempt, 'sqlstate', sj.sqlstate,
        'error', CASE WHEN sj.sqlstate = '55P03' AND lp[1] > 0 THEN pgmigrate._lock_failure(step, sj.attempt, lp[1], sj.error) ELSE sj.error END)
        || CASE WHEN sj.cleanup IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('droppedInvalidIndexes', to_jsonb(sj.cleanup)) END
        -- (The DETAIL, which can show the author's data, only for a session whose login role
        -- is or is in the author's: the worker's launcher may have been another; deleted once
        -- read.)
        || jsonb_strip_nulls(jsonb_build_object(
               'detail', CASE WHEN pg_has_role(session_user, m.stored_by, 'MEMBER')
                              THEN (SELECT nullif(d.detail, '') FROM pgmigrate.migration_job_details d WHERE d.job_id = sj.job_id) END,
               'hint', nullif(sj.hint, '')));
    DELETE FROM pgmigrate.migration_job_details d WHERE d.job_id = sj.job_id;
    PERFORM pgmigrate._record_steps(m, run.run_id, jsonb_build_array(failed));
    RETURN pgmigrate._fail_run(m, run, failed || jsonb_build_object('phase', run.next_phase), caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._run_phase_work(pgmigrate.knowledge_migrations, pgmigrate.migration_runs, jsonb, regrole) FROM PUBLIC;
