-- The migration engine, 0.4.0: entry points that know their caller, steps that run as
-- their author, runs that lock what they read, and cancels the engine did not arm that
-- stop the run instead of being recorded as a failed step.

-- Steps checked and normalised: [{name, type, script|function, parameters, condition, timeout}].
-- A timeout is a whole number of milliseconds from 1 to 2147483647 (fractions round up).
CREATE OR REPLACE FUNCTION pgmigrate.normalize_steps(steps jsonb, what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    s jsonb;
    n int := 0;
    out jsonb := '[]';
    kind text;
    ms numeric;
BEGIN
    IF steps IS NULL OR jsonb_typeof(steps) = 'null' THEN
        RETURN '[]';
    END IF;
    IF jsonb_typeof(steps) <> 'array' THEN
        RAISE EXCEPTION '% must be an array of steps', what USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR s IN SELECT * FROM jsonb_array_elements(steps) LOOP
        n := n + 1;
        IF jsonb_typeof(s) = 'string' THEN
            s := jsonb_build_object('type', 'SQL', 'script', s);
        END IF;
        IF jsonb_typeof(s) <> 'object' THEN
            RAISE EXCEPTION '%[%] must be a step object', what, n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        kind := upper(coalesce(s->>'type', 'SQL'));
        IF kind NOT IN ('SQL', 'FUNCTION', 'VALIDATE') THEN
            RAISE EXCEPTION '%[%] has unknown step type "%"', what, n, s->>'type'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Step types are SQL, FUNCTION and VALIDATE.';
        END IF;
        IF kind IN ('SQL', 'VALIDATE') AND coalesce(jsonb_typeof(s->'script'), '') <> 'string' THEN
            RAISE EXCEPTION '%[%] (%) needs a "script" string', what, n, kind USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF kind = 'FUNCTION' AND coalesce(jsonb_typeof(s->'function'), '') <> 'string' THEN
            RAISE EXCEPTION '%[%] (FUNCTION) needs a "function" name', what, n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'condition' AND coalesce(jsonb_typeof(s->'condition'), '') <> 'string' THEN
            RAISE EXCEPTION '%[%] condition must be SQL text', what, n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'timeout' THEN
            IF coalesce(jsonb_typeof(s->'timeout'), '') <> 'number' THEN
                RAISE EXCEPTION '%[%] timeout must be a number of milliseconds, not %', what, n, s->'timeout'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            ms := ceil((s->>'timeout')::numeric);
            IF ms < 1 OR ms > 2147483647 THEN
                RAISE EXCEPTION '%[%] timeout % is out of range', what, n, s->'timeout'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A step timeout is between 1 and 2147483647 milliseconds.';
            END IF;
            s := s || jsonb_build_object('timeout', ms);
        END IF;
        out := out || jsonb_build_array(s || jsonb_build_object('type', kind, 'name', coalesce(s->>'name', lower(what) || ' step ' || n)));
    END LOOP;
    RETURN out;
END $$;

-- Register: the entry point records the caller as the author.
CREATE FUNCTION pgmigrate._register_migration(definition jsonb, caller regrole, caller_path text) RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    forward jsonb;
    rollback jsonb;
    validation jsonb := '[]';
    rule jsonb;
    deps uuid[] := '{}';
    dep text;
    dep_id uuid;
    new_id uuid;
    prio numeric;
    script_of constant text := $q$SELECT string_agg(coalesce(s->>'script', 'SELECT ' || (s->>'function') || '(...)'), E';\n')
                                    FROM jsonb_array_elements($1) s$q$;
    forward_text text;
    rollback_text text;
BEGIN
    IF definition IS NULL OR jsonb_typeof(definition) <> 'object' THEN
        RAISE EXCEPTION 'a migration definition must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(jsonb_typeof(definition->'name'), '') <> 'string' OR btrim(definition->>'name') = '' THEN
        RAISE EXCEPTION 'a migration definition needs a "name"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF upper(coalesce(definition->>'type', 'SCHEMA')) NOT IN ('SCHEMA', 'DATA', 'HYBRID') THEN
        RAISE EXCEPTION 'migration type must be SCHEMA, DATA or HYBRID, not "%"', definition->>'type' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF definition ? 'priority' THEN
        IF jsonb_typeof(definition->'priority') <> 'number' THEN
            RAISE EXCEPTION 'priority must be an integer, not %', definition->'priority' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        prio := (definition->>'priority')::numeric;
        IF prio <> trunc(prio) OR prio < -2147483648 OR prio > 2147483647 THEN
            RAISE EXCEPTION 'priority must be an integer between -2147483648 and 2147483647, not %', definition->'priority'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    forward := pgmigrate.normalize_steps(definition->'forward', 'forward');
    rollback := pgmigrate.normalize_steps(definition->'rollback', 'rollback');
    IF jsonb_array_length(forward) = 0 THEN
        RAISE EXCEPTION 'migration "%" has no forward steps', definition->>'name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF definition ? 'validation' THEN
        IF jsonb_typeof(definition->'validation') <> 'array' THEN
            RAISE EXCEPTION 'validation must be an array of rules' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR rule IN SELECT * FROM jsonb_array_elements(definition->'validation') LOOP
            validation := validation || jsonb_build_array(CASE jsonb_typeof(rule)
                WHEN 'string' THEN jsonb_build_object('type', 'VALIDATE', 'script', rule)
                WHEN 'object' THEN rule || jsonb_build_object('type', 'VALIDATE', 'script', coalesce(rule->'query', rule->'script'))
                ELSE rule END);
        END LOOP;
        validation := pgmigrate.normalize_steps(validation, 'validation');
    END IF;
    IF definition ? 'dependsOn' AND jsonb_typeof(definition->'dependsOn') <> 'array' THEN
        RAISE EXCEPTION 'dependsOn must be an array of migration names' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR dep IN SELECT jsonb_array_elements_text(coalesce(definition->'dependsOn', '[]')) LOOP
        IF dep IS NULL THEN
            RAISE EXCEPTION 'dependsOn must name migrations, not null' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        -- KEY SHARE: the dependency cannot be deleted before this row commits.
        SELECT migration_id INTO dep_id FROM pgmigrate.knowledge_migrations WHERE migration_name = dep FOR KEY SHARE;
        IF NOT FOUND THEN
            IF dep = definition->>'name' THEN
                RAISE EXCEPTION 'dependency cycle: % -> %', dep, dep USING ERRCODE = 'invalid_parameter_value';
            END IF;
            RAISE EXCEPTION 'migration "%" depends on unknown migration "%"', definition->>'name', dep
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Register dependencies first.';
        END IF;
        deps := deps || dep_id;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pgmigrate.knowledge_migrations WHERE migration_name = definition->>'name') THEN
        RAISE EXCEPTION 'migration "%" already exists', definition->>'name' USING ERRCODE = 'duplicate_object';
    END IF;
    EXECUTE script_of INTO forward_text USING forward;
    EXECUTE script_of INTO rollback_text USING rollback;
    INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, description, migration_type, forward_script,
        rollback_script, validation_script, depends_on, priority, metadata, definition, stored_by, stored_search_path,
        executed_by)
    VALUES (definition->>'name', coalesce(definition->>'version', '1'), definition->>'description',
            upper(coalesce(definition->>'type', 'SCHEMA')), forward_text, rollback_text,
            (SELECT string_agg(v->>'script', E';\n') FROM jsonb_array_elements(validation) v),
            deps, coalesce(prio::int, 100), coalesce(definition->'metadata', '{}'),
            jsonb_build_object('forward', forward, 'rollback', rollback, 'validation', validation),
            caller, caller_path, NULL)
    RETURNING migration_id INTO new_id;
    PERFORM pgmigrate._audit('migration.registered', jsonb_build_object('migration', definition->>'name',
        'migration_id', new_id, 'stored_by', caller::text), caller);
    RETURN new_id;
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.register_migration(definition jsonb) RETURNS uuid
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

-- A migration stored before 0.4.0 (no recorded author), or one whose author is gone,
-- runs only once an admin takes it over: from then on it runs with the adopter's privileges.
CREATE FUNCTION pgmigrate._adopt_migration(name text, caller regrole, caller_path text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
BEGIN
    m := pgmigrate._lock_migration(name);
    UPDATE pgmigrate.knowledge_migrations SET stored_by = caller, stored_search_path = caller_path
     WHERE migration_id = m.migration_id;
    PERFORM pgmigrate._audit('migration.adopted', jsonb_build_object('migration', name,
        'previous_author', m.stored_by::text, 'stored_by', caller::text), caller);
END $$;
CREATE FUNCTION pgmigrate.adopt_migration(name text) RETURNS void
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

-- The migration row, locked against concurrent runners (55P03 for the second).
CREATE FUNCTION pgmigrate._lock_migration(name text) RETURNS pgmigrate.knowledge_migrations
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
BEGIN
    BEGIN
        SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_name = name FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'migration "%" is being run or rolled back by another session', name
            USING ERRCODE = 'lock_not_available', HINT = 'Wait for the other session to finish, then try again.';
    END;
    IF m.migration_id IS NULL THEN
        RAISE EXCEPTION 'migration "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN m;
END $$;

-- Run one step as the migration's author; its effects stay unless the caller's
-- subtransaction is rolled back. A step failure is returned, not raised; a cancel or
-- timeout the engine did not arm (pg_cancel_backend, the session's statement_timeout)
-- is raised and stops the run.
CREATE FUNCTION pgmigrate._run_step(m pgmigrate.knowledge_migrations, step jsonb, step_number int, phase text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := clock_timestamp();
    rows bigint := 0;
    ok text;
    bad_row text;
    fn text;
    status text := 'COMPLETED';
    armed boolean := false;
    fired boolean := false;
    err text;
    state text;
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
    BEGIN
        IF step ? 'condition' THEN
            ok := pgmigrate._query_as(m.stored_by, m.stored_search_path,
                      'SELECT ' || pgmigrate._subquery(step->>'condition') || '::boolean::text');
            IF NOT coalesce(ok::boolean, false) THEN
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
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
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
    RETURN jsonb_build_object('stepName', step->>'name', 'stepNumber', step_number, 'phase', phase, 'status', status,
        'success', status = 'COMPLETED', 'startedAt', started,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3), 'rows', rows)
        || CASE WHEN err IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('error', err, 'sqlstate', state) END;
END $$;

-- Run a list of phases atomically. Returns the step results; `aborted` tells whether
-- a failure rolled every step back (always, unless continue_on_error lets a forward
-- step fail alone; a failed validation always aborts).
CREATE FUNCTION pgmigrate._run_phases(m pgmigrate.knowledge_migrations, phases text[], continue_on_error boolean,
                                      OUT results jsonb, OUT aborted boolean, OUT affected bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    phase text;
    step jsonb;
    r jsonb;
    n int := 0;
BEGIN
    results := '[]';
    aborted := false;
    affected := 0;
    BEGIN
        FOREACH phase IN ARRAY phases LOOP
            FOR step IN SELECT * FROM jsonb_array_elements(pgmigrate.migration_steps(m, phase)) LOOP
                r := pgmigrate._run_step(m, step, n, phase);
                n := n + 1;
                results := results || jsonb_build_array(r);
                affected := affected + coalesce((r->>'rows')::bigint, 0);
                IF r->>'status' = 'FAILED' THEN
                    IF NOT continue_on_error OR phase = 'validation' THEN
                        aborted := true;
                        -- Undo every step of this run, keeping the collected results.
                        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'pg_migrate: migration step failed';
                    END IF;
                END IF;
            END LOOP;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        IF NOT aborted THEN
            RAISE;
        END IF;
        affected := 0;
        SELECT jsonb_agg(CASE WHEN x->>'status' = 'COMPLETED'
                              THEN x || '{"rolledBack": true, "error": "rolled back: a later step failed"}' ELSE x END)
          INTO results FROM jsonb_array_elements(results) x;
    END;
END $$;

-- Record one run: its steps' states, the migration's new status and log entry, an audit row.
CREATE FUNCTION pgmigrate._record_run(m pgmigrate.knowledge_migrations, run_id uuid, results jsonb, new_status text,
                                      event text, extra jsonb, caller regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    INSERT INTO pgmigrate.migration_execution_state (migration_id, run_id, phase, step_number, step_name, step_status,
        started_at, completed_at, error_message, rows_affected, duration_ms)
    SELECT m.migration_id, run_id, r->>'phase', (r->>'stepNumber')::int, r->>'stepName', r->>'status',
           (r->>'startedAt')::timestamptz, (r->>'startedAt')::timestamptz + make_interval(secs => (r->>'durationMs')::numeric / 1000),
           r->>'error', (r->>'rows')::bigint, (r->>'durationMs')::numeric
      FROM jsonb_array_elements(results) r;
    UPDATE pgmigrate.knowledge_migrations
       SET status = new_status,
           completed_at = CASE WHEN new_status IN ('COMPLETED', 'ROLLED_BACK') THEN clock_timestamp() ELSE completed_at END,
           execution_log = execution_log || jsonb_build_array(jsonb_build_object('at', clock_timestamp(), 'event', event,
               'by', caller::text, 'executionId', run_id) || extra)
     WHERE migration_id = m.migration_id;
    PERFORM pgmigrate._audit('migration.' || lower(event),
        jsonb_build_object('migration', m.migration_name, 'executionId', run_id) || extra, caller);
END $$;

-- Options of execute / rollback: known keys with boolean values only.
CREATE FUNCTION pgmigrate._run_options(options jsonb, allowed text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    k text;
BEGIN
    options := coalesce(options, '{}');
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object, not %', options USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown option "%"', k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Options are ' || array_to_string(allowed, ', ') || '.';
        END IF;
        IF jsonb_typeof(options->k) <> 'boolean' THEN
            RAISE EXCEPTION 'option "%" must be true or false, not %', k, options->k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    RETURN options;
END $$;

CREATE FUNCTION pgmigrate._execute_migration(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    run_id uuid := gen_random_uuid();
    started timestamptz := clock_timestamp();
    missing text[];
    report jsonb;
    run record;
    result jsonb;
    failed_step jsonb;
BEGIN
    options := pgmigrate._run_options(options, ARRAY['force', 'continueOnError', 'raise']);
    -- The pre-flight report reads the entity store: before taking the migration's lock.
    IF NOT coalesce((options->>'force')::boolean, false)
       AND EXISTS (SELECT 1 FROM pgmigrate.knowledge_migrations k WHERE k.migration_name = name) THEN
        report := pgmigrate.validate_migration_safety(name);
    END IF;
    m := pgmigrate._lock_migration(name);
    IF m.status NOT IN ('PENDING', 'FAILED', 'ROLLED_BACK') THEN
        RAISE EXCEPTION 'migration "%" is %', name, m.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only PENDING, FAILED or ROLLED_BACK migrations run.';
    END IF;
    -- Dependencies stay COMPLETED until this run commits: a concurrent rollback of one
    -- waits for us (or we for it, and then see it rolled back).
    PERFORM 1 FROM pgmigrate.knowledge_migrations d WHERE d.migration_id = ANY (m.depends_on)
      ORDER BY d.migration_id FOR SHARE;
    SELECT array_agg(coalesce(d.migration_name, dep::text) ORDER BY 1) INTO missing
      FROM unnest(m.depends_on) dep LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep
     WHERE d.status IS DISTINCT FROM 'COMPLETED';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'migration "%" depends on migrations that are not COMPLETED: %', name, array_to_string(missing, ', ')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF report IS NOT NULL AND NOT (report->>'overallSafety')::boolean THEN
        RAISE EXCEPTION 'migration "%" failed its safety checks', name
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = (report->'criticalIssues')::text,
                  HINT = 'See pgmigrate.validate_migration_safety(name); options {"force": true} runs it anyway.';
    END IF;
    UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING', started_at = started, completed_at = NULL,
           executed_by = caller::text WHERE migration_id = m.migration_id;
    run := pgmigrate._run_phases(m, ARRAY['forward', 'validation'], coalesce((options->>'continueOnError')::boolean, false));
    SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' LIMIT 1;
    IF run.aborted THEN
        SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' ORDER BY (r->>'stepNumber')::int DESC LIMIT 1;
    END IF;
    result := jsonb_build_object('executionId', run_id, 'migration', name, 'success', NOT run.aborted,
        'result', run.results, 'affectedRows', run.affected,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
    PERFORM pgmigrate._record_run(m, run_id, run.results,
        CASE WHEN run.aborted THEN 'FAILED' ELSE 'COMPLETED' END,
        CASE WHEN run.aborted THEN 'FAILED' ELSE 'COMPLETED' END,
        jsonb_strip_nulls(jsonb_build_object('failedStep', failed_step->>'stepName', 'error', failed_step->>'error',
            'affectedRows', run.affected, 'durationMs', result->'durationMs')), caller);
    IF run.aborted AND coalesce((options->>'raise')::boolean, false) THEN
        RAISE EXCEPTION 'migration "%" failed at step "%": %', name, failed_step->>'stepName', failed_step->>'error'
            USING ERRCODE = coalesce(failed_step->>'sqlstate', 'P0001');
    END IF;
    RETURN result;
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.execute_migration(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

CREATE FUNCTION pgmigrate._execute_pending_migrations(options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    p record;
    r jsonb;
    results jsonb := '[]';
BEGIN
    options := pgmigrate._run_options(options, ARRAY['force', 'continueOnError', 'raise']);
    FOR p IN SELECT * FROM pgmigrate.migration_plan() LOOP
        r := pgmigrate._execute_migration(p.migration_name, options, caller, caller_path);
        results := results || jsonb_build_array(r);
        EXIT WHEN NOT (r->>'success')::boolean;
    END LOOP;
    RETURN jsonb_build_object('success', NOT EXISTS (SELECT 1 FROM jsonb_array_elements(results) x WHERE NOT (x->>'success')::boolean),
                              'executed', jsonb_array_length(results), 'results', results);
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.execute_pending_migrations(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

CREATE FUNCTION pgmigrate._rollback_migration(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    run_id uuid := gen_random_uuid();
    started timestamptz := clock_timestamp();
    dependents text[];
    running text[];
    cascaded jsonb := '[]';
    dep text;
    run record;
    failed_step jsonb;
    result jsonb;
BEGIN
    options := pgmigrate._run_options(options, ARRAY['cascade', 'raise']);
    m := pgmigrate._lock_migration(name);
    IF m.status <> 'COMPLETED' THEN
        RAISE EXCEPTION 'migration "%" is %, only COMPLETED migrations roll back', name, m.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Every migration that depends on this one, directly or not.
    WITH RECURSIVE dependent(id) AS (
        SELECT d.migration_id FROM pgmigrate.knowledge_migrations d WHERE m.migration_id = ANY (d.depends_on)
        UNION
        SELECT d.migration_id FROM pgmigrate.knowledge_migrations d JOIN dependent ON dependent.id = ANY (d.depends_on))
    SELECT array_agg(k.migration_name ORDER BY o.ord DESC) FILTER (WHERE k.status = 'COMPLETED'),
           array_agg(k.migration_name ORDER BY k.migration_name) FILTER (WHERE k.status = 'RUNNING')
      INTO dependents, running
      FROM dependent JOIN pgmigrate.knowledge_migrations k ON k.migration_id = dependent.id
      JOIN unnest(pgmigrate.migration_order(pgmigrate.migration_graph())) WITH ORDINALITY AS o(n, ord) ON o.n = k.migration_name;
    IF running IS NOT NULL THEN
        RAISE EXCEPTION 'migration "%" cannot roll back while its dependent % is running', name, array_to_string(running, ', ')
            USING ERRCODE = 'object_in_use', HINT = 'A step must not roll back a migration its own migration depends on.';
    END IF;
    IF dependents IS NOT NULL THEN
        IF NOT coalesce((options->>'cascade')::boolean, false) THEN
            RAISE EXCEPTION 'migration "%" has COMPLETED dependents: %', name, array_to_string(dependents, ', ')
                USING ERRCODE = 'dependent_objects_still_exist', HINT = 'Roll them back first, or pass {"cascade": true}.';
        END IF;
        FOREACH dep IN ARRAY dependents LOOP
            result := pgmigrate._rollback_migration(dep, options - 'cascade', caller, caller_path);
            cascaded := cascaded || jsonb_build_array(result);
            IF NOT (result->>'success')::boolean THEN
                RAISE EXCEPTION 'rolling back dependent migration "%" failed: %', dep, result
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END LOOP;
    END IF;
    IF jsonb_array_length(pgmigrate.migration_steps(m, 'rollback')) = 0 THEN
        RAISE EXCEPTION 'migration "%" has no rollback steps', name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING' WHERE migration_id = m.migration_id;
    run := pgmigrate._run_phases(m, ARRAY['rollback'], false);
    SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' LIMIT 1;
    result := jsonb_build_object('executionId', run_id, 'migration', name, 'success', failed_step IS NULL,
        'result', run.results, 'affectedRows', run.affected, 'cascaded', cascaded,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
    PERFORM pgmigrate._record_run(m, run_id, run.results,
        CASE WHEN failed_step IS NULL THEN 'ROLLED_BACK' ELSE 'COMPLETED' END,
        CASE WHEN failed_step IS NULL THEN 'ROLLED_BACK' ELSE 'ROLLBACK_FAILED' END,
        jsonb_strip_nulls(jsonb_build_object('failedStep', failed_step->>'stepName', 'error', failed_step->>'error')), caller);
    IF failed_step IS NOT NULL AND coalesce((options->>'raise')::boolean, false) THEN
        RAISE EXCEPTION 'rollback of migration "%" failed at step "%": %', name, failed_step->>'stepName', failed_step->>'error'
            USING ERRCODE = coalesce(failed_step->>'sqlstate', 'P0001');
    END IF;
    RETURN result;
END $$;

CREATE OR REPLACE FUNCTION pgmigrate.rollback_migration(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

-- The old internals: replaced by the owner-only _run_step, _run_phases, _record_run, _lock_migration.
DROP FUNCTION pgmigrate.run_step(jsonb, integer, text);
DROP FUNCTION pgmigrate.run_phases(pgmigrate.knowledge_migrations, text[], boolean);
DROP FUNCTION pgmigrate.record_run(pgmigrate.knowledge_migrations, uuid, jsonb, text, text, jsonb);
DROP FUNCTION pgmigrate.lock_migration(text);

REVOKE EXECUTE ON FUNCTION pgmigrate._register_migration(jsonb, regrole, text),
    pgmigrate._adopt_migration(text, regrole, text), pgmigrate._lock_migration(text),
    pgmigrate._run_step(pgmigrate.knowledge_migrations, jsonb, integer, text),
    pgmigrate._run_phases(pgmigrate.knowledge_migrations, text[], boolean),
    pgmigrate._record_run(pgmigrate.knowledge_migrations, uuid, jsonb, text, text, jsonb, regrole),
    pgmigrate._execute_migration(text, jsonb, regrole, text),
    pgmigrate._execute_pending_migrations(jsonb, regrole, text),
    pgmigrate._rollback_migration(text, jsonb, regrole, text),
    pgmigrate._audit(text, jsonb, regrole),
    pgmigrate.adopt_migration(text)
    FROM PUBLIC;
