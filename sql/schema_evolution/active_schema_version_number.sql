CREATE OR REPLACE FUNCTION pgmigrate.active_schema_version_number() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT version_number FROM pgmigrate.schema_versions WHERE is_active
$$;
