CREATE OR REPLACE FUNCTION pgmigrate._publish_next_version(active pgmigrate.schema_versions, new_definition jsonb, description text, caller regrole)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_version text := pgmigrate.next_version_number(active.version_number);
BEGIN
    -- Deactivating first makes a REPEATABLE READ caller with a stale view of the
    -- registry fail with a serialization error (40001) instead of losing a change.
    UPDATE pgmigrate.schema_versions SET is_active = false WHERE version_id = active.version_id;
    INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, description, is_active, created_by,
                                           backward_compatible_with, breaking_changes)
    VALUES (new_version, new_definition || jsonb_build_object('version', new_version), description, true, caller::text,
            ARRAY[active.version_number],
            pgmigrate.detect_breaking_changes(active.schema_definition, new_definition));
    RETURN new_version;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._publish_next_version(pgmigrate.schema_versions, jsonb, text, regrole) FROM PUBLIC;
