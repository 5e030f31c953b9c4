-- Run one step as the migration's author; its effects stay unless the caller's
-- subtransaction is rolled back. A step failure is returned, not raised; a cancel or
-- timeout the engine did not arm (pg_cancel_backend, the session's statement_timeout)
-- is raised and stops the run.

CREATE OR REPLACE FUNCTION pgmigrate._run_step(m pgmigrate.knowledge_migrations, step jsonb, step_number int, phase text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := clock_timestamp();
    prior_lock_timeout text := current_setting('lock_timeout');
    rows bigint := 0;
    ok text;
    bad_row text;
    fn text;
    status text := 'COMPLETED';
    armed boolean := false;
    fired boolean := false;
    err text;
    state text;
    hint text;
    detail text;
BEGIN
    IF m.stored_by IS NULL THEN
        RAISE EXCEPTION 'migration "%" has no recorded author', m.migration_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'It was stored before pg_migrate 0.4.0 recorded who stores migrations.',
                  HINT = 'Review its steps, then SELECT pgmigrate.adopt_migration(name): it will run with your privileges.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE oid = m.stored_by) THEN
        RAISE EXCEPTION 'the role that stored migration "%" no longer exists', m.migration_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Review its steps, then SELECT pgmigrate.adopt_migration(name): it will run with your privileges.';
    END IF;
    IF step ? 'lockTimeout' THEN
        -- For this step only: put back before returning (a SET LOCAL inside a function
        -- outlives it unless that setting is in its SET clause; before 0.6.2 the caller's
        -- transaction went on with the step's lock_timeout).
        PERFORM set_config('lock_timeout', (step->>'lockTimeout') || 'ms', true);
    END IF;
    BEGIN
        IF step ? 'condition' THEN
            ok := pgmigrate._query_as(m.stored_by, m.stored_search_path,
                      'SELECT ' || pgmigrate._subquery(step->>'condition') || '::boolean::text');
            IF NOT coalesce(ok::boolean, false) THEN
                PERFORM set_config('lock_timeout', prior_lock_timeout, true);
                RETURN jsonb_build_object('stepName', step->>'name', 'stepNumber', step_number, 'phase', phase, 'status', 'SKIPPED',
                                          'success', true, 'startedAt', started, 'durationMs', 0, 'rows', 0);
            END IF;
        END IF;
        IF step ? 'timeout' THEN
            PERFORM pgmigrate.set_step_timeout((step->>'timeout')::int);
            armed := true;
        END IF;
        CASE step->>'type'
        WHEN 'SQL' THEN
            rows := pgmigrate._exec_as(m.stored_by, m.stored_search_path, step->>'script');
        WHEN 'FUNCTION' THEN
            -- The name resolves as the author sees it, and is spliced only in its quoted form.
            fn := pgmigrate._query_as(m.stored_by, m.stored_search_path,
                      format('SELECT %L::pg_catalog.regproc::pg_catalog.text', step->>'function'));
            rows := pgmigrate._exec_as(m.stored_by, m.stored_search_path,
                      format('SELECT %s(%s)', fn, CASE WHEN step ? 'parameters' THEN format('%L::jsonb', step->'parameters') ELSE '' END));
            rows := 0;
        WHEN 'TRANSFORM' THEN
            rows := pgmigrate._pipeline_run_inline(step, m.stored_by, m.stored_search_path);
        WHEN 'VALIDATE' THEN
            -- Passes when every row is one boolean true (or there is no row).
            bad_row := pgmigrate._query_as(m.stored_by, m.stored_search_path,
                'SELECT pg_catalog.to_jsonb(q)::pg_catalog.text FROM ' || pgmigrate._subquery(step->>'script') || ' AS q
                  WHERE NOT coalesce((SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=) 1
                                             AND pg_catalog.bool_and(v OPERATOR(pg_catalog.=) ''true''::pg_catalog.jsonb)
                                        FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(q)) AS e(k, v)), false)
                  LIMIT 1');
            IF bad_row IS NOT NULL THEN
                RAISE EXCEPTION 'validation failed: %', bad_row USING ERRCODE = 'check_violation';
            END IF;
        END CASE;
        IF armed THEN
            PERFORM pgmigrate.set_step_timeout(0);
        END IF;
    EXCEPTION WHEN query_canceled OR others THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
        IF armed THEN
            fired := pgmigrate.step_timeout_fired();
            PERFORM pgmigrate.set_step_timeout(0);
        END IF;
        IF state = '57014' AND NOT fired THEN
            RAISE;
        END IF;
        IF fired THEN
            err := format('step timeout of %s ms exceeded', step->>'timeout');
        END IF;
        status := 'FAILED';
    END;
    PERFORM set_config('lock_timeout', prior_lock_timeout, true);
    RETURN jsonb_build_object('stepName', step->>'name', 'stepNumber', step_number, 'phase', phase, 'status', status,
        'success', status = 'COMPLETED', 'startedAt', started,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3), 'rows', rows)
        || CASE WHEN err IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('error', err, 'sqlstate', state) END
        -- (What the error's DETAIL and HINT said, for the caller to pass on. A DETAIL can show
        -- values of the author's tables, "Key (ssn)=(...) already exists": passed on only to a
        -- session whose login role is, or is a member of, the author, as PostgreSQL shows key
        -- values only to who can read them.)
        || CASE WHEN err IS NULL OR fired THEN '{}'::jsonb
                ELSE jsonb_strip_nulls(jsonb_build_object(
                         'detail', CASE WHEN pg_has_role(session_user, m.stored_by, 'MEMBER') THEN nullif(detail, '') END,
                         'hint', nullif(hint, ''))) END;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._run_step(pgmigrate.knowledge_migrations, jsonb, integer, text) FROM PUBLIC;
