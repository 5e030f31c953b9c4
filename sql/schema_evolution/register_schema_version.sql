CREATE OR REPLACE FUNCTION pgmigrate._register_schema_version(
    version_number text, schema_definition jsonb, description text, activate boolean, force boolean,
    caller regrole, caller_path text
) RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active pgmigrate.schema_versions;
    history jsonb;
    v record;
    res jsonb;
    backward text[] := '{}';
    forward text[] := '{}';
    new_id uuid;
BEGIN
    IF version_number IS NULL OR btrim(version_number) = '' THEN
        RAISE EXCEPTION 'version_number must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF schema_definition IS NULL OR jsonb_typeof(schema_definition) <> 'object' THEN
        RAISE EXCEPTION 'schema_definition must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Shape check: raises 22023 naming the JSON path.
    PERFORM pgmigrate.check_schema_compatibility(schema_definition, schema_definition, 'NONE');
    LOCK TABLE pgmigrate.schema_versions IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM pgmigrate.schema_versions s WHERE s.version_number = _register_schema_version.version_number) THEN
        RAISE EXCEPTION 'schema version "%" already exists', version_number
            USING ERRCODE = 'duplicate_object', HINT = 'Published versions are immutable; register a new version number.';
    END IF;
    SELECT * INTO active FROM pgmigrate.schema_versions WHERE is_active;
    history := pgmigrate.schema_history();
    FOR v IN SELECT s.version_number, s.schema_definition FROM pgmigrate.schema_versions s ORDER BY created_at LOOP
        res := pgmigrate.check_schema_compatibility(v.schema_definition, schema_definition, 'NONE', history);
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(res->'changes') c WHERE NOT (c->>'backward')::boolean) THEN
            backward := backward || v.version_number;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(res->'changes') c WHERE NOT (c->>'forward')::boolean) THEN
            forward := forward || v.version_number;
        END IF;
    END LOOP;
    INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, description, created_by,
                                           breaking_changes, backward_compatible_with, forward_compatible_with)
    VALUES (version_number, schema_definition, description, caller::text,
            CASE WHEN active.version_id IS NULL THEN '[]'
                 ELSE pgmigrate.detect_breaking_changes(active.schema_definition, schema_definition) END,
            backward, forward)
    RETURNING version_id INTO new_id;
    PERFORM pgmigrate._audit('schema_version.registered', jsonb_build_object(
        'version', version_number, 'version_id', new_id, 'backward_compatible_with', backward,
        'forward_compatible_with', forward), caller);
    IF activate THEN
        PERFORM pgmigrate._activate_schema_version(version_number, force, caller, caller_path);
    END IF;
    RETURN new_id;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._register_schema_version(text, jsonb, text, boolean, boolean, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.register_schema_version(
    version_number text, schema_definition jsonb, description text DEFAULT NULL,
    activate boolean DEFAULT false, force boolean DEFAULT false
) RETURNS uuid LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.register_schema_version(text, jsonb, text, boolean, boolean) FROM PUBLIC;
