-- Roll back by hand (from RUNNING, PAUSED or a kept TIMED_OUT): every key to the baseline,
-- the deployment left as it was.
CREATE OR REPLACE FUNCTION pgmigrate._canary_rollback(name text, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c pgmigrate.canaries := pgmigrate._canary_lock(name, true);
BEGIN
    IF c.state NOT IN ('RUNNING', 'PAUSED', 'TIMED_OUT') OR (c.state = 'TIMED_OUT' AND c.percentage = 0) THEN
        RAISE EXCEPTION 'canary "%" is % already', name, c.state USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    c := pgmigrate._canary_finish_rollback(c, 'ROLLED_BACK', 'rolled back by ' || caller::text, caller);
    RETURN jsonb_build_object('canary', name, 'state', c.state, 'percentage', c.percentage);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_rollback(text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_rollback(name text) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_rollback(text) FROM PUBLIC;
