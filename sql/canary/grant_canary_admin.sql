-- Canary admins start and drive canaries (and may route and report, like clients).
-- Promotion is the blue-green switch: a canary admin can switch the deployment its
-- canary runs on (after the deployment's validation passes), nothing else of it.
CREATE OR REPLACE FUNCTION pgmigrate.grant_canary_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.canary_start(text, jsonb), pgmigrate.canary_evaluate(text), pgmigrate.canary_step(text),
        pgmigrate.canary_pause(text), pgmigrate.canary_resume(text), pgmigrate.canary_set_percentage(text, integer),
        pgmigrate.canary_promote(text), pgmigrate.canary_rollback(text), pgmigrate.canary_route(text, text),
        pgmigrate.canary_use(text, text), pgmigrate.canary_report(text, text, boolean, double precision) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.canary_run(text) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.canaries, pgmigrate.canary_history, pgmigrate.canary_metrics,
        pgmigrate.canary_evaluations, pgmigrate.canary_evaluation_metrics, pgmigrate.canary_custom_metrics,
        pgmigrate.migration_execution_state, pgmigrate.audit_log TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_canary_admin'),
                             current_user::regrole);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.grant_canary_admin(regrole) FROM PUBLIC;
