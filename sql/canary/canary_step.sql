-- One tick: evaluate, then step up, promote at the last step, hold, roll back, pause or
-- time out. Two ticks at once never step twice: the second finds the row locked and
-- returns {"action": "skipped"} at once (SKIP LOCKED), without waiting.
CREATE OR REPLACE FUNCTION pgmigrate._canary_step(name text, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c pgmigrate.canaries;
BEGIN
    c := pgmigrate._canary_lock(name, false);
    IF c.canary_id IS NULL THEN
        RETURN jsonb_build_object('canary', name, 'action', 'skipped', 'reason', 'another tick is running');
    END IF;
    IF c.state <> 'RUNNING' THEN
        RETURN jsonb_build_object('canary', name, 'state', c.state, 'percentage', c.percentage, 'action', 'none',
                                  'reason', 'the canary is ' || c.state);
    END IF;
    RETURN pgmigrate._canary_tick(c, true, caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_step(text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_step(name text) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_step(text) FROM PUBLIC;
