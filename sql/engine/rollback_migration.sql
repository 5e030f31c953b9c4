CREATE OR REPLACE FUNCTION pgmigrate._rollback_migration(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    run_id uuid := gen_random_uuid();
    started timestamptz := clock_timestamp();
    dependents text[];
    running text[];
    cascaded jsonb := '[]';
    dep text;
    run record;
    failed_step jsonb;
    result jsonb;
BEGIN
    options := pgmigrate._run_options(options, ARRAY['cascade', 'raise', 'lockTimeout', 'lockRetries']);
    m := pgmigrate._lock_migration(name);
    IF m.status <> 'COMPLETED' THEN
        RAISE EXCEPTION 'migration "%" is %, only COMPLETED migrations roll back', name, m.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Every migration that depends on this one, directly or not.
    WITH RECURSIVE dependent(id) AS (
        SELECT d.migration_id FROM pgmigrate.knowledge_migrations d WHERE m.migration_id = ANY (d.depends_on)
        UNION
        SELECT d.migration_id FROM pgmigrate.knowledge_migrations d JOIN dependent ON dependent.id = ANY (d.depends_on))
    SELECT array_agg(k.migration_name ORDER BY o.ord DESC) FILTER (WHERE k.status = 'COMPLETED'),
           array_agg(k.migration_name ORDER BY k.migration_name) FILTER (WHERE k.status = 'RUNNING')
      INTO dependents, running
      FROM dependent JOIN pgmigrate.knowledge_migrations k ON k.migration_id = dependent.id
      JOIN unnest(pgmigrate.migration_order(pgmigrate.migration_graph())) WITH ORDINALITY AS o(n, ord) ON o.n = k.migration_name;
    IF running IS NOT NULL THEN
        RAISE EXCEPTION 'migration "%" cannot roll back while its dependent % is running', name, array_to_string(running, ', ')
            USING ERRCODE = 'object_in_use', HINT = 'A step must not roll back a migration its own migration depends on.';
    END IF;
    IF dependents IS NOT NULL THEN
        IF NOT coalesce((options->>'cascade')::boolean, false) THEN
            RAISE EXCEPTION 'migration "%" has COMPLETED dependents: %', name, array_to_string(dependents, ', ')
                USING ERRCODE = 'dependent_objects_still_exist', HINT = 'Roll them back first, or pass {"cascade": true}.';
        END IF;
        FOREACH dep IN ARRAY dependents LOOP
            result := pgmigrate._rollback_migration(dep, options - 'cascade', caller, caller_path);
            cascaded := cascaded || jsonb_build_array(result);
            IF NOT (result->>'success')::boolean THEN
                RAISE EXCEPTION 'rolling back dependent migration "%" failed: %', dep, result
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END LOOP;
    END IF;
    IF jsonb_array_length(pgmigrate.migration_steps(m, 'rollback')) = 0 THEN
        RAISE EXCEPTION 'migration "%" has no rollback steps', name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM pgmigrate._refuse_phased_steps(m, ARRAY['rollback'], 'rollback_migration');
    UPDATE pgmigrate.knowledge_migrations SET status = 'RUNNING' WHERE migration_id = m.migration_id;
    run := pgmigrate._run_phases(m, ARRAY['rollback'], false, options - 'cascade');
    SELECT r INTO failed_step FROM jsonb_array_elements(run.results) r WHERE r->>'status' = 'FAILED' LIMIT 1;
    result := jsonb_build_object('executionId', run_id, 'migration', name, 'success', failed_step IS NULL,
        'result', run.results, 'affectedRows', run.affected, 'cascaded', cascaded,
        'durationMs', round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 3));
    PERFORM pgmigrate._record_run(m, run_id, run.results,
        CASE WHEN failed_step IS NULL THEN 'ROLLED_BACK' ELSE 'COMPLETED' END,
        CASE WHEN failed_step IS NULL THEN 'ROLLED_BACK' ELSE 'ROLLBACK_FAILED' END,
        jsonb_strip_nulls(jsonb_build_object('failedStep', failed_step->>'stepName', 'error', failed_step->>'error')), caller);
    IF failed_step IS NOT NULL AND coalesce((options->>'raise')::boolean, false) THEN
        PERFORM pgmigrate._raise_failure(format('rollback of migration "%s" failed at step "%s": %s', name, failed_step->>'stepName', failed_step->>'error'), failed_step);
    END IF;
    RETURN result;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._rollback_migration(text, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.rollback_migration(name text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.rollback_migration(text, jsonb) FROM PUBLIC;
