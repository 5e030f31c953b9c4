-- SELECT pgmigrate.blue_green_finish(options): ends a switched deployment: removes sync
-- and log, drops the old color's tables (unless {"keep_old": true}), marks the migration
-- COMPLETED. Options: keep_old, lock_timeout_ms, lock_attempts. Repeating it changes nothing.
CREATE OR REPLACE FUNCTION pgmigrate._blue_green_finish(options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    lk jsonb;
    keep boolean;
BEGIN
    options := pgmigrate._bg_options(options, ARRAY['keep_old', 'lock_timeout_ms', 'lock_attempts'], 'blue_green_finish');
    keep := pgmigrate._bg_bool_option(options, 'keep_old', false);
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('noop', true);
    END IF;
    IF d.state <> 'switched' THEN
        RAISE EXCEPTION 'deployment % is %, not switched', d.deployment_id, d.state USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Switch first (pgmigrate.blue_green_switch), or abort it (pgmigrate.blue_green_abort).';
    END IF;
    lk := pgmigrate._bg_teardown(d, CASE WHEN keep THEN NULL ELSE d.source_schema END, options);
    UPDATE pgmigrate.blue_green_deployments SET state = 'finished', ended_at = now() WHERE deployment_id = d.deployment_id;
    UPDATE pgmigrate.active_schema_version SET migration_in_progress = false, migration_id = NULL WHERE id = 1;
    UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING', started_at = d.created_at, completed_at = NULL WHERE migration_id = d.migration_id;
    UPDATE pgmigrate.knowledge_migrations SET status = 'COMPLETED', completed_at = now(), executed_by = caller::text,
           execution_log = execution_log || jsonb_build_array(jsonb_build_object('blueGreenDeployment', d.deployment_id,
                               'from', d.source_schema, 'to', d.target_schema, 'completedAt', now()))
     WHERE migration_id = d.migration_id;
    PERFORM pgmigrate._audit('blue_green.finished', jsonb_build_object('deployment', d.deployment_id, 'migration', d.migration_name,
                             'live', d.target_schema, 'old_tables_kept', keep), caller);
    RETURN jsonb_build_object('deployment', d.deployment_id, 'finished', true, 'live', d.target_schema, 'old_tables_kept', keep) || lk;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._blue_green_finish(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.blue_green_finish(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_finish(jsonb) FROM PUBLIC;
