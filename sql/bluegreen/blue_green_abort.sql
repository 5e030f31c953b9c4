-- SELECT pgmigrate.blue_green_abort(options): ends a deployment that is not switched (any
-- state: a crashed or failed prepare, ready, rolled back): drops the target color's
-- tables, the triggers, the compiled functions and the log; the live schema is as
-- before. Only the audit remains. Repeating it changes nothing.
CREATE OR REPLACE FUNCTION pgmigrate._blue_green_abort(options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    lk jsonb;
BEGIN
    options := pgmigrate._bg_options(options, ARRAY['lock_timeout_ms', 'lock_attempts'], 'blue_green_abort');
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('noop', true);
    END IF;
    IF d.state = 'switched' THEN
        RAISE EXCEPTION 'deployment % is switched: % is live', d.deployment_id, d.target_schema
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'SELECT pgmigrate.blue_green_rollback() first, or pgmigrate.blue_green_finish() to keep it.';
    END IF;
    lk := pgmigrate._bg_teardown(d, d.target_schema, options);
    UPDATE pgmigrate.blue_green_deployments SET state = 'aborted', ended_at = now(), live_schema = source_schema
     WHERE deployment_id = d.deployment_id;
    UPDATE pgmigrate.active_schema_version SET current_schema_name = d.source_schema, migration_in_progress = false, migration_id = NULL
     WHERE id = 1;
    PERFORM pgmigrate._audit('blue_green.aborted', jsonb_build_object('deployment', d.deployment_id, 'migration', d.migration_name,
                             'state', d.state, 'dropped', d.target_schema), caller);
    RETURN jsonb_build_object('deployment', d.deployment_id, 'aborted', true, 'state_was', d.state) || lk;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._blue_green_abort(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.blue_green_abort(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_abort(jsonb) FROM PUBLIC;
