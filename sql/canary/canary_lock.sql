-- The canary row, locked for a change. wait => false: NULL when another session holds it
-- (a tick running twice at once steps once). FOR NO KEY UPDATE: reporters are never blocked.
CREATE OR REPLACE FUNCTION pgmigrate._canary_lock(name text, wait boolean) RETURNS pgmigrate.canaries
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    c pgmigrate.canaries;
BEGIN
    IF wait THEN
        SELECT * INTO c FROM pgmigrate.canaries WHERE canaries.name = name FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO c FROM pgmigrate.canaries WHERE canaries.name = name FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND AND EXISTS (SELECT FROM pgmigrate.canaries WHERE canaries.name = name) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF c.canary_id IS NULL THEN
        RAISE EXCEPTION 'canary "%" does not exist', name USING ERRCODE = 'undefined_object',
            HINT = 'SELECT name, state FROM pgmigrate.canaries lists the canaries.';
    END IF;
    RETURN c;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_lock(text, boolean) FROM PUBLIC;
