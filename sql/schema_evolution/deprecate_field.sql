CREATE OR REPLACE FUNCTION pgmigrate._deprecate_field(
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

REVOKE EXECUTE ON FUNCTION pgmigrate._deprecate_field(text, text, text, text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.deprecate_field(
    entity_type text, field_name text, deprecation_message text DEFAULT NULL, removal_version text DEFAULT NULL
) RETURNS text LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.deprecate_field(text, text, text, text) FROM PUBLIC;
