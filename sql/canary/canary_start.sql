-- SELECT pgmigrate.canary_start(name, options): a canary on the blue-green deployment in
-- progress, which must keep both colors in sync (prepared: state ready, or rolled back
-- after a switch) with its source color live. Keys whose bucket is at most the percentage
-- are served by the target color; the rest by the live one.
CREATE OR REPLACE FUNCTION pgmigrate._canary_start(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    c pgmigrate.canaries;
BEGIN
    -- Lock the deployment: no switch, rollback or abort while the canary starts.
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no blue-green deployment is in progress' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'A canary routes keys to the new color of a deployment: CALL pgmigrate.blue_green_prepare(migration) first.';
    END IF;
    IF d.state NOT IN ('ready', 'rolled_back') OR d.live_schema <> d.source_schema
       OR NOT coalesce((d.handover->>'fks_validated')::boolean, false) THEN
        RAISE EXCEPTION 'deployment % is %: its colors are not both in sync with the source live', d.deployment_id, d.state
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = CASE WHEN d.state = 'switched' THEN 'The target color is live already; SELECT pgmigrate.blue_green_rollback() to canary it again.'
                              ELSE 'CALL pgmigrate.blue_green_prepare(migration) until it reports ready.' END;
    END IF;
    c := pgmigrate._canary_create(name, d, options, caller, caller_path);
    RETURN jsonb_build_object('canary', c.name, 'deployment', d.deployment_id, 'migration', d.migration_name, 'baseline', c.baseline_schema,
        'canary_schema', c.canary_schema, 'salt', c.salt, 'percentage', c.percentage, 'steps', to_jsonb(c.steps), 'state', c.state);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_start(text, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_start(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_start(text, jsonb) FROM PUBLIC;
