-- Refresh a run's counters from its DONE batches (the source of truth). wait = false
-- skips the refresh when another session holds the run's row. (NO KEY UPDATE: batches
-- still insert rows referencing the run.)

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_tally(run uuid, wait boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF wait THEN
        PERFORM 1 FROM pgmigrate.pipeline_runs x WHERE x.run_id = run FOR NO KEY UPDATE;
    ELSE
        PERFORM 1 FROM pgmigrate.pipeline_runs x WHERE x.run_id = run FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END IF;
    UPDATE pgmigrate.pipeline_runs x
       SET (batches_done, docs_in, docs_out, docs_written, docs_failed, retries, checkpoint) =
           (SELECT count(*), coalesce(sum(b.docs_in), 0), coalesce(sum(b.docs_out), 0), coalesce(sum(b.docs_written), 0),
                   coalesce(sum(b.docs_failed), 0), coalesce(sum(b.retries), 0), max(b.batch_no)
              FROM pgmigrate.pipeline_batches b WHERE b.run_id = run AND b.status = 'DONE'),
           updated_at = clock_timestamp()
     WHERE x.run_id = run;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_tally(uuid, boolean) FROM PUBLIC;
