-- Record that a run stopped (FAILED on an error, CANCELLED on a cancel): its committed
-- batches stay, and the next CALL run_pipeline resumes from the checkpoint.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_stop(run uuid, status text, error text, sqlstate text, caller regrole, caller_path text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM pgmigrate._pipeline_tally(run, true);
    IF status NOT IN ('FAILED', 'CANCELLED') THEN
        RAISE EXCEPTION 'a run stops as FAILED or CANCELLED, not %', status USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE pgmigrate.pipeline_runs x SET status = _pipeline_stop.status, last_error = error, last_sqlstate = sqlstate,
           finished_at = clock_timestamp(), updated_at = clock_timestamp()
     WHERE x.run_id = run AND x.status = 'RUNNING';
    IF FOUND THEN
        PERFORM pgmigrate._audit(CASE status WHEN 'FAILED' THEN 'pipeline.failed' ELSE 'pipeline.cancelled' END,
            jsonb_build_object('run_id', run, 'error', error, 'sqlstate', sqlstate), caller);
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_stop(uuid, text, text, text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.pipeline_stop(run uuid, status text, error text, sqlstate text) RETURNS void
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_stop(uuid, text, text, text) FROM PUBLIC;
