-- Apply a change to a locked canary: new state and percentage, history row, a
-- SetCanaryPercentage<N> step in migration_execution_state when the percentage moves,
-- an audit row. new_window opens a new check window (and, with a new percentage, a new step).
CREATE OR REPLACE FUNCTION pgmigrate._canary_apply(c pgmigrate.canaries, new_state text, new_percentage integer,
                                                   new_window boolean, failed_checks integer, action text, reason text,
                                                   caller regrole) RETURNS pgmigrate.canaries
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n pgmigrate.canaries;
    now_ts timestamptz := clock_timestamp();
BEGIN
    UPDATE pgmigrate.canaries SET
        state = new_state,
        percentage = new_percentage,
        failed_checks = coalesce(_canary_apply.failed_checks, canaries.failed_checks),
        window_no = canaries.window_no + CASE WHEN new_window OR new_percentage <> c.percentage THEN 1 ELSE 0 END,
        window_started_at = CASE WHEN new_window OR new_percentage <> c.percentage THEN now_ts ELSE canaries.window_started_at END,
        step_started_at = CASE WHEN new_percentage <> c.percentage THEN now_ts ELSE canaries.step_started_at END,
        paused_at = CASE WHEN new_state = 'PAUSED' AND c.state <> 'PAUSED' THEN now_ts
                         WHEN new_state <> 'PAUSED' THEN NULL ELSE canaries.paused_at END,
        reason = coalesce(_canary_apply.reason, canaries.reason)
     WHERE canary_id = c.canary_id
    RETURNING * INTO n;
    IF n.state IS DISTINCT FROM c.state OR n.percentage <> c.percentage THEN
        INSERT INTO pgmigrate.canary_history (canary_id, old_state, new_state, old_percentage, new_percentage, reason, role_name)
        VALUES (c.canary_id, c.state, n.state, c.percentage, n.percentage, reason, caller::text);
    END IF;
    IF n.percentage <> c.percentage THEN
        INSERT INTO pgmigrate.migration_execution_state (migration_id, step_number, step_name, step_status, old_value, new_value,
                                                         transformation_applied, started_at, completed_at)
        VALUES (c.migration_id,
                (SELECT count(*) FROM pgmigrate.canary_history h WHERE h.canary_id = c.canary_id),
                'SetCanaryPercentage' || n.percentage, 'COMPLETED',
                jsonb_build_object('canary_percentage', c.percentage, 'canary', c.name),
                jsonb_build_object('canary_percentage', n.percentage, 'canary', c.name),
                'canary.' || action, now_ts, now_ts);
    END IF;
    PERFORM pgmigrate._audit('canary.' || action, jsonb_build_object('canary', c.name,
        'from', jsonb_build_object('state', c.state, 'percentage', c.percentage),
        'to', jsonb_build_object('state', n.state, 'percentage', n.percentage), 'reason', reason), caller);
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_apply(pgmigrate.canaries, text, integer, boolean, integer, text, text, regrole) FROM PUBLIC;
