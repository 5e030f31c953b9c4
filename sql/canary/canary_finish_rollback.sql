-- Rollback: every key back to the baseline (percentage 0); the deployment is left as it
-- was before the canary: still in progress, both colors in sync, the source color live
-- (the canary never switches anything before promotion).
CREATE OR REPLACE FUNCTION pgmigrate._canary_finish_rollback(c pgmigrate.canaries, final_state text, reason text, caller regrole)
RETURNS pgmigrate.canaries
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN pgmigrate._canary_apply(c, final_state, 0, false, NULL, CASE final_state WHEN 'TIMED_OUT' THEN 'timed_out' ELSE 'rolled_back' END,
                                   reason, caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_finish_rollback(pgmigrate.canaries, text, text, regrole) FROM PUBLIC;
