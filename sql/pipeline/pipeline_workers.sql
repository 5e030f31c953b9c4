-- Background workers for a parallel run (CALL run_pipeline(name, '{"workers": n}')):
-- starts `start` workers on run `run` as the caller (each joins the run and works its
-- batches beside the calling session, see src/pipeline/worker.rs), and returns the pids
-- among `pids` and the new ones that are still running. With start = 0 it only looks.
-- A worker does only what its caller could do by joining the run from another session.
-- One that cannot start (no free worker slot) is reported, not an error: the calling
-- session works the run either way.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_worker_start(run uuid, caller oid) RETURNS integer VOLATILE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', '_pipeline_worker_start_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_worker_start(uuid, oid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_workers(run uuid, start integer, pids integer[], caller regrole, caller_path text)
RETURNS integer[] LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r pgmigrate.pipeline_runs;
    pid integer;
    started integer[] := '{}';
BEGIN
    IF start IS NULL OR start < 0 OR start > 63 THEN
        RAISE EXCEPTION 'a run takes 0 to 63 background workers, not %', coalesce(start::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'CALL pgmigrate.run_pipeline(name, ''{"workers": n}'') starts n - 1 of them.';
    END IF;
    IF start > 0 THEN
        IF run IS NULL THEN
            RAISE EXCEPTION 'a pipeline run id is required, not NULL' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = run;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'pipeline run % does not exist', run USING ERRCODE = 'undefined_object';
        END IF;
        IF r.status <> 'RUNNING' THEN
            RAISE EXCEPTION 'pipeline run % is %, not RUNNING: no worker to start for it', run, r.status
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'CALL pgmigrate.run_pipeline(name, ''{"workers": n}'') resumes a run with its workers.';
        END IF;
        IF NOT (r.compiled->>'parallel')::boolean THEN
            RAISE EXCEPTION 'pipeline run % is not parallel: one session works it', run USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Register the pipeline with "parallel": true and start a new run ({"restart": true}) to share it between workers.';
        END IF;
        FOR i IN 1 .. start LOOP
            pid := pgmigrate._pipeline_worker_start(run, caller::oid);
            EXIT WHEN pid IS NULL;
            started := started || pid;
        END LOOP;
        IF coalesce(array_length(started, 1), 0) < start THEN
            RAISE NOTICE 'pipeline %: started % of % workers (no free background worker slot)', r.pipeline_name,
                coalesce(array_length(started, 1), 0), start
                USING HINT = 'max_worker_processes limits the background workers of the whole server.';
        END IF;
    END IF;
    PERFORM pg_stat_clear_snapshot();
    -- Alive, and not a pid some other process has taken since.
    RETURN ARRAY(SELECT p FROM unnest(pids || started) p
                  WHERE pgmigrate._process_alive(p)
                    AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = p AND a.backend_type <> 'pg_migrate pipeline'));
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_workers(uuid, integer, integer[], regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.pipeline_workers(run uuid, start integer, pids integer[]) RETURNS integer[]
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_workers(uuid, integer, integer[]) FROM PUBLIC;
