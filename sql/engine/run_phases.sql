-- Run a list of phases atomically. Returns the step results; `aborted` tells whether
-- a failure rolled every step back (always, unless continue_on_error lets a forward
-- step fail alone; a failed validation always aborts).

CREATE OR REPLACE FUNCTION pgmigrate._run_phases(m pgmigrate.knowledge_migrations, phases text[], continue_on_error boolean,
                                      lock_options jsonb DEFAULT '{}', OUT results jsonb, OUT aborted boolean, OUT affected bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    phase text;
    step jsonb;
    r jsonb;
    n int := 0;
BEGIN
    results := '[]';
    aborted := false;
    affected := 0;
    BEGIN
        FOREACH phase IN ARRAY phases LOOP
            FOR step IN SELECT * FROM jsonb_array_elements(pgmigrate.migration_steps(m, phase)) LOOP
                r := pgmigrate._run_step_retrying(m, step, n, phase, lock_options);
                n := n + 1;
                results := results || jsonb_build_array(r);
                affected := affected + coalesce((r->>'rows')::bigint, 0);
                IF r->>'status' = 'FAILED' THEN
                    IF NOT continue_on_error OR phase = 'validation' THEN
                        aborted := true;
                        -- Undo every step of this run, keeping the collected results.
                        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'pg_migrate: migration step failed';
                    END IF;
                END IF;
            END LOOP;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        IF NOT aborted THEN
            RAISE;
        END IF;
        affected := 0;
        SELECT jsonb_agg(CASE WHEN x->>'status' = 'COMPLETED'
                              THEN x || '{"rolledBack": true, "error": "rolled back: a later step failed"}' ELSE x END)
          INTO results FROM jsonb_array_elements(results) x;
    END;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._run_phases(pgmigrate.knowledge_migrations, text[], boolean, jsonb) FROM PUBLIC;
