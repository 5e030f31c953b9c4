-- pg_migrate 0.1.0 -> 0.2.0: the schema-evolution surface. A version registry with
-- compatibility modes, field evolution, the entity-store trigger and the audit log.
-- Fresh installs run this file too, so it is the one definition of these objects.

ALTER TABLE pgmigrate.schema_versions ALTER COLUMN created_at SET DEFAULT clock_timestamp();
GRANT SELECT ON pgmigrate.schema_versions TO PUBLIC;

-- Append-only audit trail of every state change: who, when, what.
CREATE TABLE pgmigrate.audit_log (
    audit_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    role_name text NOT NULL DEFAULT current_user,
    action    text NOT NULL CHECK (action <> ''),
    details   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_action_idx ON pgmigrate.audit_log (action, logged_at);

CREATE FUNCTION pgmigrate.audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Rows always carry the real role and time, whatever the inserter supplied.
    NEW.role_name := current_user;
    NEW.logged_at := clock_timestamp();
    RETURN NEW;
END $$;

CREATE FUNCTION pgmigrate.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'pgmigrate.audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_stamp BEFORE INSERT ON pgmigrate.audit_log
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.audit_log_stamp();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON pgmigrate.audit_log
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmigrate.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.audit_log_append_only();

CREATE FUNCTION pgmigrate.audit(action text, details jsonb) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgmigrate.audit_log (action, details) VALUES (action, coalesce(details, '{}'));
$$;

-- Writes that still carry deprecated fields, so a DBA can see when one is unused.
CREATE TABLE pgmigrate.deprecated_field_usage (
    entity_type text NOT NULL,
    field_name  text NOT NULL,
    writes      bigint NOT NULL DEFAULT 0,
    last_seen   timestamptz,
    PRIMARY KEY (entity_type, field_name)
);
GRANT SELECT ON pgmigrate.deprecated_field_usage TO PUBLIC;

-- Called by the entity-store trigger under the writer's role, hence SECURITY DEFINER:
-- application roles count usage without write access to the table.
CREATE FUNCTION pgmigrate.record_deprecated_use(entity_type text, fields text[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgmigrate.deprecated_field_usage AS u (entity_type, field_name, writes, last_seen)
    SELECT entity_type, f, 1, clock_timestamp() FROM unnest(fields) AS f
    ON CONFLICT (entity_type, field_name)
    DO UPDATE SET writes = u.writes + 1, last_seen = excluded.last_seen;
$$;

SELECT pg_catalog.pg_extension_config_dump('pgmigrate.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.audit_log_audit_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.deprecated_field_usage', '');

-- Native functions added in 0.2.0.
CREATE FUNCTION pgmigrate.check_schema_compatibility(
    old_schema jsonb, new_schema jsonb, mode text DEFAULT 'BACKWARD', history jsonb DEFAULT '[]'
) RETURNS jsonb IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'check_schema_compatibility_wrapper';

CREATE FUNCTION pgmigrate.temporal_entities_evolve() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'temporal_entities_evolve_wrapper';

CREATE FUNCTION pgmigrate.schema_versions_changed() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'schema_versions_changed_wrapper';

CREATE TRIGGER temporal_entities_evolve BEFORE INSERT OR UPDATE ON pgmigrate.temporal_entities
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.temporal_entities_evolve();
CREATE TRIGGER schema_versions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmigrate.schema_versions
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.schema_versions_changed();

-- Readers of the registry.
CREATE FUNCTION pgmigrate.active_schema_definition() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT schema_definition FROM pgmigrate.schema_versions WHERE is_active
$$;

CREATE FUNCTION pgmigrate.active_schema_version_number() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT version_number FROM pgmigrate.schema_versions WHERE is_active
$$;

-- Every registered definition, oldest first: the memory of removed fields.
CREATE FUNCTION pgmigrate.schema_history() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(jsonb_agg(schema_definition ORDER BY created_at, version_number), '[]')
      FROM pgmigrate.schema_versions
$$;

-- new_schema against the latest version, or against every version for _TRANSITIVE modes.
CREATE FUNCTION pgmigrate.check_compatibility(new_schema jsonb, mode text DEFAULT 'BACKWARD_TRANSITIVE')
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    history jsonb := pgmigrate.schema_history();
    v record;
    res jsonb;
    ok boolean := true;
    checked text[] := '{}';
    changes jsonb := '[]';
BEGIN
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

-- Next version number: MAJOR.MINOR.PATCH bumps MINOR (and resets PATCH); anything else
-- gets the sketch's "_patch" suffix, then "_patch2", "_patch3", ... until unused.
CREATE FUNCTION pgmigrate.next_version_number(current text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    parts text[] := regexp_match(current, '^(\d+)\.(\d+)\.(\d+)$');
    candidate text;
    n int := 1;
BEGIN
    LOOP
        IF parts IS NOT NULL THEN
            candidate := parts[1] || '.' || (parts[2]::numeric + n) || '.0';
        ELSE
            candidate := current || '_patch' || CASE WHEN n = 1 THEN '' ELSE n::text END;
        END IF;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pgmigrate.schema_versions WHERE version_number = candidate);
        n := n + 1;
    END LOOP;
    RETURN candidate;
END $$;

CREATE FUNCTION pgmigrate.activate_schema_version(version_number text, force boolean DEFAULT false)
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
    SELECT * INTO target FROM pgmigrate.schema_versions s WHERE s.version_number = activate_schema_version.version_number;
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
    PERFORM pgmigrate.audit('schema_version.activated', jsonb_build_object(
        'version', version_number, 'previous', previous.version_number, 'mode', mode,
        'forced', force AND jsonb_array_length(refused) > 0, 'refused_changes', refused));
END $$;

CREATE FUNCTION pgmigrate.register_schema_version(
    version_number text, schema_definition jsonb, description text DEFAULT NULL,
    activate boolean DEFAULT false, force boolean DEFAULT false
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
    IF EXISTS (SELECT 1 FROM pgmigrate.schema_versions s WHERE s.version_number = register_schema_version.version_number) THEN
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
    INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, description,
                                           breaking_changes, backward_compatible_with, forward_compatible_with)
    VALUES (version_number, schema_definition, description,
            CASE WHEN active.version_id IS NULL THEN '[]'
                 ELSE pgmigrate.detect_breaking_changes(active.schema_definition, schema_definition) END,
            backward, forward)
    RETURNING version_id INTO new_id;
    PERFORM pgmigrate.audit('schema_version.registered', jsonb_build_object(
        'version', version_number, 'version_id', new_id, 'backward_compatible_with', backward,
        'forward_compatible_with', forward));
    IF activate THEN
        PERFORM pgmigrate.activate_schema_version(version_number, force);
    END IF;
    RETURN new_id;
END $$;

-- Publish `new_definition` as the new_version version, active, compatible with `active`.
CREATE FUNCTION pgmigrate.publish_next_version(active pgmigrate.schema_versions, new_definition jsonb, description text)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_version text := pgmigrate.next_version_number(active.version_number);
BEGIN
    -- Deactivating first makes a REPEATABLE READ caller with a stale view of the
    -- registry fail with a serialization error (40001) instead of losing a change.
    UPDATE pgmigrate.schema_versions SET is_active = false WHERE version_id = active.version_id;
    INSERT INTO pgmigrate.schema_versions (version_number, schema_definition, description, is_active,
                                           backward_compatible_with, breaking_changes)
    VALUES (new_version, new_definition || jsonb_build_object('version', new_version), description, true,
            ARRAY[active.version_number],
            pgmigrate.detect_breaking_changes(active.schema_definition, new_definition));
    RETURN new_version;
END $$;

-- The active version, locked for a registry change; a clear error when there is none.
CREATE FUNCTION pgmigrate.lock_active_version() RETURNS pgmigrate.schema_versions
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    active pgmigrate.schema_versions;
BEGIN
    LOCK TABLE pgmigrate.schema_versions IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO active FROM pgmigrate.schema_versions WHERE is_active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no active schema version'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register one first: SELECT pgmigrate.register_schema_version(''1.0.0'', ''{"entities": {}}'', activate => true);';
    END IF;
    RETURN active;
END $$;

CREATE FUNCTION pgmigrate.check_field_name(entity_type text, field_name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF entity_type IS NULL OR entity_type = '' OR field_name IS NULL OR field_name = '' THEN
        RAISE EXCEPTION 'entity_type and field_name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF octet_length(field_name) > 63 THEN
        RAISE EXCEPTION 'field name "%" is % bytes long; the limit is 63', left(field_name, 40) || '...', octet_length(field_name)
            USING ERRCODE = 'name_too_long', HINT = 'Fields can become columns, whose names PostgreSQL limits to 63 bytes.';
    END IF;
END $$;

CREATE FUNCTION pgmigrate.add_field_backward_compatible(
    entity_type text, field_name text, field_schema jsonb, default_value jsonb DEFAULT NULL
) RETURNS text LANGUAGE plpgsql AS $$
-- No pinned search_path: the column-backed table entity_<type> is found on the
-- caller's search_path, as the sketch does; everything else is schema-qualified.
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
    new_version := pgmigrate.publish_next_version(active,
        pgmigrate.jsonb_deep_merge(active.schema_definition, jsonb_build_object('entities',
            jsonb_build_object(entity_type, jsonb_build_object('fields', jsonb_build_object(field_name, field_def))))),
        format('add field %s.%s', entity_type, field_name));

    -- A column-backed entity table gets the column too.
    -- Longer names would be truncated by the lookup and could match another table.
    IF octet_length('entity_' || entity_type) <= 63 THEN
        entity_table := to_regclass(quote_ident('entity_' || entity_type));
    END IF;
    IF entity_table IS NOT NULL THEN
        forward_sql := format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I jsonb', entity_table, field_name)
                    || CASE WHEN default_value IS NULL THEN '' ELSE format(' DEFAULT %L', default_value) END;
        rollback_sql := format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', entity_table, field_name);
        EXECUTE forward_sql;
    END IF;

    IF field_def ? 'default' THEN
        -- Existing documents get the default. This is not an application write:
        -- legacy content must not block it and it must not count as field usage.
        PERFORM set_config('pg_migrate.validation', 'off', true), set_config('pg_migrate.deprecated_field_policy', 'off', true);
        UPDATE pgmigrate.temporal_entities t
           SET content = t.content || jsonb_build_object(field_name, field_def->'default')
         WHERE t.entity_type = add_field_backward_compatible.entity_type
           AND t.valid_to = 'infinity' AND NOT t.is_deleted AND NOT t.content ? field_name;
        GET DIAGNOSTICS filled = ROW_COUNT;
        PERFORM set_config('pg_migrate.validation', coalesce(prior_validation, 'enforce'), true),
                set_config('pg_migrate.deprecated_field_policy', coalesce(prior_policy, 'warn'), true);
    END IF;

    INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, description, migration_type, status,
        started_at, completed_at, forward_script, rollback_script, execution_log, metadata)
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
            jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', 'COMPLETED', 'by', current_user,
                'schema_version', new_version, 'documents_filled', filled)),
            jsonb_build_object('entity_type', entity_type, 'field', field_name, 'previous_version', active.version_number));
    PERFORM pgmigrate.audit('field.added', jsonb_build_object('entity_type', entity_type, 'field', field_name,
        'schema', field_def, 'version', new_version, 'previous_version', active.version_number, 'documents_filled', filled));
    RETURN new_version;
END $$;

CREATE FUNCTION pgmigrate.deprecate_field(
    entity_type text, field_name text, deprecation_message text DEFAULT NULL, removal_version text DEFAULT NULL
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
    new_version := pgmigrate.publish_next_version(active,
        pgmigrate.jsonb_deep_merge(active.schema_definition, jsonb_build_object('entities',
            jsonb_build_object(entity_type, jsonb_build_object('fields', jsonb_build_object(field_name, jsonb_build_object(
                'deprecated', true,
                'deprecation_message', coalesce(deprecation_message, 'Field is deprecated'),
                'removal_version', removal_version,
                'deprecated_at', clock_timestamp()::text)))))),
        format('deprecate field %s.%s', entity_type, field_name));

    -- Tags current documents that use the field; listing it once however often it runs.
    tag_sql := format($f$UPDATE pgmigrate.temporal_entities
   SET metadata = jsonb_set(metadata, '{deprecated_fields}', coalesce(metadata->'deprecated_fields', '[]') || to_jsonb(%1$L::text))
 WHERE entity_type = %2$L AND content ? %1$L AND valid_to = 'infinity' AND NOT is_deleted
   AND NOT coalesce(metadata->'deprecated_fields', '[]') ? %1$L$f$, field_name, entity_type);
    EXECUTE tag_sql;
    GET DIAGNOSTICS tagged = ROW_COUNT;

    INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, description, migration_type, status,
        started_at, completed_at, forward_script, rollback_script, execution_log, metadata)
    VALUES (format('deprecate:%s.%s@%s', entity_type, field_name, new_version), new_version,
            format('Deprecate field %s in %s', field_name, entity_type), 'SCHEMA', 'COMPLETED',
            clock_timestamp(), clock_timestamp(), tag_sql,
            format($r$UPDATE pgmigrate.temporal_entities SET metadata = jsonb_set(metadata, '{deprecated_fields}', (metadata->'deprecated_fields') - %1$L) WHERE entity_type = %2$L AND metadata->'deprecated_fields' ? %1$L;
SELECT pgmigrate.activate_schema_version(%3$L, force => true)$r$, field_name, entity_type, active.version_number),
            jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', 'COMPLETED', 'by', current_user,
                'schema_version', new_version, 'documents_tagged', tagged)),
            jsonb_build_object('entity_type', entity_type, 'field', field_name, 'previous_version', active.version_number,
                               'removal_version', removal_version));
    PERFORM pgmigrate.audit('field.deprecated', jsonb_build_object('entity_type', entity_type, 'field', field_name,
        'message', deprecation_message, 'removal_version', removal_version, 'version', new_version, 'documents_tagged', tagged));
    RETURN new_version;
END $$;

-- Writes a field's default into current documents that lack it, committing every batch:
-- resumable after an interruption, and it terminates under concurrent inserts (keyset
-- over row_id; new rows get the default from the trigger).
-- (No SET clause: PostgreSQL forbids COMMIT in procedures that have one.)
CREATE PROCEDURE pgmigrate.backfill_field(entity_type text, field_name text, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    field_def jsonb;
    last_row bigint := 0;
    batch_rows bigint;
    batch_max bigint;
    total bigint := 0;
    prior_validation text := current_setting('pg_migrate.validation', true);
    prior_policy text := current_setting('pg_migrate.deprecated_field_policy', true);
BEGIN
    PERFORM pgmigrate.check_field_name(entity_type, field_name);
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1, not %', batch_size USING ERRCODE = 'invalid_parameter_value';
    END IF;
    field_def := pgmigrate.active_schema_definition() #> ARRAY['entities', entity_type, 'fields', field_name];
    IF field_def IS NULL THEN
        RAISE EXCEPTION 'field "%" does not exist on entity "%" in the active schema', field_name, entity_type
            USING ERRCODE = 'undefined_column';
    END IF;
    IF NOT field_def ? 'default' THEN
        RAISE EXCEPTION 'field "%" of entity "%" has no default to backfill', field_name, entity_type
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        -- Not an application write (see add_field_backward_compatible); re-set after each COMMIT.
        PERFORM set_config('pg_migrate.validation', 'off', true), set_config('pg_migrate.deprecated_field_policy', 'off', true);
        WITH batch AS (
            SELECT row_id FROM pgmigrate.temporal_entities t
             WHERE t.entity_type = backfill_field.entity_type AND t.valid_to = 'infinity' AND NOT t.is_deleted
               AND t.row_id > last_row AND NOT t.content ? field_name
             ORDER BY row_id LIMIT batch_size FOR UPDATE),
        done AS (
            UPDATE pgmigrate.temporal_entities t
               SET content = t.content || jsonb_build_object(field_name, field_def->'default')
              FROM batch WHERE t.row_id = batch.row_id
            RETURNING t.row_id)
        SELECT count(*), max(row_id) INTO batch_rows, batch_max FROM done;
        EXIT WHEN batch_rows = 0;
        total := total + batch_rows;
        last_row := batch_max;
        RAISE NOTICE 'backfill_field %.%: % documents filled so far', entity_type, field_name, total;
        COMMIT;
    END LOOP;
    PERFORM set_config('pg_migrate.validation', coalesce(prior_validation, 'enforce'), true),
            set_config('pg_migrate.deprecated_field_policy', coalesce(prior_policy, 'warn'), true);
    PERFORM pgmigrate.audit('field.backfilled', jsonb_build_object('entity_type', entity_type, 'field', field_name,
        'documents_filled', total, 'batch_size', batch_size));
    RAISE NOTICE 'backfill_field %.%: done, % documents filled', entity_type, field_name, total;
END $$;

-- State-changing functions are for roles the DBA trusts with them.
REVOKE EXECUTE ON FUNCTION pgmigrate.audit(text, jsonb),
    pgmigrate.activate_schema_version(text, boolean),
    pgmigrate.register_schema_version(text, jsonb, text, boolean, boolean),
    pgmigrate.publish_next_version(pgmigrate.schema_versions, jsonb, text),
    pgmigrate.lock_active_version(),
    pgmigrate.add_field_backward_compatible(text, text, jsonb, jsonb),
    pgmigrate.deprecate_field(text, text, text, text),
    pgmigrate.record_deprecated_use(text, text[])
    FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE pgmigrate.backfill_field(text, text, integer) FROM PUBLIC;
-- The trigger counts deprecated fields under any writer's role.
GRANT EXECUTE ON FUNCTION pgmigrate.record_deprecated_use(text, text[]) TO PUBLIC;

-- What a DBA runs to let a role evolve schemas: GRANT-only, run by a superuser or the owner.
CREATE FUNCTION pgmigrate.grant_schema_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.audit(text, jsonb), pgmigrate.activate_schema_version(text, boolean),
        pgmigrate.register_schema_version(text, jsonb, text, boolean, boolean),
        pgmigrate.publish_next_version(pgmigrate.schema_versions, jsonb, text), pgmigrate.lock_active_version(),
        pgmigrate.add_field_backward_compatible(text, text, jsonb, jsonb), pgmigrate.deprecate_field(text, text, text, text) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.backfill_field(text, text, integer) TO %s', grantee);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgmigrate.schema_versions, pgmigrate.knowledge_migrations, pgmigrate.temporal_entities TO %s', grantee);
    EXECUTE format('GRANT SELECT, INSERT ON pgmigrate.audit_log TO %s', grantee);
END $$;
REVOKE EXECUTE ON FUNCTION pgmigrate.grant_schema_admin(regrole) FROM PUBLIC;
