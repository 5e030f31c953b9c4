CREATE OR REPLACE FUNCTION pgmigrate._set_migration_status(m pgmigrate.knowledge_migrations, new_status text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    UPDATE pgmigrate.knowledge_migrations
       SET status = new_status,
           completed_at = CASE WHEN new_status IN ('COMPLETED', 'ROLLED_BACK') THEN clock_timestamp() ELSE completed_at END
     WHERE migration_id = m.migration_id AND status IS DISTINCT FROM new_status;
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._set_migration_status(pgmigrate.knowledge_migrations, text) FROM PUBLIC;
