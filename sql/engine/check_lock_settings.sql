-- "lockTimeout" (milliseconds, 0 = none) and "lockRetries" (retries after the first
-- attempt) of a step, a migration or a run's options: checked, fractions rounded up.

CREATE OR REPLACE FUNCTION pgmigrate._check_lock_settings(obj jsonb, what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    v numeric;
BEGIN
    IF obj ? 'lockTimeout' THEN
        IF jsonb_typeof(obj->'lockTimeout') <> 'number' THEN
            RAISE EXCEPTION '% lockTimeout must be a number of milliseconds, not %', what, obj->'lockTimeout'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v := ceil((obj->>'lockTimeout')::numeric);
        IF v < 0 OR v > 2147483647 THEN
            RAISE EXCEPTION '% lockTimeout % is out of range', what, obj->'lockTimeout'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'lockTimeout is between 0 (no lock timeout) and 2147483647 milliseconds.';
        END IF;
        obj := obj || jsonb_build_object('lockTimeout', v);
    END IF;
    IF obj ? 'lockRetries' THEN
        IF jsonb_typeof(obj->'lockRetries') <> 'number' OR (obj->>'lockRetries')::numeric <> trunc((obj->>'lockRetries')::numeric)
           OR (obj->>'lockRetries')::numeric NOT BETWEEN 0 AND 1000 THEN
            RAISE EXCEPTION '% lockRetries must be a whole number from 0 to 1000, not %', what, obj->'lockRetries'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    RETURN obj;
END $$;
