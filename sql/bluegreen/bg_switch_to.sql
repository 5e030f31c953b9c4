-- Makes `color` the live schema, in one short transaction: lock the deployed tables of
-- both colors (ACCESS SHARE: only DDL conflicts) with a short lock_timeout retried with
-- backoff, check that sync is in place both ways, flip current_schema_name, notify
-- 'schema_switched', audit. Returns {from, to, deployment, migration, attempts,
-- lockWaitMs, lockHeldMs}.
CREATE OR REPLACE FUNCTION pgmigrate._bg_switch_to(d pgmigrate.blue_green_deployments, color text, new_state text, options jsonb,
                                                   action text, caller regrole) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lk jsonb;
    held timestamptz;
    res jsonb;
    missing text;
BEGIN
    lk := pgmigrate._bg_lock(ARRAY(SELECT (t->>'src')::regclass FROM jsonb_array_elements(d.tables) t)
                             || ARRAY(SELECT (t->>'tgt')::regclass FROM jsonb_array_elements(d.tables) t)
                             || 'pgmigrate.active_schema_version'::regclass,
                             'ACCESS SHARE', pgmigrate._bg_int_option(options, 'lock_timeout_ms', 200, 1, 600000),
                             pgmigrate._bg_int_option(options, 'lock_attempts', 10, 1, 1000));
    held := clock_timestamp();
    SELECT string_agg(r::text, ', ') INTO missing
      FROM (SELECT (t->>'src')::regclass AS r FROM jsonb_array_elements(d.tables) t
            UNION ALL SELECT (t->>'tgt')::regclass FROM jsonb_array_elements(d.tables) t) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = x.r AND g.tgname = 'pgmigrate_bg_sync_' || d.deployment_id
                         AND g.tgenabled = 'O');
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'sync is not in place on %', missing USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Its sync trigger was dropped or disabled; abort the deployment (roll back first if switched).';
    END IF;
    UPDATE pgmigrate.active_schema_version SET current_schema_name = color, switched_at = now() WHERE id = 1;
    UPDATE pgmigrate.blue_green_deployments SET state = new_state, live_schema = color, switched_at = now()
     WHERE deployment_id = d.deployment_id;
    res := jsonb_build_object('from', d.live_schema, 'to', color, 'deployment', d.deployment_id, 'migration', d.migration_name);
    PERFORM pg_notify('schema_switched', (res || jsonb_build_object('action', action))::text);
    res := res || lk || jsonb_build_object('lockHeldMs', round(extract(epoch FROM clock_timestamp() - held)::numeric * 1000, 3));
    PERFORM pgmigrate._audit('blue_green.' || action, res, caller);
    RETURN res;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_switch_to(pgmigrate.blue_green_deployments, text, text, jsonb, text, regrole) FROM PUBLIC;
