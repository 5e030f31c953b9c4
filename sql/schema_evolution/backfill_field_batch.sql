-- backfill_field, 0.4.0: the procedure only loops and commits; each batch is one call of
-- an owner-run entry point, so the caller needs no write access to the entity store's
-- enforcement settings, and the procedure itself runs nothing the caller's search_path
-- could redirect (it pins search_path for its own statements, restoring the caller's).

CREATE OR REPLACE FUNCTION pgmigrate._backfill_field_batch(entity_type text, field_name text, after_row bigint, batch_size integer,
                                                filled_so_far bigint, caller regrole, caller_path text)
RETURNS bigint[] LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    field_def jsonb;
    batch_rows bigint;
    batch_max bigint;
    prior_validation text;
    prior_policy text;
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
    -- Both settings are put back before returning: a SET LOCAL inside a function outlives
    -- it unless that same setting is in the function's SET clause (before 0.6.2 a caller's
    -- transaction went on with validation off after a batch).
    prior_validation := current_setting('pg_migrate.validation', true);
    prior_policy := current_setting('pg_migrate.deprecated_field_policy', true);
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
    PERFORM set_config('pg_migrate.validation', coalesce(prior_validation, 'enforce'), true),
            set_config('pg_migrate.deprecated_field_policy', coalesce(prior_policy, 'warn'), true);
    IF batch_rows = 0 THEN
        PERFORM pgmigrate._audit('field.backfilled', jsonb_build_object('entity_type', entity_type, 'field', field_name,
            'documents_filled', coalesce(filled_so_far, 0), 'batch_size', batch_size), caller);
    END IF;
    RETURN ARRAY[batch_rows, batch_max];
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._backfill_field_batch(text, text, bigint, integer, bigint, regrole, text) FROM PUBLIC;

-- One batch of a backfill: fills up to batch_size current documents after row after_row.
-- Returns {rows filled, last row_id}; {0, NULL} when there is nothing left (and audits).

CREATE OR REPLACE FUNCTION pgmigrate.backfill_field_batch(entity_type text, field_name text, after_row bigint, batch_size integer,
                                               filled_so_far bigint)
RETURNS bigint[] LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.backfill_field_batch(text, text, bigint, integer, bigint) FROM PUBLIC;
