-- Create a canary between two schemas of a migration's deployment (the caller resolves
-- them: canary_start takes them from the blue-green deployment in progress). Starts at the
-- first step. Custom metric queries are stored with their author (the caller).
CREATE OR REPLACE FUNCTION pgmigrate._canary_create(name text, migration_id uuid, deployment_id bigint,
                                                    baseline_schema text, canary_schema text, options jsonb,
                                                    caller regrole, caller_path text) RETURNS pgmigrate.canaries
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    o jsonb;
    c pgmigrate.canaries;
    m jsonb;
    first_step integer;
BEGIN
    IF name IS NULL OR name = '' OR length(name) > 200 THEN
        RAISE EXCEPTION 'invalid canary name %', coalesce(quote_literal(name), 'NULL') USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A canary name is 1 to 200 characters.';
    END IF;
    o := pgmigrate._canary_options(coalesce(options, '{}'));
    IF EXISTS (SELECT FROM pgmigrate.canaries WHERE canaries.name = name) THEN
        RAISE EXCEPTION 'canary "%" already exists', name USING ERRCODE = 'duplicate_object',
            HINT = 'Canary names are never reused: pick a new one.';
    END IF;
    IF deployment_id IS NOT NULL AND EXISTS (SELECT FROM pgmigrate.canaries WHERE canaries.deployment_id = _canary_create.deployment_id
                                                AND state IN ('RUNNING', 'PAUSED', 'TIMED_OUT')) THEN
        RAISE EXCEPTION 'deployment % already has a live canary', deployment_id USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Promote or roll back the other canary first.';
    END IF;
    IF to_regnamespace(quote_ident(baseline_schema)) IS NULL OR to_regnamespace(quote_ident(canary_schema)) IS NULL THEN
        RAISE EXCEPTION 'schema % or % does not exist', quote_ident(baseline_schema), quote_ident(canary_schema)
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    first_step := (o->'steps'->>0)::integer;
    INSERT INTO pgmigrate.canaries (name, migration_id, deployment_id, baseline_schema, canary_schema, salt, percentage, steps,
                                    step_interval, success_threshold, marginal_threshold, weights, options, deadline_at, started_by)
    VALUES (name, migration_id, deployment_id, baseline_schema, canary_schema, coalesce(o->>'salt', name), first_step,
            ARRAY(SELECT jsonb_array_elements_text(o->'steps')::integer),
            make_interval(secs => (o->>'interval')::double precision),
            (o->>'successThreshold')::double precision, (o->>'marginalThreshold')::double precision, o->'weights', o,
            clock_timestamp() + make_interval(secs => (o->>'maxDuration')::double precision), caller)
    RETURNING * INTO c;
    FOR m IN SELECT * FROM jsonb_array_elements(o->'customMetrics') LOOP
        INSERT INTO pgmigrate.canary_custom_metrics (canary_id, name, query, weight, min_value, max_value, critical, stored_by, stored_search_path)
        VALUES (c.canary_id, m->>'name', m->>'query', (m->>'weight')::double precision, (m->>'min')::double precision,
                (m->>'max')::double precision, (m->>'critical')::boolean, caller, caller_path);
    END LOOP;
    INSERT INTO pgmigrate.canary_history (canary_id, old_state, new_state, old_percentage, new_percentage, reason, role_name)
    VALUES (c.canary_id, NULL, 'RUNNING', 0, first_step, 'started', caller::text);
    INSERT INTO pgmigrate.migration_execution_state (migration_id, step_number, step_name, step_status, old_value, new_value,
                                                     transformation_applied, started_at, completed_at)
    VALUES (migration_id, 1, 'SetCanaryPercentage' || first_step, 'COMPLETED',
            jsonb_build_object('canary_percentage', 0, 'canary', name),
            jsonb_build_object('canary_percentage', first_step, 'canary', name), 'canary.started', clock_timestamp(), clock_timestamp());
    PERFORM pgmigrate._audit('canary.started', jsonb_build_object('canary', name, 'deployment', deployment_id,
        'baseline', baseline_schema, 'canary_schema', canary_schema, 'percentage', first_step, 'options', o), caller);
    RETURN c;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_create(text, uuid, bigint, text, text, jsonb, regrole, text) FROM PUBLIC;
