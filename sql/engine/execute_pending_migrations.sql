CREATE OR REPLACE FUNCTION pgmigrate._execute_pending_migrations(options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    p record;
    r jsonb;
    results jsonb := '[]';
BEGIN
    options := pgmigrate._run_options(options, ARRAY['force', 'continueOnError', 'raise', 'lockTimeout', 'lockRetries']);
    FOR p IN SELECT * FROM pgmigrate.migration_plan() LOOP
        r := pgmigrate._execute_migration(p.migration_name, options, caller, caller_path);
        results := results || jsonb_build_array(r);
        EXIT WHEN NOT (r->>'success')::boolean;
    END LOOP;
    RETURN jsonb_build_object('success', NOT EXISTS (SELECT 1 FROM jsonb_array_elements(results) x WHERE NOT (x->>'success')::boolean),
                              'executed', jsonb_array_length(results), 'results', results);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._execute_pending_migrations(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.execute_pending_migrations(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.execute_pending_migrations(jsonb) FROM PUBLIC;
