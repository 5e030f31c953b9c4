CREATE OR REPLACE FUNCTION pgmigrate.step_timeout_fired() RETURNS boolean VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', 'step_timeout_fired_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate.step_timeout_fired() FROM PUBLIC;
