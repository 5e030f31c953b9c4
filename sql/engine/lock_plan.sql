-- The lock settings of a step in a run: {lock_timeout_ms, attempts}.

CREATE OR REPLACE FUNCTION pgmigrate._lock_plan(step jsonb, options jsonb) RETURNS integer[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY[coalesce(step->>'lockTimeout', options->>'lockTimeout', '1000')::int,
                 coalesce(step->>'lockRetries', options->>'lockRetries', '9')::int + 1]
$$;
