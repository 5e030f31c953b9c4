-- Options of the blue-green entry points: a JSON object whose keys are all known
-- (22023 naming the unknown option otherwise).
CREATE OR REPLACE FUNCTION pgmigrate._bg_options(options jsonb, allowed text[], what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
BEGIN
    IF options IS NULL OR jsonb_typeof(options) = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION '% options must be a JSON object, not %', what, options USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown % option "%"', what, k USING ERRCODE = 'invalid_parameter_value',
                HINT = format('Known options: %s.', array_to_string(allowed, ', '));
        END IF;
    END LOOP;
    RETURN options;
END $$;
