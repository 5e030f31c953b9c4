CREATE OR REPLACE FUNCTION pgmigrate.set_step_timeout(ms integer) RETURNS void VOLATILE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'set_step_timeout_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate.set_step_timeout(integer) FROM PUBLIC;
