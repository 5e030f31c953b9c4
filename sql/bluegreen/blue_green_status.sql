-- SELECT pgmigrate.blue_green_status(): the deployment in progress (or the last one): its
-- state, per table the row counts of both colors (NULL where the caller may not read the
-- table), the log backlog, copy progress.
CREATE OR REPLACE FUNCTION pgmigrate.blue_green_status() RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    tab jsonb;
    tabs jsonb := '[]';
    sn bigint;
    tn bigint;
BEGIN
    SELECT * INTO d FROM pgmigrate.blue_green_deployments ORDER BY (state NOT IN ('finished', 'aborted')) DESC, deployment_id DESC LIMIT 1;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('deployment', NULL, 'live_schema', (SELECT current_schema_name FROM pgmigrate.active_schema_version));
    END IF;
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        sn := NULL; tn := NULL;
        BEGIN
            IF to_regclass(tab->>'src') IS NOT NULL THEN EXECUTE format('SELECT count(*) FROM %s', tab->>'src') INTO sn; END IF;
            IF to_regclass(tab->>'tgt') IS NOT NULL THEN EXECUTE format('SELECT count(*) FROM %s', tab->>'tgt') INTO tn; END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
        tabs := tabs || jsonb_build_array(jsonb_build_object('table', tab->>'name', 'source_rows', sn, 'target_rows', tn,
            'copied_rows', coalesce((tab->>'rows')::bigint, 0), 'copied', coalesce((tab->>'copied')::boolean, false)));
    END LOOP;
    RETURN jsonb_build_object('deployment', d.deployment_id, 'migration', d.migration_name, 'state', d.state,
        'failed_state', d.failed_state, 'error', d.error, 'source_schema', d.source_schema, 'target_schema', d.target_schema,
        'live_schema', d.live_schema, 'rows_copied', d.rows_copied,
        'copy_rows_per_s', CASE WHEN d.copy_started IS NOT NULL AND d.rows_copied > 0
            THEN round(d.rows_copied / greatest(extract(epoch FROM d.updated_at - d.copy_started)::numeric, 0.001)) END,
        'log_backlog', (SELECT count(*) FROM pgmigrate.blue_green_log l WHERE l.deployment_id = d.deployment_id),
        'handover', d.handover, 'validation', d.validation, 'tables', tabs,
        'created_at', d.created_at, 'switched_at', d.switched_at, 'ended_at', d.ended_at);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_status() FROM PUBLIC;
