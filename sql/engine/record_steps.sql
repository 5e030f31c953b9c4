-- Step results into migration_execution_state (attempts beyond the first as retry_count).

CREATE OR REPLACE FUNCTION pgmigrate._record_steps(m pgmigrate.knowledge_migrations, run_id uuid, results jsonb) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgmigrate.migration_execution_state (migration_id, run_id, phase, phase_number, step_number, step_name, step_status,
        started_at, completed_at, error_message, rows_affected, duration_ms, retry_count)
    SELECT m.migration_id, run_id, r->>'phase', (r->>'phaseNumber')::int, (r->>'stepNumber')::int, r->>'stepName', r->>'status',
           (r->>'startedAt')::timestamptz, (r->>'startedAt')::timestamptz + make_interval(secs => (r->>'durationMs')::numeric / 1000),
           r->>'error', (r->>'rows')::bigint, (r->>'durationMs')::numeric, greatest(coalesce((r->>'attempts')::int, 1) - 1, 0)
      FROM jsonb_array_elements(results) r;
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._record_steps(pgmigrate.knowledge_migrations, uuid, jsonb) FROM PUBLIC;
