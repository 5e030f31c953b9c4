-- Every registered definition, oldest first: the memory of removed fields.

CREATE OR REPLACE FUNCTION pgmigrate.schema_history() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(jsonb_agg(schema_definition ORDER BY created_at, version_number), '[]')
      FROM pgmigrate.schema_versions
$$;
