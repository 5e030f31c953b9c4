-- Record one run: its steps' states, the migration's new status and log entry, an audit row.

CREATE OR REPLACE FUNCTION pgmigrate._record_run(m pgmigrate.knowledge_migrations, run_id uuid, results jsonb, new_status text,
                                      event text, extra jsonb, caller regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM pgmigrate._record_steps(m, run_id, results);
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
