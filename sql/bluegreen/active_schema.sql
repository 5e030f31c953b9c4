-- pgmigrate.active_schema(): the live schema (the color applications should use).
-- Readable by everyone: it says which schema is live, nothing more.
CREATE OR REPLACE FUNCTION pgmigrate.active_schema() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT current_schema_name FROM pgmigrate.active_schema_version WHERE id = 1
$$;
