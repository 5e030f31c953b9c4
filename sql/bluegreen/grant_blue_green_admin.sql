CREATE OR REPLACE FUNCTION pgmigrate.grant_blue_green_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.blue_green_prepare(text, jsonb) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.blue_green_prepare_step(text, jsonb), pgmigrate.blue_green_status(),
        pgmigrate.blue_green_validate(), pgmigrate.blue_green_switch(jsonb), pgmigrate.blue_green_rollback(jsonb),
        pgmigrate.blue_green_abort(jsonb), pgmigrate.blue_green_finish(jsonb) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.blue_green_deployments, pgmigrate.blue_green_log, pgmigrate.active_schema_version,
        pgmigrate.audit_log TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_blue_green_admin'),
                             current_user::regrole);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.grant_blue_green_admin(regrole) FROM PUBLIC;
