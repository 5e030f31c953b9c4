-- A migration's TRANSFORM step: {type: "TRANSFORM", pipeline: name | {definition},
-- options: {...}} runs the whole pipeline inside the migration's transaction (no commits:
-- a failure undoes the migration with everything the pipeline wrote). A named pipeline's
-- SQL runs as its author; an inline one's as the migration's author. Returns rows written.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_run_inline(step jsonb, author regrole, author_path text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    p pgmigrate.pipelines;
    c jsonb;
    who regrole := author;
    who_path text := author_path;
    opts jsonb := pgmigrate._pipeline_options(step->'options');
    etype text;
    bs integer;
    run uuid;
    res jsonb;
    item jsonb;
    query text;
    q_author regrole;
    q_path text;
    other uuid;
    other_status text;
BEGIN
    IF opts->>'join' IS NOT NULL OR coalesce((opts->>'workers')::int, 1) > 1 THEN
        RAISE EXCEPTION 'TRANSFORM step "%": a pipeline runs inside its migration''s transaction, in one session', step->>'name'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Drop "workers" and "join" from the step''s options.';
    END IF;
    IF jsonb_typeof(step->'pipeline') = 'string' THEN
        SELECT * INTO p FROM pgmigrate.pipelines x WHERE x.name = step->>'pipeline';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'TRANSFORM step "%": pipeline "%" does not exist', step->>'name', step->>'pipeline'
                USING ERRCODE = 'undefined_object', HINT = 'Register it with pgmigrate.register_pipeline(definition), or give it inline.';
        END IF;
        c := p.compiled;
        who := p.author;
        who_path := p.author_search_path;
    ELSE
        c := pgmigrate._pipeline_compile(step->'pipeline');
        FOR item IN SELECT * FROM jsonb_array_elements(c->'jsonpaths') LOOP
            BEGIN
                PERFORM (item->>1)::jsonpath;
            EXCEPTION WHEN others THEN
                RAISE EXCEPTION 'invalid pipeline definition at %: "%" is not a jsonpath predicate', item->>0, item->>1
                    USING ERRCODE = 'invalid_parameter_value', DETAIL = SQLERRM;
            END;
        END LOOP;
    END IF;
    PERFORM pgmigrate._pipeline_check_functions(c, who, who_path);
    etype := coalesce(opts->>'entityType', c->>'entityType');
    IF etype IS NULL THEN
        RAISE EXCEPTION 'TRANSFORM step "%": pipeline "%" names no entity type to read', step->>'name', c->>'name'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give "entityType" in the definition or in the step''s options.';
    END IF;
    bs := CASE WHEN (c->>'wholeInput')::boolean THEN 0
               ELSE coalesce((opts->>'batchSize')::int, (c->>'batchSize')::int) END;
    -- A source query: the step options' runs as the migration's author, the definition's
    -- as the pipeline's author.
    query := coalesce(opts->>'query', c->>'query');
    IF opts->>'query' IS NOT NULL THEN
        q_author := author;
        q_path := author_path;
    ELSE
        q_author := who;
        q_path := who_path;
    END IF;
    BEGIN
        INSERT INTO pgmigrate.pipeline_runs (pipeline_id, pipeline_name, entity_type, source_query, query_author, query_search_path,
                                             output_entity_type, options, compiled, batch_size, author, author_search_path, started_by)
        VALUES (p.pipeline_id, c->>'name', etype, query, CASE WHEN query IS NOT NULL THEN q_author END,
                CASE WHEN query IS NOT NULL THEN q_path END, opts->>'outputEntityType', opts, c, bs, who, who_path, author)
        RETURNING run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        -- (pipeline_runs_one_active: a run of the named pipeline is going or being undone;
        -- named when this snapshot sees it.)
        SELECT x.run_id, x.status INTO other, other_status FROM pgmigrate.pipeline_runs x
         WHERE x.pipeline_id = p.pipeline_id AND x.status IN ('RUNNING', 'ROLLING_BACK') LIMIT 1;
        RAISE EXCEPTION 'TRANSFORM step "%": pipeline "%" has a run %', step->>'name', c->>'name',
                coalesce(pg_catalog.format('%s (%s)', other, other_status), 'RUNNING or ROLLING_BACK')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = CASE WHEN other_status = 'ROLLING_BACK'
                              THEN pg_catalog.format('Let it finish first: CALL pgmigrate.rollback_pipeline_batched(%L).', other)
                              WHEN other IS NOT NULL THEN pgmigrate._pipeline_running_hint(c->>'name', other)
                              ELSE 'Let it finish first: CALL pgmigrate.run_pipeline(name) finishes a run a crash left RUNNING, CALL pgmigrate.rollback_pipeline_batched(run_id) a rollback.' END;
    END;
    IF query IS NULL THEN
        UPDATE pgmigrate.pipeline_runs x SET batches_total = pgmigrate._pipeline_plan(run, etype, bs) WHERE x.run_id = run;
    ELSE
        PERFORM pgmigrate._pipeline_source(query, q_author, q_path, etype, NULL);
        UPDATE pgmigrate.pipeline_runs x SET batches_total = pgmigrate._pipeline_plan_query(run, bs) WHERE x.run_id = run;
    END IF;
    LOOP
        res := pgmigrate._pipeline_batch(run, author, author_path);
        EXIT WHEN (res->>'done')::boolean;
    END LOOP;
    RETURN (SELECT x.docs_written FROM pgmigrate.pipeline_runs x WHERE x.run_id = run);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_run_inline(jsonb, regrole, text) FROM PUBLIC;
