-- register_migrations registers through register_migration, the entry point: the caller
-- is the author of every migration in the batch.

CREATE OR REPLACE FUNCTION pgmigrate.register_migrations(definitions jsonb)
RETURNS TABLE (migration_name text, migration_id uuid)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    graph jsonb;
    name text;
BEGIN
    IF definitions IS NULL OR jsonb_typeof(definitions) <> 'array' THEN
        RAISE EXCEPTION 'definitions must be a JSON array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(definitions) d WHERE jsonb_typeof(d) <> 'object') THEN
        RAISE EXCEPTION 'every definition must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT pgmigrate.migration_graph() || coalesce(jsonb_agg(jsonb_build_object('name', d->>'name',
               'priority', coalesce(d->'priority', '100'), 'depends_on', coalesce(d->'dependsOn', '[]'))), '[]')
      INTO graph FROM jsonb_array_elements(definitions) d;
    FOREACH name IN ARRAY pgmigrate.migration_order(graph) LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM jsonb_array_elements(definitions) d WHERE d->>'name' = name);
        migration_name := name;
        migration_id := pgmigrate.register_migration((SELECT d FROM jsonb_array_elements(definitions) d WHERE d->>'name' = name));
        RETURN NEXT;
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.register_migrations(jsonb) FROM PUBLIC;
