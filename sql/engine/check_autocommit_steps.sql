-- Autocommit statements run alone: a step holding one must hold nothing else.

CREATE OR REPLACE FUNCTION pgmigrate._check_autocommit_steps(steps jsonb, name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    s jsonb;
BEGIN
    FOR s IN SELECT * FROM jsonb_array_elements(steps) LOOP
        IF s->>'type' = 'SQL' AND pgmigrate._autocommit_kind(s->>'script') = 2 THEN
            RAISE EXCEPTION 'step "%" of migration "%" runs a statement that cannot run inside a transaction block, among others', s->>'name', name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Put CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM and DETACH PARTITION CONCURRENTLY in a step of their own.';
        END IF;
    END LOOP;
END $$;
