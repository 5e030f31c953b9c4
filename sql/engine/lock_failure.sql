CREATE OR REPLACE FUNCTION pgmigrate._lock_failure(step jsonb, attempts integer, lock_ms integer, err text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('step "%s" could not take its locks in %s attempt%s (lock_timeout %s ms each): %s',
                  step->>'name', attempts, CASE WHEN attempts = 1 THEN '' ELSE 's' END, lock_ms, err)
$$;
