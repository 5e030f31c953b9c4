-- backfill_field, 0.4.0: the procedure only loops and commits; each batch is one call of
-- an owner-run entry point, so the caller needs no write access to the entity store's
-- enforcement settings, and the procedure itself runs nothing the caller's search_path
-- could redirect (it pins search_path for its own statements, restoring the caller's).

CREATE FUNCTION pgmigrate._backfill_field_batch(entity_type text, field_name text, after_row bigint, batch_size integer,
                                                filled_so_far bigint, caller regrole, caller_path text)
RETURNS bigint[] LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    field_def jsonb;
    batch_rows bigint;
    batch_max bigint;
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
    -- Not an application write: legacy content must not block it, it is not field usage.
    -- (SET LOCAL inside a function with a SET clause ends with the function.)
    PERFORM set_config('pg_migrate.validation', 'off', true), set_config('pg_migrate.deprecated_field_policy', 'off', true);
    WITH batch AS (
        SELECT row_id FROM pgmigrate.temporal_entities t
         WHERE t.entity_type = _backfill_field_batch.entity_type AND t.valid_to = 'infinity' AND NOT t.is_deleted
           AND t.row_id > coalesce(after_row, 0) AND NOT t.content ? field_name
         ORDER BY row_id LIMIT batch_size FOR UPDATE),
    done AS (
        UPDATE pgmigrate.temporal_entities t
           SET content = t.content || jsonb_build_object(field_name, field_def->'default')
          FROM batch WHERE t.row_id = batch.row_id
        RETURNING t.row_id)
    SELECT count(*), max(row_id) INTO batch_rows, batch_max FROM done;
    IF batch_rows = 0 THEN
        PERFORM pgmigrate._audit('field.backfilled', jsonb_build_object('entity_type', entity_type, 'field', field_name,
            'documents_filled', coalesce(filled_so_far, 0), 'batch_size', batch_size), caller);
    END IF;
    RETURN ARRAY[batch_rows, batch_max];
END $$;

-- One batch of a backfill: fills up to batch_size current documents after row after_row.
-- Returns {rows filled, last row_id}; {0, NULL} when there is nothing left (and audits).
CREATE FUNCTION pgmigrate.backfill_field_batch(entity_type text, field_name text, after_row bigint, batch_size integer,
                                               filled_so_far bigint)
RETURNS bigint[] LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

-- Writes a field's default into current documents that lack it, committing every batch:
-- resumable after an interruption, and it terminates under concurrent inserts (keyset
-- over row_id; new rows get the default from the trigger).
-- (No SET clause: PostgreSQL forbids COMMIT in procedures that have one.)
CREATE OR REPLACE PROCEDURE pgmigrate.backfill_field(entity_type text, field_name text, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    last_row bigint := 0;
    batch bigint[];
    total bigint := 0;
BEGIN
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        batch := pgmigrate.backfill_field_batch(entity_type, field_name, last_row, batch_size, total);
        EXIT WHEN batch[1] = 0;
        total := total + batch[1];
        last_row := batch[2];
        RAISE NOTICE 'backfill_field %.%: % documents filled so far', entity_type, field_name, total;
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        COMMIT;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    RAISE NOTICE 'backfill_field %.%: done, % documents filled', entity_type, field_name, total;
END $$;

DROP FUNCTION pgmigrate.publish_next_version(pgmigrate.schema_versions, jsonb, text);

REVOKE EXECUTE ON FUNCTION
    pgmigrate._activate_schema_version(text, boolean, regrole, text),
    pgmigrate._register_schema_version(text, jsonb, text, boolean, boolean, regrole, text),
    pgmigrate._publish_next_version(pgmigrate.schema_versions, jsonb, text, regrole),
    pgmigrate._add_field_backward_compatible(text, text, jsonb, jsonb, regrole, text),
    pgmigrate._deprecate_field(text, text, text, text, regrole, text),
    pgmigrate._backfill_field_batch(text, text, bigint, integer, bigint, regrole, text),
    pgmigrate.backfill_field_batch(text, text, bigint, integer, bigint)
    FROM PUBLIC;

-- What a DBA runs to let a role evolve schemas: EXECUTE on the entry points, read access
-- to the registry, and the entity store's data. No write access to the registry itself.
CREATE OR REPLACE FUNCTION pgmigrate.grant_schema_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.activate_schema_version(text, boolean),
        pgmigrate.register_schema_version(text, jsonb, text, boolean, boolean),
        pgmigrate.add_field_backward_compatible(text, text, jsonb, jsonb), pgmigrate.deprecate_field(text, text, text, text),
        pgmigrate.backfill_field_batch(text, text, bigint, integer, bigint) TO %s', grantee);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE pgmigrate.backfill_field(text, text, integer) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.schema_versions, pgmigrate.knowledge_migrations, pgmigrate.audit_log TO %s', grantee);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgmigrate.temporal_entities TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_schema_admin'),
                             current_user::regrole);
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.grant_migration_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.register_migration(jsonb), pgmigrate.register_migrations(jsonb),
        pgmigrate.execute_migration(text, jsonb), pgmigrate.execute_pending_migrations(jsonb),
        pgmigrate.rollback_migration(text, jsonb), pgmigrate.adopt_migration(text) TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.knowledge_migrations, pgmigrate.migration_execution_state,
        pgmigrate.temporal_entities, pgmigrate.audit_log TO %s', grantee);
    PERFORM pgmigrate._audit('privileges.granted', jsonb_build_object('grantee', grantee::text, 'helper', 'grant_migration_admin'),
                             current_user::regrole);
END $$;

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
