CREATE OR REPLACE FUNCTION pgmigrate.schema_versions_changed() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'schema_versions_changed_wrapper';

CREATE OR REPLACE TRIGGER schema_versions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmigrate.schema_versions
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.schema_versions_changed();

REVOKE EXECUTE ON FUNCTION pgmigrate.schema_versions_changed() FROM PUBLIC;
