-- execute_migration and rollback_migration run in one transaction: they refuse steps that cannot.

CREATE OR REPLACE FUNCTION pgmigrate._refuse_phased_steps(m pgmigrate.knowledge_migrations, phases text[], fn text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    s jsonb;
BEGIN
    SELECT x INTO s FROM unnest(phases) p, jsonb_array_elements(pgmigrate.migration_steps(m, p)) x
     WHERE pgmigrate._step_mode(x) <> 'transaction' LIMIT 1;
    IF s IS NOT NULL THEN
        RAISE EXCEPTION 'migration "%" has a step that cannot run inside one transaction: "%"', m.migration_name, s->>'name'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('%s runs everything in one transaction; use CALL pgmigrate.run_migration(%L%s), which runs it in phases.',
                                fn, m.migration_name, CASE WHEN 'rollback' = ANY (phases) THEN ', ''{"rollback": true}''' ELSE '' END);
    END IF;
END $$;
