CREATE OR REPLACE FUNCTION pgmigrate.temporal_entities_usage() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'temporal_entities_usage_wrapper';

CREATE OR REPLACE TRIGGER temporal_entities_usage AFTER INSERT OR UPDATE ON pgmigrate.temporal_entities
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.temporal_entities_usage();

REVOKE EXECUTE ON FUNCTION pgmigrate.temporal_entities_usage() FROM PUBLIC;
