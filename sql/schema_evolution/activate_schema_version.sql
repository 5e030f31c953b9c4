-- The schema registry's entry points, 0.4.0: they record the caller, run as the owner
-- (no other role writes schema_versions), and pin search_path; the one lookup that must
-- see what the caller sees (the column-backed entity_<type> table) uses the caller's
-- search_path, and the ALTER TABLE on it runs with the caller's privileges.

CREATE OR REPLACE FUNCTION pgmigrate._activate_schema_version(version_number text, force boolean, caller regrole, caller_path text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target pgmigrate.schema_versions;
    previous pgmigrate.schema_versions;
    mode text := upper(coalesce(nullif(current_setting('pg_migrate.compatibility_mode', true), ''), 'BACKWARD'));
    history jsonb;
    v record;
    res jsonb;
    refused jsonb := '[]';
BEGIN
    -- One registry change at a time; readers are never blocked.
    LOCK TABLE pgmigrate.schema_versions IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO target FROM pgmigrate.schema_versions s WHERE s.version_number = _activate_schema_version.version_number;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'schema version "%" does not exist', version_number
            USING ERRCODE = 'undefined_object', HINT = 'Register it with pgmigrate.register_schema_version first.';
    END IF;
    IF target.is_active THEN
        RAISE NOTICE 'schema version "%" is already active', version_number;
        RETURN;
    END IF;
    SELECT * INTO previous FROM pgmigrate.schema_versions WHERE is_active;
    IF previous.version_id IS NOT NULL AND mode <> 'NONE' THEN
        history := pgmigrate.schema_history();
        FOR v IN SELECT s.version_number, s.schema_definition FROM pgmigrate.schema_versions s
                  WHERE s.version_id <> target.version_id
                    AND (mode LIKE '%\_TRANSITIVE' OR s.is_active) LOOP
            res := pgmigrate.check_schema_compatibility(v.schema_definition, target.schema_definition, mode, history);
            SELECT refused || coalesce(jsonb_agg(c || jsonb_build_object('against', v.version_number)), '[]')
              INTO refused FROM jsonb_array_elements(res->'changes') AS c WHERE NOT (c->>'allowed')::boolean;
        END LOOP;
        IF jsonb_array_length(refused) > 0 AND NOT force THEN
            RAISE EXCEPTION 'schema version "%" breaks % compatibility', version_number, mode
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = refused::text,
                      HINT = 'Fix the schema, pass force => true, or change pg_migrate.compatibility_mode.';
        END IF;
    END IF;
    UPDATE pgmigrate.schema_versions SET is_active = false WHERE is_active;
    UPDATE pgmigrate.schema_versions SET is_active = true WHERE version_id = target.version_id;
    PERFORM pgmigrate._audit('schema_version.activated', jsonb_build_object(
        'version', version_number, 'previous', previous.version_number, 'mode', mode,
        'forced', force AND jsonb_array_length(refused) > 0, 'refused_changes', refused), caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._activate_schema_version(text, boolean, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.activate_schema_version(version_number text, force boolean DEFAULT false)
RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.activate_schema_version(text, boolean) FROM PUBLIC;
