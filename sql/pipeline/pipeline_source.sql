-- A source query's rows, (id uuid, document jsonb), into the session's _pgm_pipe_src:
-- the query runs as the role that stored it (the pipeline's author, or the caller who
-- passed it in the run options), at most lim rows (NULL: all). Checked: ids present and
-- unique, documents JSON objects, and no id naming a current entity of another type or a
-- deleted one. Returns the number of rows.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_source(query text, author regrole, author_path text, etype text, lim integer)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    n bigint;
    bad record;
    err text;
    state text;
BEGIN
    PERFORM pgmigrate._pipeline_temp_check(ARRAY['_pgm_pipe_src']);
    IF to_regclass('pg_temp._pgm_pipe_src') IS NULL THEN
        CREATE TEMP TABLE _pgm_pipe_src (id uuid, doc jsonb) ON COMMIT DELETE ROWS;
    ELSE
        DELETE FROM pg_temp._pgm_pipe_src;
    END IF;
    IF NOT has_table_privilege(author, 'pg_temp._pgm_pipe_src', 'INSERT') THEN
        EXECUTE format('GRANT INSERT ON pg_temp._pgm_pipe_src TO %s', author);
    END IF;
    BEGIN
        n := pgmigrate._exec_as(author, author_path,
                 'INSERT INTO pg_temp._pgm_pipe_src (id, doc) SELECT * FROM ' || pgmigrate._subquery(query) || ' q'
                 || CASE WHEN lim IS NULL THEN '' ELSE format(' LIMIT %s', lim) END);
    EXCEPTION WHEN syntax_error OR datatype_mismatch OR cannot_coerce OR invalid_text_representation OR feature_not_supported THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
        RAISE EXCEPTION 'pipeline source query failed: %', err USING ERRCODE = state,
            HINT = 'The source query is one SELECT returning two columns, (id uuid, document jsonb).';
    END;
    SELECT s.id INTO bad FROM pg_temp._pgm_pipe_src s WHERE s.id IS NULL OR s.doc IS NULL OR jsonb_typeof(s.doc) <> 'object' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pipeline source query returned a row with %',
              CASE WHEN bad.id IS NULL THEN 'no id' ELSE format('id %s and a document that is not a JSON object', bad.id) END
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Every row needs an id and a JSON object document; filter the others out in the query.';
    END IF;
    SELECT s.id INTO bad FROM pg_temp._pgm_pipe_src s GROUP BY s.id HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pipeline source query returned id % more than once', bad.id USING ERRCODE = 'cardinality_violation',
            HINT = 'Each id is one entity: return one row per id.';
    END IF;
    SELECT s.id, t.entity_type, t.is_deleted INTO bad FROM pg_temp._pgm_pipe_src s
      JOIN pgmigrate.temporal_entities t ON t.entity_id = s.id AND t.valid_to = 'infinity'
     WHERE t.entity_type <> etype OR t.is_deleted LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pipeline source query returned id %, %', bad.id,
              CASE WHEN bad.is_deleted THEN 'a deleted entity' ELSE format('an entity of type "%s", not "%s"', bad.entity_type, etype) END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A run over a query writes entities of one type (entityType): new ids become new entities, known ids new versions.';
    END IF;
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_source(text, regrole, text, text, integer) FROM PUBLIC;
