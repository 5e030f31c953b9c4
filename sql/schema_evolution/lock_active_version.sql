-- The active version, locked for a registry change; a clear error when there is none.

CREATE OR REPLACE FUNCTION pgmigrate.lock_active_version() RETURNS pgmigrate.schema_versions
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active pgmigrate.schema_versions;
BEGIN
    LOCK TABLE pgmigrate.schema_versions IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO active FROM pgmigrate.schema_versions WHERE is_active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no active schema version'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register one first: SELECT pgmigrate.register_schema_version(''1.0.0'', ''{"entities": {}}'', activate => true);';
    END IF;
    RETURN active;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.lock_active_version() FROM PUBLIC;
