-- The migration's steps of a phase, run inside a color: written unqualified for the live
-- schema, they run with search_path = that color, as the migration's author (stored SQL
-- runs with the privileges of whoever stored it). SQL, FUNCTION and VALIDATE steps, with
-- their conditions. Raises the step's error, naming the step.
CREATE OR REPLACE FUNCTION pgmigrate._bg_run_steps(m pgmigrate.knowledge_migrations, phase text, color text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    step jsonb;
    path text := quote_ident(color);
    n integer := 0;
    ok text;
    fn text;
    bad_row text;
    err text;
    state text;
BEGIN
    FOR step IN SELECT s FROM jsonb_array_elements(pgmigrate.normalize_steps(pgmigrate.migration_steps(m, phase), phase)) s LOOP
        n := n + 1;
        BEGIN
            IF step ? 'condition' THEN
                ok := pgmigrate._query_as(m.stored_by, path, 'SELECT ' || pgmigrate._subquery(step->>'condition') || '::boolean::text');
                CONTINUE WHEN NOT coalesce(ok::boolean, false);
            END IF;
            CASE step->>'type'
            WHEN 'SQL' THEN
                PERFORM pgmigrate._exec_as(m.stored_by, path, step->>'script');
            WHEN 'FUNCTION' THEN
                fn := pgmigrate._query_as(m.stored_by, path, format('SELECT %L::pg_catalog.regproc::pg_catalog.text', step->>'function'));
                PERFORM pgmigrate._exec_as(m.stored_by, path,
                          format('SELECT %s(%s)', fn, CASE WHEN step ? 'parameters' THEN format('%L::jsonb', step->'parameters') ELSE '' END));
            WHEN 'VALIDATE' THEN
                bad_row := pgmigrate._query_as(m.stored_by, path,
                    'SELECT pg_catalog.to_jsonb(q)::pg_catalog.text FROM ' || pgmigrate._subquery(step->>'script') || ' AS q
                      WHERE NOT coalesce((SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=) 1
                                                 AND pg_catalog.bool_and(v OPERATOR(pg_catalog.=) ''true''::pg_catalog.jsonb)
                                            FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(q)) AS e(k, v)), false)
                      LIMIT 1');
                IF bad_row IS NOT NULL THEN
                    RAISE EXCEPTION 'validation failed: %', bad_row USING ERRCODE = 'check_violation';
                END IF;
            END CASE;
        EXCEPTION WHEN query_canceled THEN
            RAISE;
        WHEN others THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
            RAISE EXCEPTION 'step "%" of migration "%" failed in %: %', step->>'name', m.migration_name, color, err
                USING ERRCODE = state;
        END;
    END LOOP;
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_run_steps(pgmigrate.knowledge_migrations, text, text) FROM PUBLIC;
