-- Capped, jittered exponential backoff before attempt `attempt + 1`: 100 ms doubling
-- up to 5 s, each delay drawn from its upper half.

CREATE OR REPLACE FUNCTION pgmigrate._lock_backoff_ms(attempt integer) RETURNS integer
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (d / 2 + random() * d / 2)::int FROM (SELECT least(5000, 100 * power(2, least(attempt, 20) - 1)) AS d) x
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._lock_backoff_ms(integer) FROM PUBLIC;
