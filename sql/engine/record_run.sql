-- Record one run: its steps' states, the migration's new status and log entry, an audit row.

CREATE OR REPLACE FUNCTION pgmigrate._record_run(m pgmigrate.knowledge_migrations, run_id uuid, results jsonb, new_status text,
                                      event text, extra jsonb, caller regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    INSERT INTO pgmigrate.migration_execution_state (migration_id, run_id, phase, step_number, step_name, step_status,
        started_at, completed_at, error_message, rows_affected, duration_ms)
    SELECT m.migration_id, run_id, r->>'phase', (r->>'stepNumber')::int, r->>'stepName', r->>'status',
           (r->>'startedAt')::timestamptz, (r->>'startedAt')::timestamptz + make_interval(secs => (r->>'durationMs')::numeric / 1000),
           r->>'error', (r->>'rows')::bigint, (r->>'durationMs')::numeric
      FROM jsonb_array_elements(results) r;
    UPDATE pgmigrate.knowledge_migrations
       SET status = new_status,
           completed_at = CASE WHEN new_status IN ('COMPLETED', 'ROLLED_BACK') THEN clock_timestamp() ELSE completed_at END,
           execution_log = execution_log || jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', event,
               'by', caller::text, 'executionId', run_id) || extra)
     WHERE migration_id = m.migration_id;
    PERFORM pgmigrate._audit('migration.' || lower(event),
        jsonb_build_object('migration', m.migration_name, 'executionId', run_id) || extra, caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._record_run(pgmigrate.knowledge_migrations, uuid, jsonb, text, text, jsonb, regrole) FROM PUBLIC;
