-- Sets the transaction's search_path to the schema that serves `key` and returns it.
-- VOLATILE because it changes a setting (a STABLE function may be called fewer times
-- than written); it writes nothing, so it works on a hot standby. No SET clause (that
-- would undo the new search_path on return): everything is schema-qualified.
CREATE OR REPLACE FUNCTION pgmigrate.canary_use(name text, key text) RETURNS text
VOLATILE STRICT
LANGUAGE sql AS $$
    SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(pgmigrate.canary_route(name, key)), true);
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_use(text, text) FROM PUBLIC;
