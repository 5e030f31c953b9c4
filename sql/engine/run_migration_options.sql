-- run_migration's options.

CREATE OR REPLACE FUNCTION pgmigrate._run_migration_options(options jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    k text;
BEGIN
    options := coalesce(options, '{}');
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object, not %', options USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        CONTINUE WHEN k IN ('lockTimeout', 'lockRetries', 'runId', 'cancel');
        IF k NOT IN ('force', 'rollbackOnFailure', 'rollback', 'abandonRollback') THEN
            RAISE EXCEPTION 'unknown option "%"', k USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Options are force, rollbackOnFailure, rollback, abandonRollback, lockTimeout, lockRetries.';
        END IF;
        IF jsonb_typeof(options->k) <> 'boolean' THEN
            RAISE EXCEPTION 'option "%" must be true or false, not %', k, options->k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF coalesce((options->>'abandonRollback')::boolean, false) AND coalesce((options->>'rollback')::boolean, false) THEN
        RAISE EXCEPTION 'options "abandonRollback" and "rollback" do not go together' USING ERRCODE = 'invalid_parameter_value',
            HINT = '"abandonRollback" gives up an automatic rollback and runs the migration afresh; "rollback" rolls a COMPLETED migration back.';
    END IF;
    RETURN pgmigrate._check_lock_settings(options, 'options');
END $$;
