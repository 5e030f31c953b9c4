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

-- A whole-number option between lo and hi, or its default.
CREATE OR REPLACE FUNCTION pgmigrate._bg_int_option(options jsonb, name text, dflt integer, lo integer, hi integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v numeric;
BEGIN
    IF NOT options ? name OR jsonb_typeof(options->name) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(options->name) <> 'number' OR (options->>name)::numeric <> trunc((options->>name)::numeric) THEN
        RAISE EXCEPTION 'option "%" must be a whole number, not %', name, options->name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v := (options->>name)::numeric;
    IF v < lo OR v > hi THEN
        RAISE EXCEPTION 'option "%" is %, out of range', name, v USING ERRCODE = 'invalid_parameter_value',
            HINT = format('"%s" is between %s and %s.', name, lo, hi);
    END IF;
    RETURN v::integer;
END $$;

-- A boolean option, or its default.
CREATE OR REPLACE FUNCTION pgmigrate._bg_bool_option(options jsonb, name text, dflt boolean) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT options ? name OR jsonb_typeof(options->name) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(options->name) <> 'boolean' THEN
        RAISE EXCEPTION 'option "%" must be true or false, not %', name, options->name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN (options->>name)::boolean;
END $$;
