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
        IF kind NOT IN ('SQL', 'FUNCTION', 'VALIDATE', 'TRANSFORM') THEN
            RAISE EXCEPTION '%[%] has unknown step type "%"', what, n, s->>'type'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Step types are SQL, FUNCTION, VALIDATE and TRANSFORM.';
        END IF;
        IF kind = 'TRANSFORM' AND coalesce(jsonb_typeof(s->'pipeline'), '') NOT IN ('string', 'object') THEN
            RAISE EXCEPTION '%[%] (TRANSFORM) needs a "pipeline": a registered pipeline''s name or an inline definition', what, n
                USING ERRCODE = 'invalid_parameter_value';
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
        -- Lock settings and autocommit steps (sql/0.4.0/40_run_migration.sql).
        s := pgmigrate._check_lock_settings(s, format('%s[%s]', what, n));
        IF s ? 'transaction' AND jsonb_typeof(s->'transaction') <> 'boolean' THEN
            RAISE EXCEPTION '%[%] "transaction" must be true or false, not %', what, n, s->'transaction'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        out := out || jsonb_build_array(s || jsonb_build_object('type', kind, 'name', coalesce(s->>'name', lower(what) || ' step ' || n)));
    END LOOP;
    RETURN out;
END $$;
