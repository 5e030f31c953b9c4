-- Raised from inside a compiled pipeline (fast path, general path and preview alike) when a
-- document lacks the shape a rule needs: a rule writing a field under a value that is not
-- an object ("cannot write field "a.b": "a" is a string, not an object"), a CUSTOM function
-- returning something that is not an object. An error of that document: SKIP records it.
-- (EXECUTE stays granted to PUBLIC: compiled SQL runs as the pipeline's author.)

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_shape_error(what text, val jsonb) RETURNS jsonb
STABLE LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% %, not an object', what,
        CASE jsonb_typeof(val) WHEN 'null' THEN 'null' WHEN 'array' THEN 'an array' WHEN 'object' THEN 'an object'
             ELSE 'a ' || coalesce(jsonb_typeof(val), 'missing value') END
        USING ERRCODE = 'sql_json_object_not_found';
END $$;
