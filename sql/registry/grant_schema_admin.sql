-- What a DBA runs to let a role evolve schemas: EXECUTE on the entry points, read access
-- to the registry, and the entity store's data. No write access to the registry itself.

CREATE OR REPLACE FUNCTION pgmigrate.grant_schema_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.activate_schema_version(text, boolean),
        pgmigrate.register_schema_version(text, jsonb, text, boolean, boolean),
        pgmigrate.add_field_backward_compatible(text, text, jsonb, jsonb), pgmigrate.deprecate_field(text, text, text, text),
        pgmigrate.backfill_field_batch(text, text, bigint, integer, bigint) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.backfill_field(text, text, integer) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.schema_versions, pgmigrate.knowledge_migrations, pgmigrate.audit_log TO %s', grantee);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgmigrate.temporal_entities TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_schema_admin'),
                             current_user::regrole);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.grant_schema_admin(regrole) FROM PUBLIC;
