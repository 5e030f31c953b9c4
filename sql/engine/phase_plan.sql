-- A run's phases: [{phase, mode, steps: [step + {stepNumber, phase}]}].

CREATE OR REPLACE FUNCTION pgmigrate._phase_plan(m pgmigrate.knowledge_migrations, direction text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    part text;
    s jsonb;
    mode text;
    n int := 0;
    phases jsonb := '[]';
    cur jsonb;
BEGIN
    FOREACH part IN ARRAY CASE direction WHEN 'forward' THEN ARRAY['forward', 'validation'] ELSE ARRAY['rollback'] END LOOP
        FOR s IN SELECT * FROM jsonb_array_elements(pgmigrate.migration_steps(m, part)) LOOP
            mode := pgmigrate._step_mode(s);
            s := s || jsonb_build_object('stepNumber', n, 'phase', part);
            n := n + 1;
            IF mode = 'transaction' AND cur IS NOT NULL AND cur->>'mode' = 'transaction' THEN
                cur := jsonb_set(cur, '{steps}', (cur->'steps') || jsonb_build_array(s));
            ELSE
                IF cur IS NOT NULL THEN
                    phases := phases || jsonb_build_array(cur);
                END IF;
                cur := jsonb_build_object('phase', jsonb_array_length(phases) + 1, 'mode', mode, 'steps', jsonb_build_array(s));
            END IF;
        END LOOP;
    END LOOP;
    IF cur IS NOT NULL THEN
        phases := phases || jsonb_build_array(cur);
    END IF;
    RETURN phases;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._phase_plan(pgmigrate.knowledge_migrations, text) FROM PUBLIC;
