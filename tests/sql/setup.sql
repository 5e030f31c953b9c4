-- Install the extension and the test helpers every later file uses.
CREATE EXTENSION pg_migrate;
SELECT extname, extversion, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_migrate';

-- Every table the extension owns is dumped by pg_dump.
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'pg_migrate' ORDER BY 1;

\set QUIET on
\i tests/reference/reference.sql
CREATE SCHEMA pgm_test;
GRANT USAGE ON SCHEMA pgm_test TO PUBLIC;
-- Run a statement and report its SQLSTATE and message instead of aborting the script.
CREATE FUNCTION pgm_test.expect_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN query_canceled OR others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\set QUIET off
