-- Create a canary on a blue-green deployment: the baseline is its live color, the canary
-- its target color. Starts at the first step. Custom metric queries are stored with their
-- author (the caller). canary_start checks the deployment and calls this.
CREATE OR REPLACE FUNCTION pgmigrate._canary_create(name text, d pgmigrate.blue_green_deployments, options jsonb,
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
    IF EXISTS (SELECT FROM pgmigrate.canaries WHERE canaries.deployment_id = d.deployment_id
                  AND (state IN ('RUNNING', 'PAUSED') OR (state = 'TIMED_OUT' AND percentage > 0))) THEN
        RAISE EXCEPTION 'deployment % already has a live canary (%)', d.deployment_id,
            (SELECT string_agg(canaries.name, ', ') FROM pgmigrate.canaries WHERE canaries.deployment_id = d.deployment_id
                AND (state IN ('RUNNING', 'PAUSED') OR (state = 'TIMED_OUT' AND percentage > 0)))
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Promote or roll back that canary first.';
    END IF;
    IF o->>'keyColumn' IS NOT NULL AND NOT EXISTS (SELECT FROM jsonb_array_elements(d.tables) t, pg_attribute a
                                        WHERE a.attrelid = (t->>'src')::regclass AND a.attname = o->>'keyColumn' AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'invalid canary option "keyColumn": no deployed table has a column %', quote_ident(o->>'keyColumn')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'keyColumn names the column that holds the routing key (tenant, user, account).';
    END IF;
    first_step := (o->'steps'->>0)::integer;
    INSERT INTO pgmigrate.canaries (name, migration_id, deployment_id, baseline_schema, canary_schema, salt, percentage, steps,
                                    step_interval, success_threshold, marginal_threshold, weights, options, deadline_at, started_by)
    VALUES (name, d.migration_id, d.deployment_id, d.source_schema, d.target_schema, coalesce(o->>'salt', name), first_step,
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
    VALUES (d.migration_id, 1, 'SetCanaryPercentage' || first_step, 'COMPLETED',
            jsonb_build_object('canary_percentage', 0, 'canary', name),
            jsonb_build_object('canary_percentage', first_step, 'canary', name), 'canary.started', clock_timestamp(), clock_timestamp());
    PERFORM pgmigrate._audit('canary.started', jsonb_build_object('canary', name, 'deployment', d.deployment_id,
        'baseline', d.source_schema, 'canary_schema', d.target_schema, 'percentage', first_step, 'options', o), caller);
    RETURN c;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_create(text, pgmigrate.blue_green_deployments, jsonb, regrole, text) FROM PUBLIC;
