-- Manual pause: the canary keeps its percentage, ticks do nothing until canary_resume.
CREATE OR REPLACE FUNCTION pgmigrate._canary_pause(name text, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c pgmigrate.canaries := pgmigrate._canary_lock(name, true);
BEGIN
    IF c.state <> 'RUNNING' THEN
        RAISE EXCEPTION 'canary "%" is %, not RUNNING', name, c.state USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    c := pgmigrate._canary_apply(c, 'PAUSED', c.percentage, false, NULL, 'paused', 'paused by ' || caller::text, caller);
    RETURN jsonb_build_object('canary', name, 'state', c.state, 'percentage', c.percentage);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_pause(text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_pause(name text) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_pause(text) FROM PUBLIC;
