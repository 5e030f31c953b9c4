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
