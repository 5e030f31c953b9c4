CREATE OR REPLACE FUNCTION pgmigrate._run_log(m pgmigrate.knowledge_migrations, run_id uuid, event text, extra jsonb, caller regrole)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    UPDATE pgmigrate.knowledge_migrations
       SET execution_log = execution_log || jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', event,
               'by', caller::text, 'executionId', run_id) || extra)
     WHERE migration_id = m.migration_id;
    PERFORM pgmigrate._audit('migration.' || lower(event), jsonb_build_object('migration', m.migration_name, 'executionId', run_id) || extra, caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._run_log(pgmigrate.knowledge_migrations, uuid, text, jsonb, regrole) FROM PUBLIC;
