-- Lock tables with a short lock_timeout, retried with capped, jittered backoff: never
-- queue behind a long transaction while blocking everyone else. Keeps the locks on
-- success (they end with the caller's transaction); 55P03 after the last attempt, with
-- nothing held. Returns {attempts, lockWaitMs}.
CREATE OR REPLACE FUNCTION pgmigrate._bg_lock(rels regclass[], mode text, timeout_ms integer, attempts integer) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer := 0;
    started timestamptz := clock_timestamp();
    r regclass;
    old_timeout text := current_setting('lock_timeout');
BEGIN
    IF mode NOT IN ('ACCESS SHARE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE') THEN
        RAISE EXCEPTION 'lock mode % is not used here', mode USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        n := n + 1;
        BEGIN
            PERFORM set_config('lock_timeout', timeout_ms || 'ms', true);
            FOREACH r IN ARRAY rels LOOP
                EXECUTE format('LOCK TABLE %s IN %s MODE', r, mode);
            END LOOP;
            PERFORM set_config('lock_timeout', old_timeout, true);
            RETURN jsonb_build_object('attempts', n,
                'lockWaitMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
        EXCEPTION WHEN lock_not_available THEN
            PERFORM set_config('lock_timeout', old_timeout, true);
            IF n >= attempts THEN
                RAISE EXCEPTION 'could not lock % within % ms after % attempts', array_to_string(rels::text[], ', '), timeout_ms, n
                    USING ERRCODE = 'lock_not_available',
                          HINT = 'A long transaction holds a conflicting lock; nothing was changed. Try again later, or raise lock_timeout_ms / lock_attempts.';
            END IF;
            PERFORM pg_sleep(least(2000, timeout_ms * power(2, n - 1)) * (0.5 + random() / 2) / 1000.0);
        END;
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_lock(regclass[], text, integer, integer) FROM PUBLIC;
