-- Native pieces (src/engine/job_worker.rs).

CREATE OR REPLACE FUNCTION pgmigrate._autocommit_kind(sql text) RETURNS integer IMMUTABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', '_autocommit_kind_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._autocommit_kind(text) FROM PUBLIC;
