-- Register: the entry point records the caller as the author.

CREATE OR REPLACE FUNCTION pgmigrate._register_migration(definition jsonb, caller regrole, caller_path text) RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    forward jsonb;
    rollback jsonb;
    validation jsonb := '[]';
    rule jsonb;
    deps uuid[] := '{}';
    dep text;
    dep_id uuid;
    new_id uuid;
    prio numeric;
    script_of constant text := $q$SELECT string_agg(coalesce(s->>'script', CASE WHEN s->>'type' = 'TRANSFORM'
                                        THEN format('SELECT %L::text AS transform_pipeline', CASE jsonb_typeof(s->'pipeline')
                                             WHEN 'string' THEN s->>'pipeline' ELSE coalesce(s->'pipeline'->>'name', 'inline') END)
                                        ELSE 'SELECT ' || (s->>'function') || '(...)' END), E';\n')
                                    FROM jsonb_array_elements($1) s$q$;
    forward_text text;
    rollback_text text;
BEGIN
    IF definition IS NULL OR jsonb_typeof(definition) <> 'object' THEN
        RAISE EXCEPTION 'a migration definition must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(jsonb_typeof(definition->'name'), '') <> 'string' OR btrim(definition->>'name') = '' THEN
        RAISE EXCEPTION 'a migration definition needs a "name"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF upper(coalesce(definition->>'type', 'SCHEMA')) NOT IN ('SCHEMA', 'DATA', 'HYBRID') THEN
        RAISE EXCEPTION 'migration type must be SCHEMA, DATA or HYBRID, not "%"', definition->>'type' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF definition ? 'priority' THEN
        IF jsonb_typeof(definition->'priority') <> 'number' THEN
            RAISE EXCEPTION 'priority must be an integer, not %', definition->'priority' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        prio := (definition->>'priority')::numeric;
        IF prio <> trunc(prio) OR prio < -2147483648 OR prio > 2147483647 THEN
            RAISE EXCEPTION 'priority must be an integer between -2147483648 and 2147483647, not %', definition->'priority'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    PERFORM pgmigrate._check_lock_settings(definition - 'timeout', 'the migration');
    forward := pgmigrate.normalize_steps(pgmigrate._inherit_lock_settings(definition->'forward', definition), 'forward');
    rollback := pgmigrate.normalize_steps(pgmigrate._inherit_lock_settings(definition->'rollback', definition), 'rollback');
    PERFORM pgmigrate._check_autocommit_steps(forward || rollback, definition->>'name');
    IF jsonb_array_length(forward) = 0 THEN
        RAISE EXCEPTION 'migration "%" has no forward steps', definition->>'name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF definition ? 'validation' THEN
        IF jsonb_typeof(definition->'validation') <> 'array' THEN
            RAISE EXCEPTION 'validation must be an array of rules' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR rule IN SELECT * FROM jsonb_array_elements(definition->'validation') LOOP
            validation := validation || jsonb_build_array(CASE jsonb_typeof(rule)
                WHEN 'string' THEN jsonb_build_object('type', 'VALIDATE', 'script', rule)
                WHEN 'object' THEN rule || jsonb_build_object('type', 'VALIDATE', 'script', coalesce(rule->'query', rule->'script'))
                ELSE rule END);
        END LOOP;
        validation := pgmigrate.normalize_steps(validation, 'validation');
    END IF;
    IF definition ? 'dependsOn' AND jsonb_typeof(definition->'dependsOn') <> 'array' THEN
        RAISE EXCEPTION 'dependsOn must be an array of migration names' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR dep IN SELECT jsonb_array_elements_text(coalesce(definition->'dependsOn', '[]')) LOOP
        IF dep IS NULL THEN
            RAISE EXCEPTION 'dependsOn must name migrations, not null' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- KEY SHARE: the dependency cannot be deleted before this row commits.
        SELECT migration_id INTO dep_id FROM pgmigrate.knowledge_migrations WHERE migration_name = dep FOR KEY SHARE;
        IF NOT FOUND THEN
            IF dep = definition->>'name' THEN
                RAISE EXCEPTION 'dependency cycle: % -> %', dep, dep USING ERRCODE = 'invalid_parameter_value';
            END IF;
            RAISE EXCEPTION 'migration "%" depends on unknown migration "%"', definition->>'name', dep
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Register dependencies first.';
        END IF;
        deps := deps || dep_id;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pgmigrate.knowledge_migrations WHERE migration_name = definition->>'name') THEN
        RAISE EXCEPTION 'migration "%" already exists', definition->>'name' USING ERRCODE = 'duplicate_object';
    END IF;
    EXECUTE script_of INTO forward_text USING forward;
    EXECUTE script_of INTO rollback_text USING rollback;
    INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, description, migration_type, forward_script,
        rollback_script, validation_script, depends_on, priority, metadata, definition, stored_by, stored_search_path,
        executed_by)
    VALUES (definition->>'name', coalesce(definition->>'version', '1'), definition->>'description',
            upper(coalesce(definition->>'type', 'SCHEMA')), forward_text, rollback_text,
            (SELECT string_agg(v->>'script', E';\n') FROM jsonb_array_elements(validation) v),
            deps, coalesce(prio::int, 100), coalesce(definition->'metadata', '{}'),
            jsonb_build_object('forward', forward, 'rollback', rollback, 'validation', validation),
            caller, caller_path, NULL)
    RETURNING migration_id INTO new_id;
    PERFORM pgmigrate._audit('migration.registered', jsonb_build_object('migration', definition->>'name',
        'migration_id', new_id, 'stored_by', caller::text), caller);
    RETURN new_id;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._register_migration(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.register_migration(definition jsonb) RETURNS uuid
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.register_migration(jsonb) FROM PUBLIC;
