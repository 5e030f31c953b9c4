CREATE OR REPLACE FUNCTION pgmigrate.grant_migration_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.register_migration(jsonb), pgmigrate.register_migrations(jsonb),
        pgmigrate.execute_migration(text, jsonb), pgmigrate.execute_pending_migrations(jsonb),
        pgmigrate.rollback_migration(text, jsonb), pgmigrate.adopt_migration(text),
        pgmigrate.register_migration_batch(jsonb), pgmigrate.run_migration_phase(text, jsonb) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.run_migration(text, jsonb) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.knowledge_migrations, pgmigrate.migration_execution_state,
        pgmigrate.migration_runs, pgmigrate.migration_jobs, pgmigrate.temporal_entities, pgmigrate.audit_log TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_migration_admin'),
                             current_user::regrole);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.grant_migration_admin(regrole) FROM PUBLIC;
