-- Native pieces (src/engine/): run stored SQL as its author, the step timer.

CREATE OR REPLACE FUNCTION pgmigrate._exec_as(author oid, search_path text, sql text) RETURNS bigint VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', '_exec_as_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._exec_as(oid, text, text) FROM PUBLIC;
