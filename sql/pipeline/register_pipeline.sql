-- register_pipeline(definition) → pipeline id. The caller becomes the pipeline's author:
-- its functions, lookups and joins run with the caller's privileges and search_path.
-- Re-registering a name replaces it (only its author, or a member of the author's role).

-- The functions a compiled pipeline calls, as `who` resolves them: each must exist and
-- return one value of the type its step reads. Checked at registration and again when a
-- run starts or resumes (a function dropped and made again as RETURNS SETOF after
-- registration dropped or duplicated documents at random).
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_check_functions(c jsonb, who regrole, who_path text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    item jsonb;
    fn oid;
BEGIN
    FOR item IN SELECT * FROM jsonb_array_elements(c->'functions') LOOP
        BEGIN
            fn := pgmigrate._query_as(who, who_path,
                format('SELECT %L::pg_catalog.regprocedure::pg_catalog.oid::pg_catalog.text', (item->>1) || '(' || (item->>2) || ')'))::oid;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'invalid pipeline definition at %: function %(%) does not exist', item->>0, item->>1, item->>2
                USING ERRCODE = 'undefined_function', DETAIL = SQLERRM,
                      HINT = CASE item->>2 WHEN 'jsonb[]' THEN 'A batch CUSTOM function takes jsonb[] and returns jsonb[].'
                                 ELSE 'Transformation and CUSTOM functions take jsonb and return jsonb; name them as your search_path resolves them, or schema-qualified.' END;
        END;
        IF NOT has_function_privilege(who, fn, 'EXECUTE') THEN
            RAISE EXCEPTION 'invalid pipeline definition at %: % may not execute function %(%)', item->>0, who, item->>1, item->>2
                USING ERRCODE = 'insufficient_privilege', HINT = 'GRANT EXECUTE on it to the pipeline''s author.';
        END IF;
        -- One value back per call (a set-returning function made one of its rows win at
        -- random), of the type the step reads.
        IF EXISTS (SELECT 1 FROM pg_proc x WHERE x.oid = fn AND (x.proretset OR x.prorettype <> (item->>2)::regtype)) THEN
            RAISE EXCEPTION 'invalid pipeline definition at %: function %(%) must return one %, not %', item->>0, item->>1, item->>2, item->>2,
                (SELECT CASE WHEN x.proretset THEN 'SETOF ' ELSE '' END || x.prorettype::regtype::text FROM pg_proc x WHERE x.oid = fn)
                USING ERRCODE = 'invalid_function_definition';
        END IF;
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_check_functions(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate._register_pipeline(definition jsonb, caller regrole, caller_path text) RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    c jsonb;
    item jsonb;
    old pgmigrate.pipelines;
    new_id uuid;
BEGIN
    IF definition IS NULL THEN
        RAISE EXCEPTION 'a pipeline definition is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    c := pgmigrate._pipeline_compile(definition);
    -- Every predicate is PostgreSQL's own jsonpath.
    FOR item IN SELECT * FROM jsonb_array_elements(c->'jsonpaths') LOOP
        BEGIN
            PERFORM (item->>1)::jsonpath;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'invalid pipeline definition at %: "%" is not a jsonpath predicate', item->>0, item->>1
                USING ERRCODE = 'invalid_parameter_value', DETAIL = SQLERRM,
                      HINT = 'Conditions are SQL/JSON path predicates, e.g. $.age >= 18 && $.country == "NL".';
        END;
    END LOOP;
    -- Functions and tables resolve as the author sees them.
    PERFORM pgmigrate._pipeline_check_functions(c, caller, caller_path);
    FOR item IN SELECT * FROM jsonb_array_elements(c->'tables') LOOP
        BEGIN
            PERFORM pgmigrate._query_as(caller, caller_path, format('SELECT %L::pg_catalog.regclass::pg_catalog.text', item->>1));
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'invalid pipeline definition at %: table % does not exist', item->>0, item->>1
                USING ERRCODE = 'undefined_table', DETAIL = SQLERRM;
        END;
    END LOOP;
    IF c->'validation'->>'schemaVersion' IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pgmigrate.schema_versions v WHERE v.version_number = c->'validation'->>'schemaVersion') THEN
        RAISE EXCEPTION 'invalid pipeline definition at $.validation.schemaVersion: schema version "%" does not exist',
              c->'validation'->>'schemaVersion'
            USING ERRCODE = 'undefined_object', HINT = 'Name a registered version (pgmigrate.schema_versions.version_number), or leave it out to validate against the active one.';
    END IF;
    SELECT * INTO old FROM pgmigrate.pipelines p WHERE p.name = c->>'name' FOR UPDATE;
    IF FOUND THEN
        IF NOT pg_has_role(caller, old.author, 'MEMBER') THEN
            RAISE EXCEPTION 'pipeline "%" belongs to %', old.name, old.author
                USING ERRCODE = 'insufficient_privilege', HINT = 'Only its author (or a member of that role) can replace a pipeline.';
        END IF;
        UPDATE pgmigrate.pipelines p SET definition = _register_pipeline.definition, compiled = c, author = caller,
               author_search_path = caller_path, updated_at = now()
         WHERE p.pipeline_id = old.pipeline_id;
        new_id := old.pipeline_id;
    ELSE
        INSERT INTO pgmigrate.pipelines (name, definition, compiled, author, author_search_path)
        VALUES (c->>'name', definition, c, caller, caller_path) RETURNING pipeline_id INTO new_id;
    END IF;
    PERFORM pgmigrate._audit(CASE WHEN old.pipeline_id IS NULL THEN 'pipeline.registered' ELSE 'pipeline.replaced' END,
        jsonb_build_object('pipeline', c->>'name', 'pipeline_id', new_id, 'author', caller::text), caller);
    RETURN new_id;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._register_pipeline(jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.register_pipeline(definition jsonb) RETURNS uuid
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.register_pipeline(jsonb) FROM PUBLIC;
