-- A batch of definitions that may depend on each other, registered in dependency order.
-- The entry point (register_migration_batch) records the caller as the author of every
-- migration in the batch, and the caller's search_path as theirs.
CREATE OR REPLACE FUNCTION pgmigrate._register_migration_batch(definitions jsonb, caller regrole, caller_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    graph jsonb;
    name text;
    registered jsonb := '[]';
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
        registered := registered || jsonb_build_array(jsonb_build_object('migration_name', name,
            'migration_id', pgmigrate._register_migration(
                (SELECT d FROM jsonb_array_elements(definitions) d WHERE d->>'name' = name), caller, caller_path)));
    END LOOP;
    RETURN registered;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._register_migration_batch(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.register_migration_batch(definitions jsonb) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.register_migration_batch(jsonb) FROM PUBLIC;

-- The set-returning form. No SET clause, so the entry point sees the caller's search_path;
-- everything in it is schema-qualified.
CREATE OR REPLACE FUNCTION pgmigrate.register_migrations(definitions jsonb)
RETURNS TABLE (migration_name text, migration_id uuid)
LANGUAGE sql AS $$
    SELECT r.migration_name, r.migration_id
      FROM pg_catalog.jsonb_to_recordset(pgmigrate.register_migration_batch($1)) AS r(migration_name text, migration_id uuid)
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate.register_migrations(jsonb) FROM PUBLIC;
