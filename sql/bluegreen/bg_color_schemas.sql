-- The schemas an application's search_path may name for the live tables: both colors,
-- the live schema and the source schema of a deployment in progress (for
-- use_active_schema, which every role may call). Says nothing more than that.
CREATE OR REPLACE FUNCTION pgmigrate._bg_color_schemas() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY['migration_blue', 'migration_green', (SELECT current_schema_name FROM pgmigrate.active_schema_version WHERE id = 1)]
           || ARRAY(SELECT source_schema FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted'))
$$;
