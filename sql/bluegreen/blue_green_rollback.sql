-- SELECT pgmigrate.blue_green_rollback(options): after a switch, the old color is live
-- again, the same way (both colors stayed in sync, so no write is lost). Repeating it
-- changes nothing. Options: lock_timeout_ms, lock_attempts.
CREATE OR REPLACE FUNCTION pgmigrate._blue_green_rollback(options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
BEGIN
    options := pgmigrate._bg_options(options, ARRAY['lock_timeout_ms', 'lock_attempts'], 'blue_green_rollback');
    PERFORM pgmigrate._bg_int_option(options, 'lock_timeout_ms', 200, 1, 600000), pgmigrate._bg_int_option(options, 'lock_attempts', 10, 1, 1000);
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no blue-green deployment is in progress' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF d.state <> 'switched' THEN
        RETURN jsonb_build_object('from', d.live_schema, 'to', d.live_schema, 'deployment', d.deployment_id, 'migration', d.migration_name,
                                  'attempts', 0, 'lockWaitMs', 0, 'lockHeldMs', 0, 'noop', true, 'state', d.state);
    END IF;
    RETURN pgmigrate._bg_switch_to(d, d.source_schema, 'rolled_back', options, 'rolled_back', caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._blue_green_rollback(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.blue_green_rollback(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_rollback(jsonb) FROM PUBLIC;
