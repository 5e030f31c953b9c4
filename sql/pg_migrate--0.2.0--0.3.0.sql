-- pg_migrate 0.2.0 -> 0.3.0: the migration engine and the pre-flight safety report.
-- Fresh installs run this file too, so it is the one definition of these objects.

-- A migration registered from a definition keeps it; plain-script rows have none.
ALTER TABLE pgmigrate.knowledge_migrations ADD COLUMN definition jsonb
    CONSTRAINT definition_is_object CHECK (definition IS NULL OR jsonb_typeof(definition) = 'object');
ALTER TABLE pgmigrate.migration_execution_state
    ADD COLUMN run_id uuid,
    ADD COLUMN phase text NOT NULL DEFAULT 'forward' CONSTRAINT valid_phase CHECK (phase IN ('forward', 'rollback', 'validation')),
    ADD COLUMN rows_affected bigint,
    ADD COLUMN duration_ms numeric;
CREATE INDEX migration_execution_state_run_idx ON pgmigrate.migration_execution_state (run_id);

-- Native helpers added in 0.3.0.
CREATE FUNCTION pgmigrate.migration_order(graph jsonb) RETURNS text[] IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'migration_order_wrapper';
CREATE FUNCTION pgmigrate.analyze_sql(script text) RETURNS jsonb STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'analyze_sql_wrapper';
CREATE FUNCTION pgmigrate.document_violations(entity_type text, content jsonb) RETURNS text[] STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'document_violations_wrapper';
CREATE FUNCTION pgmigrate.set_step_timeout(ms integer) RETURNS void VOLATILE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'set_step_timeout_wrapper';

-- Status moves through a state machine; RUNNING only ever exists inside the running
-- transaction, so a crash or cancel leaves the previous status.
CREATE FUNCTION pgmigrate.migration_status_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF OLD.status = NEW.status
       OR (NEW.status = 'RUNNING' AND OLD.status IN ('PENDING', 'FAILED', 'ROLLED_BACK', 'COMPLETED'))
       OR (OLD.status = 'RUNNING' AND NEW.status IN ('COMPLETED', 'FAILED', 'ROLLED_BACK')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'migration "%" cannot go from % to %', OLD.migration_name, OLD.status, NEW.status
        USING ERRCODE = 'check_violation', HINT = 'Use pgmigrate.execute_migration and pgmigrate.rollback_migration.';
END $$;
CREATE TRIGGER knowledge_migrations_status BEFORE UPDATE OF status ON pgmigrate.knowledge_migrations
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.migration_status_guard();

-- The dependency graph of every registered migration, by name.
CREATE FUNCTION pgmigrate.migration_graph() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', m.migration_name, 'priority', m.priority,
               'depends_on', (SELECT coalesce(jsonb_agg(coalesce(d.migration_name, dep::text)), '[]')
                                FROM unnest(m.depends_on) AS dep
                                LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep))), '[]')
      FROM pgmigrate.knowledge_migrations m
$$;

-- However rows arrive (register_migration or a plain INSERT), the graph stays acyclic
-- and every dependency exists.
CREATE FUNCTION pgmigrate.check_migration_graph() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM pgmigrate.migration_order(pgmigrate.migration_graph());
    RETURN NULL;
END $$;
CREATE TRIGGER knowledge_migrations_graph AFTER INSERT OR UPDATE OF depends_on ON pgmigrate.knowledge_migrations
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.check_migration_graph();

-- A definition's steps checked and normalised: [{name, type, script|function, parameters, condition, timeout}].
CREATE FUNCTION pgmigrate.normalize_steps(steps jsonb, what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    s jsonb;
    n int := 0;
    out jsonb := '[]';
    kind text;
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
        IF s ? 'condition' AND jsonb_typeof(s->'condition') <> 'string' THEN
            RAISE EXCEPTION '%[%] condition must be SQL text', what, n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF s ? 'timeout' AND (jsonb_typeof(s->'timeout') <> 'number' OR (s->>'timeout')::numeric <= 0) THEN
            RAISE EXCEPTION '%[%] timeout must be a positive number of milliseconds', what, n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        out := out || jsonb_build_array(s || jsonb_build_object('type', kind, 'name', coalesce(s->>'name', lower(what) || ' step ' || n)));
    END LOOP;
    RETURN out;
END $$;

CREATE FUNCTION pgmigrate.register_migration(definition jsonb) RETURNS uuid
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
    IF definition ? 'priority' AND (jsonb_typeof(definition->'priority') <> 'number' OR (definition->>'priority')::numeric <> trunc((definition->>'priority')::numeric)) THEN
        RAISE EXCEPTION 'priority must be an integer' USING ERRCODE = 'invalid_parameter_value';
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
                ELSE rule || jsonb_build_object('type', 'VALIDATE', 'script', coalesce(rule->'query', rule->'script')) END);
        END LOOP;
        validation := pgmigrate.normalize_steps(validation, 'validation');
    END IF;
    IF definition ? 'dependsOn' AND jsonb_typeof(definition->'dependsOn') <> 'array' THEN
        RAISE EXCEPTION 'dependsOn must be an array of migration names' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR dep IN SELECT jsonb_array_elements_text(coalesce(definition->'dependsOn', '[]')) LOOP
        SELECT migration_id INTO dep_id FROM pgmigrate.knowledge_migrations WHERE migration_name = dep;
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
        rollback_script, validation_script, depends_on, priority, metadata, definition)
    VALUES (definition->>'name', coalesce(definition->>'version', '1'), definition->>'description',
            upper(coalesce(definition->>'type', 'SCHEMA')), forward_text, rollback_text,
            (SELECT string_agg(v->>'script', E';\n') FROM jsonb_array_elements(validation) v),
            deps, coalesce((definition->>'priority')::int, 100), coalesce(definition->'metadata', '{}'),
            jsonb_build_object('forward', forward, 'rollback', rollback, 'validation', validation))
    RETURNING migration_id INTO new_id;
    PERFORM pgmigrate.audit('migration.registered', jsonb_build_object('migration', definition->>'name', 'migration_id', new_id));
    RETURN new_id;
END $$;

-- A batch of definitions that may depend on each other, registered in dependency order.
CREATE FUNCTION pgmigrate.register_migrations(definitions jsonb)
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

-- The steps of a migration for a phase: from its definition, or its plain scripts.
CREATE FUNCTION pgmigrate.migration_steps(m pgmigrate.knowledge_migrations, phase text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN m.definition IS NOT NULL THEN coalesce(m.definition->phase, '[]')
        WHEN phase = 'forward' THEN jsonb_build_array(jsonb_build_object('name', 'forward_script', 'type', 'SQL', 'script', m.forward_script))
        WHEN phase = 'rollback' AND m.rollback_script IS NOT NULL THEN jsonb_build_array(jsonb_build_object('name', 'rollback_script', 'type', 'SQL', 'script', m.rollback_script))
        WHEN phase = 'validation' AND m.validation_script IS NOT NULL THEN jsonb_build_array(jsonb_build_object('name', 'validation_script', 'type', 'VALIDATE', 'script', m.validation_script))
        ELSE '[]'::jsonb END
$$;

-- Run one step; its effects stay unless the caller's subtransaction is rolled back.
-- Returns the step result; a failure is returned, not raised.
CREATE FUNCTION pgmigrate.run_step(step jsonb, step_number int, phase text) RETURNS jsonb
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
-- SECURITY INVOKER without a pinned search_path: scripts run as the caller wrote them.
DECLARE
    started timestamptz := clock_timestamp();
    rows bigint := 0;
    ok boolean;
    first_row jsonb;
    status text := 'COMPLETED';
    err text;
    state text;
BEGIN
    BEGIN
        IF step ? 'condition' THEN
            EXECUTE 'SELECT (' || (step->>'condition') || ')::boolean' INTO ok;
            IF NOT coalesce(ok, false) THEN
                RETURN jsonb_build_object('stepName', step->>'name', 'stepNumber', step_number, 'phase', phase, 'status', 'SKIPPED',
                                          'success', true, 'startedAt', started, 'durationMs', 0, 'rows', 0);
            END IF;
        END IF;
        IF step ? 'timeout' THEN
            PERFORM pgmigrate.set_step_timeout((step->>'timeout')::numeric::int);
        END IF;
        CASE step->>'type'
        WHEN 'SQL' THEN
            EXECUTE step->>'script';
            GET DIAGNOSTICS rows = ROW_COUNT;
        WHEN 'FUNCTION' THEN
            IF step ? 'parameters' THEN
                EXECUTE format('SELECT %s($1)', (step->>'function')::regproc) USING step->'parameters';
            ELSE
                EXECUTE format('SELECT %s()', (step->>'function')::regproc);
            END IF;
        WHEN 'VALIDATE' THEN
            -- Passes when the query returns no row, or one boolean true.
            EXECUTE 'SELECT to_jsonb(q) FROM (' || (step->>'script') || ') AS q LIMIT 1' INTO first_row;
            IF first_row IS NOT NULL AND NOT (
                   (SELECT count(*) FROM jsonb_object_keys(first_row)) = 1
                   AND (SELECT v FROM jsonb_each(first_row) AS e(k, v)) = 'true'::jsonb) THEN
                RAISE EXCEPTION 'validation failed: %', first_row USING ERRCODE = 'check_violation';
            END IF;
        END CASE;
        IF step ? 'timeout' THEN
            PERFORM pgmigrate.set_step_timeout(0);
        END IF;
    EXCEPTION WHEN query_canceled OR others THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
        IF step ? 'timeout' THEN
            PERFORM pgmigrate.set_step_timeout(0);
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
CREATE FUNCTION pgmigrate.run_phases(m pgmigrate.knowledge_migrations, phases text[], continue_on_error boolean,
                                     OUT results jsonb, OUT aborted boolean, OUT affected bigint)
LANGUAGE plpgsql AS $$
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
                r := pgmigrate.run_step(step, n, phase);
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
        -- Completed steps were undone with the run: their records say so.
        SELECT jsonb_agg(CASE WHEN x->>'status' = 'COMPLETED'
                              THEN x || '{"rolledBack": true, "error": "rolled back: a later step failed"}' ELSE x END)
          INTO results FROM jsonb_array_elements(results) x;
    END;
END $$;

-- Record one run: its steps' states, the migration's new status and log entry, an audit row.
CREATE FUNCTION pgmigrate.record_run(m pgmigrate.knowledge_migrations, run_id uuid, results jsonb, new_status text,
                                     event text, extra jsonb) RETURNS void
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
               'by', current_user, 'executionId', run_id) || extra)
     WHERE migration_id = m.migration_id;
    PERFORM pgmigrate.audit('migration.' || lower(event), jsonb_build_object('migration', m.migration_name, 'executionId', run_id) || extra);
END $$;

-- The migration row, locked against concurrent runners (55P03 for the second).
CREATE FUNCTION pgmigrate.lock_migration(name text) RETURNS pgmigrate.knowledge_migrations
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
BEGIN
    BEGIN
        SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_name = name FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'migration "%" is being run or rolled back by another session', name
            USING ERRCODE = 'lock_not_available';
    END;
    IF m.migration_id IS NULL THEN
        RAISE EXCEPTION 'migration "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN m;
END $$;

CREATE FUNCTION pgmigrate.execute_migration(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql AS $$
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
    options := coalesce(options, '{}');
    m := pgmigrate.lock_migration(name);
    IF m.status NOT IN ('PENDING', 'FAILED', 'ROLLED_BACK') THEN
        RAISE EXCEPTION 'migration "%" is %', name, m.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only PENDING, FAILED or ROLLED_BACK migrations run.';
    END IF;
    SELECT array_agg(coalesce(d.migration_name, dep::text) ORDER BY 1) INTO missing
      FROM unnest(m.depends_on) dep LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep
     WHERE d.status IS DISTINCT FROM 'COMPLETED';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'migration "%" depends on migrations that are not COMPLETED: %', name, array_to_string(missing, ', ')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NOT coalesce((options->>'force')::boolean, false) THEN
        report := pgmigrate.validate_migration_safety(name);
        IF NOT (report->>'overallSafety')::boolean THEN
            RAISE EXCEPTION 'migration "%" failed its safety checks', name
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = (report->'criticalIssues')::text,
                      HINT = 'See pgmigrate.validate_migration_safety(name); options {"force": true} runs it anyway.';
        END IF;
    END IF;
    UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING', started_at = started, completed_at = NULL,
           executed_by = current_user WHERE migration_id = m.migration_id;
    run := pgmigrate.run_phases(m, ARRAY['forward', 'validation'], coalesce((options->>'continueOnError')::boolean, false));
    SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' LIMIT 1;
    IF run.aborted THEN
        SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' ORDER BY (r->>'stepNumber')::int DESC LIMIT 1;
    END IF;
    result := jsonb_build_object('executionId', run_id, 'migration', name, 'success', NOT run.aborted,
        'result', run.results, 'affectedRows', run.affected,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
    PERFORM pgmigrate.record_run(m, run_id, run.results,
        CASE WHEN run.aborted THEN 'FAILED' ELSE 'COMPLETED' END,
        CASE WHEN run.aborted THEN 'FAILED' ELSE 'COMPLETED' END,
        jsonb_strip_nulls(jsonb_build_object('failedStep', failed_step->>'stepName', 'error', failed_step->>'error',
            'affectedRows', run.affected, 'durationMs', result->'durationMs')));
    IF run.aborted AND coalesce((options->>'raise')::boolean, false) THEN
        RAISE EXCEPTION 'migration "%" failed at step "%": %', name, failed_step->>'stepName', failed_step->>'error'
            USING ERRCODE = coalesce(failed_step->>'sqlstate', 'P0001');
    END IF;
    RETURN result;
END $$;

-- PENDING migrations in execution order.
CREATE FUNCTION pgmigrate.migration_plan()
RETURNS TABLE (step integer, migration_name text, priority integer, depends_on text[], status text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (row_number() OVER (ORDER BY o.ord))::int, m.migration_name, m.priority,
           ARRAY(SELECT d.migration_name FROM unnest(m.depends_on) dep JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep ORDER BY 1),
           m.status
      FROM unnest(pgmigrate.migration_order(pgmigrate.migration_graph())) WITH ORDINALITY AS o(name, ord)
      JOIN pgmigrate.knowledge_migrations m ON m.migration_name = o.name
     WHERE m.status = 'PENDING'
     ORDER BY o.ord
$$;

CREATE FUNCTION pgmigrate.execute_pending_migrations(options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    p record;
    r jsonb;
    results jsonb := '[]';
BEGIN
    FOR p IN SELECT * FROM pgmigrate.migration_plan() LOOP
        r := pgmigrate.execute_migration(p.migration_name, options);
        results := results || jsonb_build_array(r);
        EXIT WHEN NOT (r->>'success')::boolean;
    END LOOP;
    RETURN jsonb_build_object('success', NOT EXISTS (SELECT 1 FROM jsonb_array_elements(results) x WHERE NOT (x->>'success')::boolean),
                              'executed', jsonb_array_length(results), 'results', results);
END $$;

CREATE FUNCTION pgmigrate.rollback_migration(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    run_id uuid := gen_random_uuid();
    started timestamptz := clock_timestamp();
    dependents text[];
    cascaded jsonb := '[]';
    dep text;
    run record;
    failed_step jsonb;
    result jsonb;
BEGIN
    options := coalesce(options, '{}');
    m := pgmigrate.lock_migration(name);
    IF m.status <> 'COMPLETED' THEN
        RAISE EXCEPTION 'migration "%" is %, only COMPLETED migrations roll back', name, m.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Every COMPLETED migration that depends on this one, directly or not, latest first.
    WITH RECURSIVE dependent(id) AS (
        SELECT d.migration_id FROM pgmigrate.knowledge_migrations d WHERE m.migration_id = ANY (d.depends_on)
        UNION
        SELECT d.migration_id FROM pgmigrate.knowledge_migrations d JOIN dependent ON dependent.id = ANY (d.depends_on))
    SELECT array_agg(k.migration_name ORDER BY o.ord DESC) INTO dependents
      FROM dependent JOIN pgmigrate.knowledge_migrations k ON k.migration_id = dependent.id
      JOIN unnest(pgmigrate.migration_order(pgmigrate.migration_graph())) WITH ORDINALITY AS o(n, ord) ON o.n = k.migration_name
     WHERE k.status = 'COMPLETED';
    IF dependents IS NOT NULL THEN
        IF NOT coalesce((options->>'cascade')::boolean, false) THEN
            RAISE EXCEPTION 'migration "%" has COMPLETED dependents: %', name, array_to_string(dependents, ', ')
                USING ERRCODE = 'dependent_objects_still_exist', HINT = 'Roll them back first, or pass {"cascade": true}.';
        END IF;
        FOREACH dep IN ARRAY dependents LOOP
            result := pgmigrate.rollback_migration(dep, options - 'cascade');
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
    run := pgmigrate.run_phases(m, ARRAY['rollback'], false);
    SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' LIMIT 1;
    result := jsonb_build_object('executionId', run_id, 'migration', name, 'success', failed_step IS NULL,
        'result', run.results, 'affectedRows', run.affected, 'cascaded', cascaded,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
    PERFORM pgmigrate.record_run(m, run_id, run.results,
        CASE WHEN failed_step IS NULL THEN 'ROLLED_BACK' ELSE 'COMPLETED' END,
        CASE WHEN failed_step IS NULL THEN 'ROLLED_BACK' ELSE 'ROLLBACK_FAILED' END,
        jsonb_strip_nulls(jsonb_build_object('failedStep', failed_step->>'stepName', 'error', failed_step->>'error')));
    IF failed_step IS NOT NULL AND coalesce((options->>'raise')::boolean, false) THEN
        RAISE EXCEPTION 'rollback of migration "%" failed at step "%": %', name, failed_step->>'stepName', failed_step->>'error'
            USING ERRCODE = coalesce(failed_step->>'sqlstate', 'P0001');
    END IF;
    RETURN result;
END $$;

-- The pre-flight safety report, in the shape of the design sketch's SafetyReport.
CREATE FUNCTION pgmigrate.validate_migration_safety(name text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    phase text;
    script text;
    a jsonb;
    f record;
    syntax jsonb := '[]';
    locks jsonb := '[]';
    perf jsonb := '[]';
    deps jsonb := '[]';
    rb jsonb := '[]';
    integrity jsonb := '[]';
    seconds numeric := 0;
    n bigint;
    examples jsonb;
    results jsonb;
    issues jsonb;
BEGIN
    SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_name = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'migration "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;

    FOREACH phase IN ARRAY ARRAY['forward', 'rollback', 'validation'] LOOP
        SELECT string_agg(s->>'script', E';\n') INTO script
          FROM jsonb_array_elements(pgmigrate.migration_steps(m, phase)) s WHERE s ? 'script';
        CONTINUE WHEN script IS NULL;
        a := pgmigrate.analyze_sql(script);
        IF NOT (a->>'syntax_ok')::boolean THEN
            syntax := syntax || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL',
                'code', CASE phase WHEN 'rollback' THEN 'INVALID_ROLLBACK_SCRIPT' ELSE 'SYNTAX_ERROR' END,
                'message', format('%s script: %s', phase, a->>'error'),
                'details', jsonb_build_object('phase', phase, 'position', (a->>'position')::int)));
            CONTINUE;
        END IF;
        FOR f IN SELECT (st->>'index')::int AS idx, st->>'sql' AS sql, fi
                   FROM jsonb_array_elements(a->'statements') st, jsonb_array_elements(st->'findings') fi LOOP
            IF phase = 'rollback' THEN
                IF (f.fi->>'data_loss')::boolean THEN
                    rb := rb || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'ROLLBACK_DATA_LOSS_RISK',
                        'message', format('rollback may cause data loss: %s', f.fi->>'action'),
                        'details', jsonb_build_object('statement', f.idx, 'sql', f.sql, 'table', f.fi->'table')));
                END IF;
                CONTINUE;
            END IF;
            IF f.fi->>'severity' <> 'LOW' THEN
                locks := locks || jsonb_build_array(jsonb_build_object('severity', f.fi->>'severity', 'code', f.fi->>'code',
                    'message', format('%s on %s takes %s lock%s', f.fi->>'action', coalesce(f.fi->>'table', '?'), f.fi->>'lock',
                        CASE WHEN (f.fi->>'rewrite')::boolean THEN ' and rewrites the table'
                             WHEN (f.fi->>'scan')::boolean THEN ' and scans the table' ELSE '' END),
                    'details', jsonb_build_object('phase', phase, 'statement', f.idx, 'sql', f.sql, 'table', f.fi->'table',
                        'lock', f.fi->'lock', 'rewrite', f.fi->'rewrite', 'scan', f.fi->'scan'),
                    'recommendation', f.fi->'recommendation'));
            END IF;
            -- Duration: ~50 MB/s to scan, three times that work to rewrite and re-index.
            IF (f.fi->>'rewrite')::boolean OR (f.fi->>'scan')::boolean THEN
                seconds := seconds + coalesce((SELECT c.relpages::numeric * 8192 / (50 * 1024 * 1024)
                                                      * CASE WHEN (f.fi->>'rewrite')::boolean THEN 3 ELSE 1 END
                                                 FROM pg_class c WHERE c.oid = to_regclass(f.fi->>'table')), 0);
            END IF;
        END LOOP;
    END LOOP;
    IF seconds > 3600 THEN
        perf := perf || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'LONG_MIGRATION_TIME',
            'message', format('Migration estimated to take %s minutes', round(seconds / 60)),
            'details', jsonb_build_object('estimatedDuration', round(seconds))));
    END IF;

    FOR f IN SELECT dep, d.migration_name, d.status FROM unnest(m.depends_on) dep
               LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep LOOP
        IF f.status IS DISTINCT FROM 'COMPLETED' THEN
            deps := deps || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL',
                'code', CASE WHEN f.status IS NULL THEN 'MISSING_DEPENDENCY' ELSE 'DEPENDENCY_NOT_COMPLETED' END,
                'message', format('dependency %s is %s', coalesce(f.migration_name, f.dep::text), coalesce(f.status, 'missing'))));
        END IF;
    END LOOP;

    IF jsonb_array_length(pgmigrate.migration_steps(m, 'rollback')) = 0 THEN
        rb := rb || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL', 'code', 'NO_ROLLBACK_SCRIPT',
            'message', 'No rollback script provided'));
    END IF;
    SELECT rb || coalesce(jsonb_agg(s), '[]') INTO rb FROM jsonb_array_elements(syntax) s WHERE s->>'code' = 'INVALID_ROLLBACK_SCRIPT';
    SELECT coalesce(jsonb_agg(s), '[]') INTO syntax FROM jsonb_array_elements(syntax) s WHERE s->>'code' = 'SYNTAX_ERROR';

    -- The entity store: duplicate current versions, overlapping history, current
    -- documents the active schema rejects.
    SELECT count(*), jsonb_agg(entity_id) FILTER (WHERE rn <= 5) INTO n, examples
      FROM (SELECT entity_id, row_number() OVER () AS rn FROM pgmigrate.temporal_entities
             WHERE valid_to = 'infinity' GROUP BY entity_id HAVING count(*) > 1) d;
    IF n > 0 THEN
        integrity := integrity || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL', 'code', 'DATA_INCONSISTENCY',
            'message', format('Data inconsistency found: %s entities with more than one current version', n),
            'details', jsonb_build_object('kind', 'duplicate_current_versions', 'count', n, 'examples', examples)));
    END IF;
    SELECT count(*), jsonb_agg(entity_id) FILTER (WHERE rn <= 5) INTO n, examples
      FROM (SELECT DISTINCT a.entity_id, dense_rank() OVER (ORDER BY a.entity_id) AS rn
              FROM pgmigrate.temporal_entities a JOIN pgmigrate.temporal_entities b
                ON a.entity_id = b.entity_id AND a.row_id < b.row_id
               AND tstzrange(a.valid_from, a.valid_to) && tstzrange(b.valid_from, b.valid_to)) o;
    IF n > 0 THEN
        integrity := integrity || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'DATA_INCONSISTENCY',
            'message', format('Data inconsistency found: %s entities with overlapping validity intervals', n),
            'details', jsonb_build_object('kind', 'overlapping_validity', 'count', n, 'examples', examples)));
    END IF;
    SELECT count(*), jsonb_agg(entity_id) FILTER (WHERE rn <= 5) INTO n, examples
      FROM (SELECT entity_id, row_number() OVER (ORDER BY row_id) AS rn FROM pgmigrate.temporal_entities
             WHERE valid_to = 'infinity' AND NOT is_deleted
               AND cardinality(pgmigrate.document_violations(entity_type, content)) > 0) v;
    IF n > 0 THEN
        integrity := integrity || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'DATA_INCONSISTENCY',
            'message', format('Data inconsistency found: %s current documents break the active schema', n),
            'details', jsonb_build_object('kind', 'schema_violations', 'count', n, 'examples', examples)));
    END IF;

    results := jsonb_build_array(
        jsonb_build_object('checkName', 'SyntaxCheck', 'issues', syntax),
        jsonb_build_object('checkName', 'LockAndRewriteCheck', 'issues', locks),
        jsonb_build_object('checkName', 'PerformanceImpactCheck', 'issues', perf),
        jsonb_build_object('checkName', 'DependencyValidation', 'issues', deps),
        jsonb_build_object('checkName', 'RollbackCapabilityCheck', 'issues', rb),
        jsonb_build_object('checkName', 'DataIntegrityCheck', 'issues', integrity));
    SELECT jsonb_agg(r || jsonb_build_object('passed', NOT EXISTS (
               SELECT 1 FROM jsonb_array_elements(r->'issues') i WHERE i->>'severity' = 'CRITICAL')))
      INTO results FROM jsonb_array_elements(results) r;
    SELECT coalesce(jsonb_agg(i), '[]') INTO issues
      FROM jsonb_array_elements(results) r, jsonb_array_elements(r->'issues') i WHERE i->>'severity' = 'CRITICAL';
    RETURN jsonb_build_object(
        'migration', name,
        'overallSafety', jsonb_array_length(issues) = 0,
        'criticalIssues', issues,
        'allResults', results,
        'recommendations', (
            SELECT coalesce(jsonb_agg(DISTINCT jsonb_strip_nulls(CASE i->>'code'
                WHEN 'DATA_INCONSISTENCY' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'HIGH',
                    'message', 'Fix data inconsistencies before proceeding with migration', 'action', 'RUN_DATA_CLEANUP')
                WHEN 'LONG_MIGRATION_TIME' THEN jsonb_build_object('type', 'SCHEDULE_MAINTENANCE', 'priority', 'MEDIUM',
                    'message', 'Schedule migration during maintenance window', 'action', 'PLAN_DOWNTIME')
                WHEN 'NO_ROLLBACK_SCRIPT' THEN jsonb_build_object('type', 'IMPLEMENT_REQUIRED', 'priority', 'CRITICAL',
                    'message', 'Implement rollback script before migration', 'action', 'CREATE_ROLLBACK_SCRIPT')
                WHEN 'ROLLBACK_DATA_LOSS_RISK' THEN jsonb_build_object('type', 'REVIEW_REQUIRED', 'priority', 'HIGH',
                    'message', 'Back up the data the rollback removes', 'action', 'BACKUP_BEFORE_ROLLBACK')
                WHEN 'SYNTAX_ERROR' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'FIX_SYNTAX')
                WHEN 'INVALID_ROLLBACK_SCRIPT' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'FIX_SYNTAX')
                WHEN 'MISSING_DEPENDENCY' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'REGISTER_DEPENDENCY')
                WHEN 'DEPENDENCY_NOT_COMPLETED' THEN jsonb_build_object('type', 'ORDER_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'RUN_DEPENDENCIES_FIRST')
                ELSE jsonb_build_object('type', 'REWRITE_STATEMENT', 'priority', i->>'severity',
                    'message', i->>'recommendation', 'action', i->>'code') END)), '[]')
              FROM jsonb_array_elements(results) r, jsonb_array_elements(r->'issues') i));
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.register_migration(jsonb), pgmigrate.register_migrations(jsonb),
    pgmigrate.execute_migration(text, jsonb), pgmigrate.execute_pending_migrations(jsonb),
    pgmigrate.rollback_migration(text, jsonb), pgmigrate.run_step(jsonb, integer, text),
    pgmigrate.run_phases(pgmigrate.knowledge_migrations, text[], boolean),
    pgmigrate.record_run(pgmigrate.knowledge_migrations, uuid, jsonb, text, text, jsonb),
    pgmigrate.lock_migration(text), pgmigrate.set_step_timeout(integer)
    FROM PUBLIC;

CREATE FUNCTION pgmigrate.grant_migration_admin(grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION pgmigrate.register_migration(jsonb), pgmigrate.register_migrations(jsonb),
        pgmigrate.execute_migration(text, jsonb), pgmigrate.execute_pending_migrations(jsonb),
        pgmigrate.rollback_migration(text, jsonb), pgmigrate.run_step(jsonb, integer, text),
        pgmigrate.run_phases(pgmigrate.knowledge_migrations, text[], boolean),
        pgmigrate.record_run(pgmigrate.knowledge_migrations, uuid, jsonb, text, text, jsonb),
        pgmigrate.lock_migration(text), pgmigrate.set_step_timeout(integer), pgmigrate.audit(text, jsonb) TO %s', grantee);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pgmigrate.knowledge_migrations, pgmigrate.migration_execution_state TO %s', grantee);
    EXECUTE format('GRANT SELECT ON pgmigrate.temporal_entities TO %s', grantee);
    EXECUTE format('GRANT SELECT, INSERT ON pgmigrate.audit_log TO %s', grantee);
END $$;
REVOKE EXECUTE ON FUNCTION pgmigrate.grant_migration_admin(regrole) FROM PUBLIC;
