CREATE OR REPLACE FUNCTION pgmigrate._query_as(author oid, search_path text, sql text) RETURNS text VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', '_query_as_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._query_as(oid, text, text) FROM PUBLIC;
