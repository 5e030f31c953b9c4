CREATE OR REPLACE FUNCTION pgmigrate._add_field_backward_compatible(
    entity_type text, field_name text, field_schema jsonb, default_value jsonb, caller regrole, caller_path text
) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active pgmigrate.schema_versions;
    field_def jsonb := field_schema;
    new_version text;
    entity_table regclass;
    forward_sql text := '';
    rollback_sql text := '';
    filled bigint := 0;
    prior_validation text := current_setting('pg_migrate.validation', true);
    prior_policy text := current_setting('pg_migrate.deprecated_field_policy', true);
BEGIN
    PERFORM pgmigrate.check_field_name(entity_type, field_name);
    IF field_schema IS NULL OR jsonb_typeof(field_schema) <> 'object' THEN
        RAISE EXCEPTION 'field_schema must be a JSON object such as {"type": "string", "nullable": true}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF default_value IS NOT NULL THEN
        field_def := field_def || jsonb_build_object('default', default_value);
    END IF;
    -- Shape check of the field (type, nullable): raises 22023 naming the path.
    PERFORM pgmigrate.check_schema_compatibility('{}', jsonb_build_object('entities',
        jsonb_build_object(entity_type, jsonb_build_object('fields', jsonb_build_object(field_name, field_def)))), 'NONE');
    IF (field_def->>'nullable') IS NOT NULL AND NOT (field_def->>'nullable')::boolean AND NOT field_def ? 'default' THEN
        RAISE EXCEPTION 'required field "%" needs a default', field_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Every existing document of ' || entity_type || ' lacks it, so it would break all of them.',
                  HINT = 'Pass default_value, or add the field as nullable.';
    END IF;

    active := pgmigrate.lock_active_version();
    IF active.schema_definition #> ARRAY['entities', entity_type, 'fields', field_name] IS NOT NULL THEN
        RAISE EXCEPTION 'field "%" already exists on entity "%" in schema version %', field_name, entity_type, active.version_number
            USING ERRCODE = 'duplicate_column';
    END IF;
    new_version := pgmigrate._publish_next_version(active,
        pgmigrate.jsonb_deep_merge(active.schema_definition, jsonb_build_object('entities',
            jsonb_build_object(entity_type, jsonb_build_object('fields', jsonb_build_object(field_name, field_def))))),
        format('add field %s.%s', entity_type, field_name), caller);

    -- A column-backed entity table gets the column too.
    -- Longer names would be truncated by the lookup and could match another table.
    IF octet_length('entity_' || entity_type) <= 63 THEN
        -- The caller's table, found on the caller's search_path (a catalog lookup only).
        PERFORM set_config('search_path', caller_path, true);
        entity_table := to_regclass(quote_ident('entity_' || entity_type));
        PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
    END IF;
    IF entity_table IS NOT NULL THEN
        forward_sql := format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I jsonb', entity_table, field_name)
                    || CASE WHEN default_value IS NULL THEN '' ELSE format(' DEFAULT %L', default_value) END;
        rollback_sql := format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', entity_table, field_name);
        PERFORM pgmigrate._exec_as(caller, caller_path, forward_sql);
    END IF;

    IF field_def ? 'default' THEN
        -- Existing documents get the default. This is not an application write:
        -- legacy content must not block it and it must not count as field usage.
        PERFORM set_config('pg_migrate.validation', 'off', true), set_config('pg_migrate.deprecated_field_policy', 'off', true);
        UPDATE pgmigrate.temporal_entities t
           SET content = t.content || jsonb_build_object(field_name, field_def->'default')
         WHERE t.entity_type = _add_field_backward_compatible.entity_type
           AND t.valid_to = 'infinity' AND NOT t.is_deleted AND NOT t.content ? field_name;
        GET DIAGNOSTICS filled = ROW_COUNT;
        PERFORM set_config('pg_migrate.validation', coalesce(prior_validation, 'enforce'), true),
                set_config('pg_migrate.deprecated_field_policy', coalesce(prior_policy, 'warn'), true);
    END IF;

    INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, description, migration_type, status,
        started_at, completed_at, forward_script, rollback_script, execution_log, metadata, stored_by, stored_search_path, executed_by)
    VALUES (format('add_field:%s.%s@%s', entity_type, field_name, new_version), new_version,
            format('Add field %s to %s', field_name, entity_type), 'SCHEMA', 'COMPLETED',
            clock_timestamp(), clock_timestamp(),
            coalesce(concat_ws(E';\n', nullif(forward_sql, ''),
                CASE WHEN field_def ? 'default' THEN
                format('UPDATE pgmigrate.temporal_entities SET content = content || jsonb_build_object(%L, %L::jsonb) WHERE entity_type = %L AND valid_to = ''infinity'' AND NOT is_deleted AND NOT content ? %L',
                       field_name, field_def->'default', entity_type, field_name) END), '')
                || format(E'\n-- schema version %s published', new_version),
            concat_ws(E';\n', nullif(rollback_sql, ''),
                format('SELECT pgmigrate.activate_schema_version(%L, force => true)', active.version_number)),
            jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', 'COMPLETED', 'by', caller::text,
                'schema_version', new_version, 'documents_filled', filled)),
            jsonb_build_object('entity_type', entity_type, 'field', field_name, 'previous_version', active.version_number),
            caller, caller_path, caller::text);
    PERFORM pgmigrate._audit('field.added', jsonb_build_object('entity_type', entity_type, 'field', field_name,
        'schema', field_def, 'version', new_version, 'previous_version', active.version_number, 'documents_filled', filled), caller);
    RETURN new_version;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._add_field_backward_compatible(text, text, jsonb, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.add_field_backward_compatible(
    entity_type text, field_name text, field_schema jsonb, default_value jsonb DEFAULT NULL
) RETURNS text LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.add_field_backward_compatible(text, text, jsonb, jsonb) FROM PUBLIC;
