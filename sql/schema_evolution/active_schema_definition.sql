-- Readers of the registry.

CREATE OR REPLACE FUNCTION pgmigrate.active_schema_definition() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT schema_definition FROM pgmigrate.schema_versions WHERE is_active
$$;
