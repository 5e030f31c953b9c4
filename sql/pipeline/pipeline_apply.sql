-- A document's violations: of the active schema (sdef NULL) or of the given definition.
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_violations(sdef jsonb, entity_type text, doc jsonb) RETURNS text[]
STABLE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN sdef IS NULL THEN pgmigrate.document_violations(entity_type, doc)
                ELSE pgmigrate._document_violations_in(sdef, entity_type, doc) END;
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_violations(jsonb, text, jsonb) FROM PUBLIC;

-- Transform the loaded batch: input validation, the pipeline as its author, output
-- validation (against the active schema, or the published version the definition names
-- in validation.schemaVersion). Items failing validation are recorded (SKIP) or fail the batch (FAIL).
-- Returns {retries}.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_apply(c jsonb, author regrole, author_path text, entity_type text, output_type text)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    n integer;
    n_items integer;
    retries integer;
    bad record;
    on_error text := coalesce(c->'validation'->>'errorHandling', 'FAIL');
    version text := c->'validation'->>'schemaVersion';
    sdef jsonb;
    against text := 'the active schema';
BEGIN
    IF version IS NOT NULL AND ((c->'validation'->>'input')::boolean OR (c->'validation'->>'output')::boolean) THEN
        SELECT v.schema_definition INTO sdef FROM pgmigrate.schema_versions v WHERE v.version_number = version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'pipeline "%" validates against schema version "%", which does not exist', c->>'name', version
                USING ERRCODE = 'undefined_object', HINT = 'Register that version, or name an existing one in validation.schemaVersion.';
        END IF;
        against := format('schema version %s', version);
    END IF;
    IF (c->'validation'->>'input')::boolean THEN
        FOR bad IN SELECT i.ord, i.entity_id, i.doc, v FROM pg_temp._pgm_pipe_in i,
                          LATERAL pgmigrate._pipeline_violations(sdef, entity_type, i.doc) v
                    WHERE cardinality(v) > 0 LOOP
            IF on_error <> 'SKIP' THEN
                RAISE EXCEPTION 'pipeline "%": input document % does not match %: %', c->>'name', bad.entity_id, against,
                      array_to_string(bad.v, '; ') USING ERRCODE = 'check_violation',
                      HINT = 'validation.errorHandling SKIP records such documents in pgmigrate.pipeline_errors and goes on.';
            END IF;
            INSERT INTO pg_temp._pgm_pipe_err VALUES (bad.ord, bad.entity_id, 'validation.input', array_to_string(bad.v, '; '), '23514', bad.doc);
            DELETE FROM pg_temp._pgm_pipe_in i WHERE i.ord = bad.ord;
        END LOOP;
    END IF;
    SELECT max(i.ord), count(*) INTO n, n_items FROM pg_temp._pgm_pipe_in i;
    retries := pgmigrate._pipeline_transform(c, author, author_path, 1, coalesce(n, 0));
    -- No document of the batch came through, and some failed with an error that can be the
    -- pipeline's own SQL rather than the document (SQLSTATE class 42: a column, table or
    -- function missing, a privilege lost; 3F: a schema gone; 0A: not supported): that is
    -- the pipeline failing, whatever the step's errorHandling (skipping them all completed
    -- the run having done nothing). Such an error of one document among documents that
    -- came through stays that document's.
    IF n_items > 0 AND NOT EXISTS (SELECT 1 FROM pg_temp._pgm_pipe_out)
       AND EXISTS (SELECT 1 FROM pg_temp._pgm_pipe_err e WHERE e.step <> 'validation.input' AND left(e.sqlstate, 2) IN ('42', '3F', '0A')) THEN
        SELECT * INTO bad FROM pg_temp._pgm_pipe_err e
         WHERE e.step <> 'validation.input' AND left(e.sqlstate, 2) IN ('42', '3F', '0A') ORDER BY e.ord LIMIT 1;
        RAISE EXCEPTION 'pipeline "%" step "%" failed, and no document of the batch came through: %', c->>'name', bad.step, bad.error
            USING ERRCODE = bad.sqlstate,
                  HINT = 'An error of the pipeline''s SQL (a column, table, schema or function, or a privilege) rather than of its documents: '
                      || 'errorHandling SKIP does not apply. Fix the definition or the privileges and CALL pgmigrate.run_pipeline again.';
    END IF;
    IF (c->'validation'->>'output')::boolean THEN
        FOR bad IN SELECT o.ctid AS tid, o.entity_id, i.doc, v FROM pg_temp._pgm_pipe_out o
                          LEFT JOIN pg_temp._pgm_pipe_in i ON i.ord = o.ord,
                          LATERAL pgmigrate._pipeline_violations(sdef, CASE WHEN o.entity_id IS NULL THEN coalesce(output_type, entity_type)
                                                                                 ELSE entity_type END, o.doc) v
                    WHERE cardinality(v) > 0 LOOP
            IF on_error <> 'SKIP' THEN
                RAISE EXCEPTION 'pipeline "%": output document % does not match %: %', c->>'name',
                      coalesce(bad.entity_id::text, '(new)'), against, array_to_string(bad.v, '; ') USING ERRCODE = 'check_violation',
                      HINT = 'validation.errorHandling SKIP records such documents in pgmigrate.pipeline_errors and goes on.';
            END IF;
            INSERT INTO pg_temp._pgm_pipe_err (entity_id, step, error, sqlstate, original)
            VALUES (bad.entity_id, 'validation.output', array_to_string(bad.v, '; '), '23514', bad.doc);
            DELETE FROM pg_temp._pgm_pipe_out o WHERE o.ctid = bad.tid;
        END LOOP;
    END IF;
    RETURN retries;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_apply(jsonb, regrole, text, text, text) FROM PUBLIC;
