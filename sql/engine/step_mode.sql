-- How a step runs: 'transaction' (with its neighbours), 'separate' ("transaction": false:
-- a transaction of its own) or 'autocommit' (a top-level statement in the background worker).

CREATE OR REPLACE FUNCTION pgmigrate._step_mode(step jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN step->>'type' = 'SQL' AND pgmigrate._autocommit_kind(step->>'script') IN (1, 2) THEN 'autocommit'
                WHEN step->'transaction' = 'false' THEN 'separate'
                ELSE 'transaction' END
$$;
