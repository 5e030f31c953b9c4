CREATE OR REPLACE FUNCTION pgmigrate.forbid_published_edit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'schema version % is published and cannot be edited', OLD.version_number
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Publish the change as a new schema version instead.';
END $$;

CREATE OR REPLACE TRIGGER schema_versions_immutable
    BEFORE UPDATE ON pgmigrate.schema_versions FOR EACH ROW
    WHEN (OLD.schema_definition IS DISTINCT FROM NEW.schema_definition
          OR OLD.version_number IS DISTINCT FROM NEW.version_number)
    EXECUTE FUNCTION pgmigrate.forbid_published_edit();
