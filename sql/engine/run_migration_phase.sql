-- One piece of work of a run; the procedure commits after each. Returns what to do next:
-- continue | wait (for a job) | sleep (ms, before a retry) | done | failed.

CREATE OR REPLACE FUNCTION pgmigrate._run_migration_phase(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    run pgmigrate.migration_runs;
    r jsonb;
    k1 constant int := 1886809460;  -- advisory lock class of pg_migrate runs
    k2 int;
    held boolean;
    k uuid;
BEGIN
    options := pgmigrate._run_migration_options(options);
    SELECT * INTO m FROM pgmigrate.knowledge_migrations x WHERE x.migration_name = name;
    IF NOT FOUND THEN
        m := pgmigrate._lock_migration(name);  -- (raises: does not exist)
    END IF;
    -- One session runs a migration's phases: a session-level lock held across its commits,
    -- taken before the migration's row (so a second CALL is refused without touching the
    -- row the running session needs) and let go if a transaction of the run aborts (an
    -- error before the run starts, one escaping a phase, a COMMIT refused in an atomic
    -- context): the session would otherwise keep it, and every other session be refused,
    -- until it disconnected. Not taken inside a subtransaction of the caller's: a
    -- rollback to a savepoint does not release a session lock.
    k2 := hashtext(m.migration_id::text);
    held := EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid()
                       AND l.classid = k1::oid AND l.objid = k2::oid AND l.objsubid = 2);
    IF NOT held THEN
        IF pgmigrate._transaction_depth() > 2 THEN
            RAISE EXCEPTION 'run_migration cannot run inside a subtransaction (a savepoint, a block with an EXCEPTION clause, a migration step)'
                USING ERRCODE = 'active_sql_transaction',
                      HINT = 'CALL pgmigrate.run_migration at top level (it commits after each phase); pgmigrate.execute_migration runs a migration inside a transaction.';
        END IF;
        IF NOT pg_try_advisory_lock(k1, k2) THEN
            RAISE EXCEPTION 'migration "%" is being run by another session', name
                USING ERRCODE = 'lock_not_available', HINT = 'Wait for the other session to finish, then try again.';
        END IF;
    END IF;
    PERFORM pgmigrate._unlock_on_abort(k1, k2);
    IF held THEN
        -- This session's run: wait for the row (execute_migration's refused attempt holds
        -- it for a moment) rather than fail the run.
        SELECT * INTO m FROM pgmigrate.knowledge_migrations x WHERE x.migration_id = m.migration_id FOR NO KEY UPDATE;
    ELSE
        k := m.migration_id;
        m := pgmigrate._lock_migration(name);
        IF m.migration_id <> k THEN
            -- (Renamed between the read and the lock: the advisory key is another row's.)
            RAISE EXCEPTION 'migration "%" changed while this call started', name USING ERRCODE = 'serialization_failure',
                HINT = 'Call again.';
        END IF;
    END IF;
    IF m.stored_by IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE oid = m.stored_by) THEN
        RAISE EXCEPTION 'migration "%" has no recorded author that still exists', name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Review its steps, then SELECT pgmigrate.adopt_migration(name): it will run with your privileges.';
    END IF;
    IF options ? 'runId' THEN
        SELECT * INTO run FROM pgmigrate.migration_runs x WHERE x.run_id = (options->>'runId')::uuid AND x.migration_id = m.migration_id;
        IF run.run_id IS NULL OR run.status <> 'RUNNING' THEN
            RAISE EXCEPTION 'run % of migration "%" is not running', options->>'runId', name USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    ELSE
        run := pgmigrate._start_run(m, options, caller);
        RETURN jsonb_build_object('action', 'continue', 'runId', run.run_id);
    END IF;
    r := pgmigrate._run_phase_work(m, run, options, caller);
    IF r->>'action' IN ('done', 'failed') THEN
        PERFORM pg_advisory_unlock(k1, k2);
    END IF;
    RETURN r;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._run_migration_phase(text, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.run_migration_phase(name text, options jsonb) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.run_migration_phase(text, jsonb) FROM PUBLIC;
