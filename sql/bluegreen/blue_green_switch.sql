-- SELECT pgmigrate.blue_green_switch(options): the target color becomes live. Options:
-- lock_timeout_ms (200), lock_attempts (10), force (switch despite a failing or missing
-- validation). Repeating it once switched changes nothing.
CREATE OR REPLACE FUNCTION pgmigrate._blue_green_switch(options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
BEGIN
    options := pgmigrate._bg_options(options, ARRAY['lock_timeout_ms', 'lock_attempts', 'force'], 'blue_green_switch');
    PERFORM pgmigrate._bg_int_option(options, 'lock_timeout_ms', 200, 1, 600000), pgmigrate._bg_int_option(options, 'lock_attempts', 10, 1, 1000);
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no blue-green deployment is in progress' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'CALL pgmigrate.blue_green_prepare(migration) first.';
    END IF;
    IF d.state = 'switched' THEN
        RETURN jsonb_build_object('from', d.live_schema, 'to', d.live_schema, 'deployment', d.deployment_id, 'migration', d.migration_name,
                                  'attempts', 0, 'lockWaitMs', 0, 'lockHeldMs', 0, 'noop', true);
    END IF;
    IF d.state NOT IN ('ready', 'rolled_back') OR NOT coalesce((d.handover->>'fks_validated')::boolean, false) THEN
        RAISE EXCEPTION 'deployment % is %, not ready to switch', d.deployment_id, d.state USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'CALL pgmigrate.blue_green_prepare(migration) until it reports ready.';
    END IF;
    IF NOT pgmigrate._bg_bool_option(options, 'force', false) AND NOT coalesce((d.validation->>'ok')::boolean, false) THEN
        RAISE EXCEPTION 'deployment % has %', d.deployment_id,
              CASE WHEN d.validation IS NULL THEN 'not been validated' ELSE 'failed its validation' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'SELECT pgmigrate.blue_green_validate() first, or pass {"force": true}.';
    END IF;
    RETURN pgmigrate._bg_switch_to(d, d.target_schema, 'switched', options, 'switched', caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._blue_green_switch(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.blue_green_switch(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_switch(jsonb) FROM PUBLIC;
