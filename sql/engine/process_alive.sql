CREATE OR REPLACE FUNCTION pgmigrate._process_alive(pid integer) RETURNS boolean VOLATILE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', '_process_alive_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._process_alive(integer) FROM PUBLIC;
