CREATE OR REPLACE FUNCTION pgmigrate.temporal_entities_evolve() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'temporal_entities_evolve_wrapper';

CREATE OR REPLACE TRIGGER temporal_entities_evolve BEFORE INSERT OR UPDATE ON pgmigrate.temporal_entities
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.temporal_entities_evolve();

REVOKE EXECUTE ON FUNCTION pgmigrate.temporal_entities_evolve() FROM PUBLIC;
