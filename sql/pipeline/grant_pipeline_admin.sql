CREATE OR REPLACE FUNCTION pgmigrate.grant_pipeline_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.register_pipeline(jsonb), pgmigrate.pipeline_start(text, jsonb),
        pgmigrate.pipeline_batch(uuid), pgmigrate.pipeline_stop(uuid, text, text, text), pgmigrate.pipeline_workers(uuid, integer, integer[]), pgmigrate.rollback_pipeline(uuid, boolean), pgmigrate.pipeline_rollback_step(uuid, boolean),
        pgmigrate.pipeline_preview_json(text, integer, jsonb), pgmigrate.pipeline_preview(text, integer, jsonb) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.run_pipeline(text, jsonb), pgmigrate.rollback_pipeline_batched(uuid, boolean) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.pipelines, pgmigrate.pipeline_runs, pgmigrate.pipeline_batches,
        pgmigrate.pipeline_errors, pgmigrate.pipeline_changes, pgmigrate.pipeline_steps, pgmigrate.temporal_entities, pgmigrate.audit_log TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_pipeline_admin'),
                             current_user::regrole);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.grant_pipeline_admin(regrole) FROM PUBLIC;
