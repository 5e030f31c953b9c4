-- pipeline_preview(pipeline, sample, options): a dry run over the first `sample` current
-- documents (by entity id) of the pipeline's entity type, or the first `sample` rows of
-- its source query; writes nothing (the work runs
-- in a subtransaction that is always rolled back, so even a pipeline function that writes
-- leaves nothing). `pipeline` is a registered name (its SQL runs as its author) or a
-- definition as JSON text (run with the caller's privileges).

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_preview_json(pipeline text, sample integer, options jsonb, caller regrole, caller_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    p pgmigrate.pipelines;
    c jsonb;
    author regrole := caller;
    author_path text := caller_path;
    opts jsonb := pgmigrate._pipeline_options(options);
    etype text;
    result jsonb;
    item jsonb;
BEGIN
    IF sample IS NULL OR sample < 1 OR sample > 100000 THEN
        RAISE EXCEPTION 'sample must be between 1 and 100000, not %', sample USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ltrim(pipeline) LIKE '{%' THEN
        c := pgmigrate._pipeline_compile(pipeline::jsonb);
        FOR item IN SELECT * FROM jsonb_array_elements(c->'jsonpaths') LOOP
            BEGIN
                PERFORM (item->>1)::jsonpath;
            EXCEPTION WHEN others THEN
                RAISE EXCEPTION 'invalid pipeline definition at %: "%" is not a jsonpath predicate', item->>0, item->>1
                    USING ERRCODE = 'invalid_parameter_value', DETAIL = SQLERRM;
            END;
        END LOOP;
    ELSE
        SELECT * INTO p FROM pgmigrate.pipelines x WHERE x.name = pipeline;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'pipeline "%" does not exist', pipeline USING ERRCODE = 'undefined_object',
                HINT = 'Pass a registered pipeline''s name or a definition as JSON.';
        END IF;
        c := p.compiled;
        author := p.author;
        author_path := p.author_search_path;
    END IF;
    etype := coalesce(opts->>'entityType', c->>'entityType');
    IF etype IS NULL THEN
        RAISE EXCEPTION 'pipeline "%" names no entity type to read', c->>'name' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give "entityType" in the definition or in the options.';
    END IF;
    BEGIN
        PERFORM pgmigrate._pipeline_temp(author);
        IF opts->>'query' IS NULL AND c->>'query' IS NULL THEN
            PERFORM pgmigrate._pipeline_load(etype, NULL, sample, false, 0);
        ELSE
            -- The first `sample` rows of the source query (run as whoever stored it).
            PERFORM pgmigrate._pipeline_source(coalesce(opts->>'query', c->>'query'),
                                               CASE WHEN opts->>'query' IS NULL THEN author ELSE caller END,
                                               CASE WHEN opts->>'query' IS NULL THEN author_path ELSE caller_path END, etype, sample);
            INSERT INTO pg_temp._pgm_pipe_in (ord, entity_id, row_id, doc)
            SELECT row_number() OVER (ORDER BY s.id), s.id, t.row_id, s.doc FROM pg_temp._pgm_pipe_src s
              LEFT JOIN pgmigrate.temporal_entities t ON t.entity_id = s.id AND t.valid_to = 'infinity';
        END IF;
        PERFORM pgmigrate._pipeline_apply(c, author, author_path, etype, opts->>'outputEntityType');
        -- Outputs the entity store would refuse (its schema, enforced): the run would fail on them.
        IF coalesce(current_setting('pg_migrate.validation', true), 'enforce') = 'enforce' THEN
            INSERT INTO pg_temp._pgm_pipe_err (ord, entity_id, step, error, sqlstate, original)
            SELECT o.ord, o.entity_id, 'entity store', 'the entity store would refuse it: ' || array_to_string(v, '; '), '23514', i.doc
              FROM pg_temp._pgm_pipe_out o LEFT JOIN pg_temp._pgm_pipe_in i ON i.ord = o.ord AND i.entity_id = o.entity_id,
                   LATERAL pgmigrate.document_violations(CASE WHEN o.entity_id IS NULL THEN coalesce(opts->>'outputEntityType', etype)
                                                              ELSE etype END, o.doc) v
             WHERE cardinality(v) > 0 AND o.entity_id IS NOT NULL;
        END IF;
        SELECT coalesce(jsonb_agg(jsonb_build_object('entity_id', x.entity_id, 'before', x.before, 'after', x.after, 'errors', x.errors)
                                  ORDER BY x.k1, x.k2), '[]') INTO result
          FROM (SELECT i.ord AS k1, 0 AS k2, i.entity_id, i.doc AS before, o.doc AS after,
                       (SELECT jsonb_agg(jsonb_build_object('step', e.step, 'error', e.error, 'sqlstate', e.sqlstate))
                          FROM pg_temp._pgm_pipe_err e WHERE e.ord = i.ord OR (e.ord IS NULL AND e.entity_id = i.entity_id)) AS errors
                  FROM pg_temp._pgm_pipe_in i LEFT JOIN pg_temp._pgm_pipe_out o ON o.ord = i.ord AND o.entity_id = i.entity_id
                UNION ALL
                SELECT 2147483647, row_number() OVER (), NULL, NULL, o.doc, NULL
                  FROM pg_temp._pgm_pipe_out o WHERE o.entity_id IS NULL
                UNION ALL
                SELECT e.ord, 0, e.entity_id, e.original, NULL,
                       jsonb_build_array(jsonb_build_object('step', e.step, 'error', e.error, 'sqlstate', e.sqlstate))
                  -- (Documents left out of the input: refused by validation.input, or skipped
                  -- by a pipeline that sees its whole input.)
                  FROM pg_temp._pgm_pipe_err e
                 WHERE e.ord IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_temp._pgm_pipe_in i WHERE i.ord = e.ord)) x;
        RAISE EXCEPTION 'pg_migrate preview done';
    EXCEPTION WHEN others THEN
        IF SQLERRM <> 'pg_migrate preview done' THEN
            RAISE;
        END IF;
    END;
    RETURN result;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_preview_json(text, integer, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.pipeline_preview_json(pipeline text, sample integer, options jsonb) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_preview_json(text, integer, jsonb) FROM PUBLIC;

-- No SET clause, so the trampoline sees the caller's search_path (an inline definition's
-- functions resolve as the caller would); everything here is schema-qualified.
CREATE OR REPLACE FUNCTION pgmigrate.pipeline_preview(pipeline text, sample integer DEFAULT 10, options jsonb DEFAULT '{}')
RETURNS TABLE (entity_id uuid, before jsonb, after jsonb, errors jsonb)
LANGUAGE sql VOLATILE AS $$
    SELECT (e OPERATOR(pg_catalog.->>) 'entity_id')::pg_catalog.uuid, e OPERATOR(pg_catalog.->) 'before',
           NULLIF(e OPERATOR(pg_catalog.->) 'after', 'null'::pg_catalog.jsonb),
           NULLIF(e OPERATOR(pg_catalog.->) 'errors', 'null'::pg_catalog.jsonb)
      FROM pg_catalog.jsonb_array_elements(pgmigrate.pipeline_preview_json(pipeline, sample, options)) e;
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_preview(text, integer, jsonb) FROM PUBLIC;
