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
