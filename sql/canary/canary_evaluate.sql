-- Judge a canary's current window without acting on it: the evaluation is recorded
-- (applied = false) and returned with what a tick would do.
CREATE OR REPLACE FUNCTION pgmigrate._canary_evaluate(name text, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    c pgmigrate.canaries;
BEGIN
    SELECT * INTO c FROM pgmigrate.canaries WHERE canaries.name = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'canary "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN pgmigrate._canary_tick(c, false, caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_evaluate(text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_evaluate(name text) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_evaluate(text) FROM PUBLIC;
