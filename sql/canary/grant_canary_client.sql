-- Clients (applications) route keys and report outcomes.
CREATE OR REPLACE FUNCTION pgmigrate.grant_canary_client(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.canary_route(text, text), pgmigrate.canary_use(text, text),
        pgmigrate.canary_report(text, text, boolean, double precision) TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_canary_client'),
                             current_user::regrole);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.grant_canary_client(regrole) FROM PUBLIC;
