CREATE OR REPLACE FUNCTION pgmigrate.active_schema_version_keep() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the active_schema_version row cannot be removed'
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Update current_schema_name instead.';
END $$;

CREATE OR REPLACE TRIGGER active_schema_version_keep
    BEFORE DELETE ON pgmigrate.active_schema_version FOR EACH ROW
    EXECUTE FUNCTION pgmigrate.active_schema_version_keep();

CREATE OR REPLACE TRIGGER active_schema_version_keep_truncate
    BEFORE TRUNCATE ON pgmigrate.active_schema_version FOR EACH STATEMENT
    EXECUTE FUNCTION pgmigrate.active_schema_version_keep();
