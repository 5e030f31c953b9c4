CREATE OR REPLACE FUNCTION pgmigrate.check_compatibility(new_schema jsonb, mode text DEFAULT 'BACKWARD_TRANSITIVE')
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    history jsonb := pgmigrate.schema_history();
    v record;
    res jsonb;
    ok boolean := true;
    checked text[] := '{}';
    changes jsonb := '[]';
BEGIN
    IF new_schema IS NULL THEN
        RAISE EXCEPTION 'new_schema must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass a schema such as {"entities": {}}.';
    END IF;
    -- Validates the mode and the schema's shape before anything else.
    PERFORM pgmigrate.check_schema_compatibility(new_schema, new_schema, mode);
    FOR v IN SELECT version_number, schema_definition FROM pgmigrate.schema_versions
              ORDER BY created_at DESC, version_number DESC LOOP
        res := pgmigrate.check_schema_compatibility(v.schema_definition, new_schema, mode, history);
        ok := ok AND (res->>'compatible')::boolean;
        checked := checked || v.version_number;
        SELECT changes || coalesce(jsonb_agg(c || jsonb_build_object('against', v.version_number)), '[]')
          INTO changes FROM jsonb_array_elements(res->'changes') AS c;
        EXIT WHEN upper(btrim(mode)) NOT LIKE '%\_TRANSITIVE';
    END LOOP;
    RETURN jsonb_build_object('compatible', ok, 'mode', upper(btrim(mode)),
                              'checked_against', to_jsonb(checked), 'changes', changes);
END $$;
