-- The steps of a migration for a phase: from its definition, or its plain scripts.

CREATE OR REPLACE FUNCTION pgmigrate.migration_steps(m pgmigrate.knowledge_migrations, phase text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN m.definition IS NOT NULL THEN coalesce(m.definition->phase, '[]')
        WHEN phase = 'forward' THEN jsonb_build_array(jsonb_build_object('name', 'forward_script', 'type', 'SQL', 'script', m.forward_script))
        WHEN phase = 'rollback' AND m.rollback_script IS NOT NULL THEN jsonb_build_array(jsonb_build_object('name', 'rollback_script', 'type', 'SQL', 'script', m.rollback_script))
        WHEN phase = 'validation' AND m.validation_script IS NOT NULL THEN jsonb_build_array(jsonb_build_object('name', 'validation_script', 'type', 'VALIDATE', 'script', m.validation_script))
        ELSE '[]'::jsonb END
$$;
