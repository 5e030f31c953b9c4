-- A job for the background worker, launched now (it starts once this transaction commits).

CREATE OR REPLACE FUNCTION pgmigrate._launch(m pgmigrate.knowledge_migrations, run pgmigrate.migration_runs, phase_no int, step jsonb,
                                  purpose text, attempt int, sql text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    j pgmigrate.migration_jobs;
BEGIN
    INSERT INTO pgmigrate.migration_jobs (run_id, phase_number, step_name, purpose, attempt, sql, author, search_path,
                                          lock_timeout_ms, statement_timeout_ms)
    VALUES (run.run_id, phase_no, step->>'name', purpose, attempt, sql, m.stored_by, m.stored_search_path,
            (pgmigrate._lock_plan(step, run.options))[1], (step->>'timeout')::int)
    RETURNING * INTO j;
    UPDATE pgmigrate.migration_jobs SET pid = pgmigrate._launch_job(j.job_id, pg_current_xact_id()::text) WHERE job_id = j.job_id;
    RAISE NOTICE 'run_migration %: phase %: % "%"%', m.migration_name, phase_no,
        CASE purpose WHEN 'step' THEN 'running step' ELSE 'cleaning up after step' END, step->>'name',
        CASE WHEN attempt > 1 THEN format(' (attempt %s)', attempt) ELSE '' END;
    RETURN jsonb_build_object('action', 'wait', 'runId', run.run_id, 'job', j.job_id);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._launch(pgmigrate.knowledge_migrations, pgmigrate.migration_runs, integer, jsonb, text, integer, text) FROM PUBLIC;
