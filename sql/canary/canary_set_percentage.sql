-- Set a running or paused canary's percentage by hand (0..100; raising it never moves a
-- key back). The next passing tick goes to the next step above it.
CREATE OR REPLACE FUNCTION pgmigrate._canary_set_percentage(name text, percentage integer, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    c pgmigrate.canaries;
BEGIN
    IF percentage IS NULL OR percentage NOT BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'canary percentage % is not in 0..100', coalesce(percentage::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    c := pgmigrate._canary_lock(name, true);
    IF c.state NOT IN ('RUNNING', 'PAUSED') THEN
        RAISE EXCEPTION 'canary "%" is %: its percentage no longer changes', name, c.state USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    c := pgmigrate._canary_apply(c, c.state, percentage, true, NULL, 'percentage_set', 'set by ' || caller::text, caller);
    RETURN jsonb_build_object('canary', name, 'state', c.state, 'percentage', c.percentage);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_set_percentage(text, integer, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_set_percentage(name text, percentage integer) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_set_percentage(text, integer) FROM PUBLIC;
