-- A step (in a subtransaction, see _run_step), retried while it fails with 55P03.

CREATE OR REPLACE FUNCTION pgmigrate._run_step_retrying(m pgmigrate.knowledge_migrations, step jsonb, step_number int, phase text,
                                             options jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    lp integer[] := pgmigrate._lock_plan(step, coalesce(options, '{}'));
    attempt int := 1;
    r jsonb;
BEGIN
    step := step || jsonb_build_object('lockTimeout', lp[1]);
    LOOP
        r := pgmigrate._run_step(m, step, step_number, phase);
        EXIT WHEN r->>'status' <> 'FAILED' OR r->>'sqlstate' IS DISTINCT FROM '55P03' OR lp[1] = 0 OR attempt >= lp[2];
        PERFORM pg_sleep(pgmigrate._lock_backoff_ms(attempt) / 1000.0);
        attempt := attempt + 1;
    END LOOP;
    IF r->>'sqlstate' = '55P03' AND lp[1] > 0 THEN
        r := r || jsonb_build_object('error', pgmigrate._lock_failure(step, attempt, lp[1], r->>'error'));
    END IF;
    RETURN r || jsonb_build_object('attempts', attempt);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._run_step_retrying(pgmigrate.knowledge_migrations, jsonb, integer, text, jsonb) FROM PUBLIC;
