CREATE OR REPLACE FUNCTION pgmigrate._launch_job(job_id bigint, xact text) RETURNS integer VOLATILE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', '_launch_job_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._launch_job(bigint, text) FROM PUBLIC;
