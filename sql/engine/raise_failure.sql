-- Raise a failed step's error as the step raised it: its SQLSTATE, and its DETAIL and HINT
-- when it had them (RAISE refuses a NULL option, and prints an empty one).

CREATE OR REPLACE FUNCTION pgmigrate._raise_failure(message text, failure jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    state text := coalesce(failure->>'sqlstate', 'P0001');
    detail text := nullif(failure->>'detail', '');
    hint text := nullif(failure->>'hint', '');
BEGIN
    IF detail IS NOT NULL AND hint IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = message, ERRCODE = state, DETAIL = detail, HINT = hint;
    ELSIF detail IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = message, ERRCODE = state, DETAIL = detail;
    ELSIF hint IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = message, ERRCODE = state, HINT = hint;
    END IF;
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = state;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._raise_failure(text, jsonb) FROM PUBLIC;
