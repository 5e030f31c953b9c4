-- Resume a paused canary: a fresh check window and step clock; the time spent paused
-- does not count against maxDuration; failed checks are kept.
CREATE OR REPLACE FUNCTION pgmigrate._canary_resume(name text, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c pgmigrate.canaries := pgmigrate._canary_lock(name, true);
BEGIN
    IF c.state <> 'PAUSED' THEN
        RAISE EXCEPTION 'canary "%" is %, not PAUSED', name, c.state USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE pgmigrate.canaries SET deadline_at = deadline_at + (clock_timestamp() - paused_at), step_started_at = clock_timestamp()
     WHERE canary_id = c.canary_id RETURNING * INTO c;
    c := pgmigrate._canary_apply(c, 'RUNNING', c.percentage, true, NULL, 'resumed', 'resumed by ' || caller::text, caller);
    RETURN jsonb_build_object('canary', name, 'state', c.state, 'percentage', c.percentage);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_resume(text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_resume(name text) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_resume(text) FROM PUBLIC;
