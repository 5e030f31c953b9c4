-- The schema registry's entry points, 0.4.0: they record the caller, run as the owner
-- (no other role writes schema_versions), and pin search_path; the one lookup that must
-- see what the caller sees (the column-backed entity_<type> table) uses the caller's
-- search_path, and the ALTER TABLE on it runs with the caller's privileges.

CREATE FUNCTION pgmigrate._activate_schema_version(version_number text, force boolean, caller regrole, caller_path text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target pgmigrate.schema_versions;
    previous pgmigrate.schema_versions;
    mode text := upper(coalesce(nullif(current_setting('pg_migrate.compatibility_mode', true), ''), 'BACKWARD'));
    history jsonb;
    v record;
    res jsonb;
    refused jsonb := '[]';
BEGIN
    -- One registry change at a time; readers are never blocked.
    LOCK TABLE pgmigrate.schema_versions IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO target FROM pgmigrate.schema_versions s WHERE s.version_number = _activate_schema_version.version_number;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'schema version "%" does not exist', version_number
            USING ERRCODE = 'undefined_object', HINT = 'Register it with pgmigrate.register_schema_version first.';
    END IF;
    IF target.is_active THEN
        RAISE NOTICE 'schema version "%" is already active', version_number;
        RETURN;
    END IF;
    SELECT * INTO previous FROM pgmigrate.schema_versions WHERE is_active;
    IF previous.version_id IS NOT NULL AND mode <> 'NONE' THEN
        history := pgmigrate.schema_history();
        FOR v IN SELECT s.version_number, s.schema_definition FROM pgmigrate.schema_versions s
                  WHERE s.version_id <> target.version_id
                    AND (mode LIKE '%\_TRANSITIVE' OR s.is_active) LOOP
            res := pgmigrate.check_schema_compatibility(v.schema_definition, target.schema_definition, mode, history);
            SELECT refused || coalesce(jsonb_agg(c || jsonb_build_object('against', v.version_number)), '[]')
              INTO refused FROM jsonb_array_elements(res->'changes') AS c WHERE NOT (c->>'allowed')::boolean;
        END LOOP;
        IF jsonb_array_length(refused) > 0 AND NOT force THEN
            RAISE EXCEPTION 'schema version "%" breaks % compatibility', version_number, mode
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = refused::text,
                      HINT = 'Fix the schema, pass force => true, or change pg_migrate.compatibility_mode.';
        END IF;
    END IF;
    UPDATE pgmigrate.schema_versions SET is_active = false WHERE is_active;
    UPDATE pgmigrate.schema_versions SET is_active = true WHERE version_id = target.version_id;
    PERFORM pgmigrate._audit('schema_version.activated', jsonb_build_object(
        'version', version_number, 'previous', previous.version_number, 'mode', mode,
        'forced', force AND jsonb_array_length(refused) > 0, 'refused_changes', refused), caller);
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.activate_schema_version(version_number text, force boolean DEFAULT false)
RETURNS void LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

CREATE FUNCTION pgmigrate._register_schema_version(
    version_number text, schema_definition jsonb, description text, activate boolean, force boolean,
    caller regrole, caller_path text
) RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active pgmigrate.schema_versions;
    history jsonb;
    v record;
    res jsonb;
    backward text[] := '{}';
    forward text[] := '{}';
    new_id uuid;
BEGIN
    IF version_number IS NULL OR btrim(version_number) = '' THEN
        RAISE EXCEPTION 'version_number must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF schema_definition IS NULL OR jsonb_typeof(schema_definition) <> 'object' THEN
        RAISE EXCEPTION 'schema_definition must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Shape check: raises 22023 naming the JSON path.
    PERFORM pgmigrate.check_schema_compatibility(schema_definition, schema_definition, 'NONE');
    LOCK TABLE pgmigrate.schema_versions IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM pgmigrate.schema_versions s WHERE s.version_number = _register_schema_version.version_number) THEN
        RAISE EXCEPTION 'schema version "%" already exists', version_number
            USING ERRCODE = 'duplicate_object', HINT = 'Published versions are immutable; register a new version number.';
    END IF;
    SELECT * INTO active FROM pgmigrate.schema_versions WHERE is_active;
    history := pgmigrate.schema_history();
    FOR v IN SELECT s.version_number, s.schema_definition FROM pgmigrate.schema_versions s ORDER BY created_at LOOP
        res := pgmigrate.check_schema_compatibility(v.schema_definition, schema_definition, 'NONE', history);
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(res->'changes') c WHERE NOT (c->>'backward')::boolean) THEN
            backward := backward || v.version_number;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(res->'changes') c WHERE NOT (c->>'forward')::boolean) THEN
            forward := forward || v.version_number;
        END IF;
    END LOOP;
    INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, description, created_by,
                                           breaking_changes, backward_compatible_with, forward_compatible_with)
    VALUES (version_number, schema_definition, description, caller::text,
            CASE WHEN active.version_id IS NULL THEN '[]'
                 ELSE pgmigrate.detect_breaking_changes(active.schema_definition, schema_definition) END,
            backward, forward)
    RETURNING version_id INTO new_id;
    PERFORM pgmigrate._audit('schema_version.registered', jsonb_build_object(
        'version', version_number, 'version_id', new_id, 'backward_compatible_with', backward,
        'forward_compatible_with', forward), caller);
    IF activate THEN
        PERFORM pgmigrate._activate_schema_version(version_number, force, caller, caller_path);
    END IF;
    RETURN new_id;
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.register_schema_version(
    version_number text, schema_definition jsonb, description text DEFAULT NULL,
    activate boolean DEFAULT false, force boolean DEFAULT false
) RETURNS uuid LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

CREATE FUNCTION pgmigrate._publish_next_version(active pgmigrate.schema_versions, new_definition jsonb, description text, caller regrole)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_version text := pgmigrate.next_version_number(active.version_number);
BEGIN
    -- Deactivating first makes a REPEATABLE READ caller with a stale view of the
    -- registry fail with a serialization error (40001) instead of losing a change.
    UPDATE pgmigrate.schema_versions SET is_active = false WHERE version_id = active.version_id;
    INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, description, is_active, created_by,
                                           backward_compatible_with, breaking_changes)
    VALUES (new_version, new_definition || jsonb_build_object('version', new_version), description, true, caller::text,
            ARRAY[active.version_number],
            pgmigrate.detect_breaking_changes(active.schema_definition, new_definition));
    RETURN new_version;
END $$;

CREATE FUNCTION pgmigrate._add_field_backward_compatible(
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

CREATE OR REPLACE FUNCTION pgmigrate.add_field_backward_compatible(
    entity_type text, field_name text, field_schema jsonb, default_value jsonb DEFAULT NULL
) RETURNS text LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

CREATE FUNCTION pgmigrate._deprecate_field(
    entity_type text, field_name text, deprecation_message text, removal_version text, caller regrole, caller_path text
) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active pgmigrate.schema_versions;
    field_def jsonb;
    new_version text;
    tag_sql text;
    tagged bigint;
BEGIN
    PERFORM pgmigrate.check_field_name(entity_type, field_name);
    active := pgmigrate.lock_active_version();
    IF active.schema_definition #> ARRAY['entities', entity_type] IS NULL THEN
        RAISE EXCEPTION 'entity "%" is not in schema version %', entity_type, active.version_number
            USING ERRCODE = 'undefined_object';
    END IF;
    field_def := active.schema_definition #> ARRAY['entities', entity_type, 'fields', field_name];
    IF field_def IS NULL THEN
        RAISE EXCEPTION 'field "%" does not exist on entity "%" in schema version %', field_name, entity_type, active.version_number
            USING ERRCODE = 'undefined_column';
    END IF;
    IF field_def->>'deprecated' = 'true' THEN
        RAISE NOTICE 'field "%" of entity "%" is already deprecated', field_name, entity_type;
        RETURN active.version_number;
    END IF;
    new_version := pgmigrate._publish_next_version(active,
        pgmigrate.jsonb_deep_merge(active.schema_definition, jsonb_build_object('entities',
            jsonb_build_object(entity_type, jsonb_build_object('fields', jsonb_build_object(field_name, jsonb_build_object(
                'deprecated', true,
                'deprecation_message', coalesce(deprecation_message, 'Field is deprecated'),
                'removal_version', removal_version,
                'deprecated_at', clock_timestamp()::text)))))),
        format('deprecate field %s.%s', entity_type, field_name), caller);

    -- Tags current documents that use the field; listing it once however often it runs.
    tag_sql := format($f$UPDATE pgmigrate.temporal_entities
   SET metadata = jsonb_set(metadata, '{deprecated_fields}', coalesce(metadata->'deprecated_fields', '[]') || to_jsonb(%1$L::text))
 WHERE entity_type = %2$L AND content ? %1$L AND valid_to = 'infinity' AND NOT is_deleted
   AND NOT coalesce(metadata->'deprecated_fields', '[]') ? %1$L$f$, field_name, entity_type);
    EXECUTE tag_sql;
    GET DIAGNOSTICS tagged = ROW_COUNT;

    INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, description, migration_type, status,
        started_at, completed_at, forward_script, rollback_script, execution_log, metadata, stored_by, stored_search_path, executed_by)
    VALUES (format('deprecate:%s.%s@%s', entity_type, field_name, new_version), new_version,
            format('Deprecate field %s in %s', field_name, entity_type), 'SCHEMA', 'COMPLETED',
            clock_timestamp(), clock_timestamp(), tag_sql,
            format($r$UPDATE pgmigrate.temporal_entities SET metadata = jsonb_set(metadata, '{deprecated_fields}', (metadata->'deprecated_fields') - %1$L) WHERE entity_type = %2$L AND metadata->'deprecated_fields' ? %1$L;
SELECT pgmigrate.activate_schema_version(%3$L, force => true)$r$, field_name, entity_type, active.version_number),
            jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', 'COMPLETED', 'by', caller::text,
                'schema_version', new_version, 'documents_tagged', tagged)),
            jsonb_build_object('entity_type', entity_type, 'field', field_name, 'previous_version', active.version_number,
                               'removal_version', removal_version),
            caller, caller_path, caller::text);
    PERFORM pgmigrate._audit('field.deprecated', jsonb_build_object('entity_type', entity_type, 'field', field_name,
        'message', deprecation_message, 'removal_version', removal_version, 'version', new_version, 'documents_tagged', tagged), caller);
    RETURN new_version;
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.deprecate_field(
    entity_type text, field_name text, deprecation_message text DEFAULT NULL, removal_version text DEFAULT NULL
) RETURNS text LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

CREATE OR REPLACE FUNCTION pgmigrate.check_compatibility(new_schema jsonb, mode text DEFAULT 'BACKWARD_TRANSITIVE')
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    history jsonb := pgmigrate.schema_history();
    v record;
    res jsonb;
    ok boolean := true;
    checked text[] := '{}';
    changes jsonb := '[]';
BEGIN
    IF new_schema IS NULL THEN
        RAISE EXCEPTION 'new_schema must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass a schema such as {"entities": {}}.';
    END IF;
    -- Validates the mode and the schema's shape before anything else.
    PERFORM pgmigrate.check_schema_compatibility(new_schema, new_schema, mode);
    FOR v IN SELECT version_number, schema_definition FROM pgmigrate.schema_versions
              ORDER BY created_at DESC, version_number DESC LOOP
        res := pgmigrate.check_schema_compatibility(v.schema_definition, new_schema, mode, history);
        ok := ok AND (res->>'compatible')::boolean;
        checked := checked || v.version_number;
        SELECT changes || coalesce(jsonb_agg(c || jsonb_build_object('against', v.version_number)), '[]')
          INTO changes FROM jsonb_array_elements(res->'changes') AS c;
        EXIT WHEN upper(btrim(mode)) NOT LIKE '%\_TRANSITIVE';
    END LOOP;
    RETURN jsonb_build_object('compatible', ok, 'mode', upper(btrim(mode)),
                              'checked_against', to_jsonb(checked), 'changes', changes);
END $$;
