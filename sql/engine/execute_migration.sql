CREATE OR REPLACE FUNCTION pgmigrate._execute_migration(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    run_id uuid := gen_random_uuid();
    started timestamptz := clock_timestamp();
    missing text[];
    report jsonb;
    run record;
    result jsonb;
    failed_step jsonb;
BEGIN
    options := pgmigrate._run_options(options, ARRAY['force', 'continueOnError', 'raise', 'lockTimeout', 'lockRetries']);
    -- The pre-flight report reads the entity store: before taking the migration's lock.
    IF NOT coalesce((options->>'force')::boolean, false)
       AND EXISTS (SELECT 1 FROM pgmigrate.knowledge_migrations k WHERE k.migration_name = name) THEN
        report := pgmigrate.validate_migration_safety(name);
    END IF;
    m := pgmigrate._lock_migration(name);
    IF m.status NOT IN ('PENDING', 'FAILED', 'ROLLED_BACK') THEN
        RAISE EXCEPTION 'migration "%" is %', name, m.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only PENDING, FAILED or ROLLED_BACK migrations run.';
    END IF;
    PERFORM pgmigrate._refuse_phased_steps(m, ARRAY['forward', 'validation'], 'execute_migration');
    -- Dependencies stay COMPLETED until this run commits: a concurrent rollback of one
    -- waits for us (or we for it, and then see it rolled back).
    PERFORM 1 FROM pgmigrate.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on)
      ORDER BY d.migration_id FOR SHARE;
    SELECT array_agg(coalesce(d.migration_name, dep::text) ORDER BY 1) INTO missing
      FROM unnest(m.depends_on) dep LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep
     WHERE d.status IS DISTINCT FROM 'COMPLETED';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'migration "%" depends on migrations that are not COMPLETED: %', name, array_to_string(missing, ', ')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF report IS NOT NULL AND NOT (report->>'overallSafety')::boolean THEN
        RAISE EXCEPTION 'migration "%" failed its safety checks', name
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = (report->'criticalIssues')::text,
                  HINT = 'See pgmigrate.validate_migration_safety(name); options {"force": true} runs it anyway.';
    END IF;
    UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING', started_at = started, completed_at = NULL,
           executed_by = caller::text WHERE migration_id = m.migration_id;
    run := pgmigrate._run_phases(m, ARRAY['forward', 'validation'], coalesce((options->>'continueOnError')::boolean, false),
                                 options);
    SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' LIMIT 1;
    IF run.aborted THEN
        SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' ORDER BY (r->>'stepNumber')::int DESC LIMIT 1;
    END IF;
    result := jsonb_build_object('executionId', run_id, 'migration', name, 'success', NOT run.aborted,
        'result', run.results, 'affectedRows', run.affected,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
    PERFORM pgmigrate._record_run(m, run_id, run.results,
        CASE WHEN run.aborted THEN 'FAILED' ELSE 'COMPLETED' END,
        CASE WHEN run.aborted THEN 'FAILED' ELSE 'COMPLETED' END,
        jsonb_strip_nulls(jsonb_build_object('failedStep', failed_step->>'stepName', 'error', failed_step->>'error',
            'affectedRows', run.affected, 'durationMs', result->'durationMs')), caller);
    IF run.aborted AND coalesce((options->>'raise')::boolean, false) THEN
        PERFORM pgmigrate._raise_failure(format('migration "%s" failed at step "%s": %s', name, failed_step->>'stepName', failed_step->>'error'), failed_step);
    END IF;
    RETURN result;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._execute_migration(text, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.execute_migration(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.execute_migration(text, jsonb) FROM PUBLIC;
