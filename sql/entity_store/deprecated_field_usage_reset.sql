-- Resetting a field's count (DELETE FROM the view) is for roles that may delete from the log.

CREATE OR REPLACE FUNCTION pgmigrate.deprecated_field_usage_reset() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM pgmigrate.deprecated_field_usage_log l
     WHERE l.entity_type = OLD.entity_type AND l.field_name = OLD.field_name;
    RETURN OLD;
END $$;

CREATE OR REPLACE TRIGGER deprecated_field_usage_reset INSTEAD OF DELETE ON pgmigrate.deprecated_field_usage
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.deprecated_field_usage_reset();

REVOKE EXECUTE ON FUNCTION pgmigrate.deprecated_field_usage_reset() FROM PUBLIC;
