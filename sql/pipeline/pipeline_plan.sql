-- Plan a run's batches over the current documents of an entity type: batch k covers
-- entity ids [first id of batch k, first id of batch k+1), the first starting and the
-- last ending unbounded, so entities inserted after planning fall in some batch.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_plan(run uuid, etype text, bs integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    nb integer;
BEGIN
    INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, lo, hi)
    SELECT run, b.batch_no, CASE WHEN b.batch_no = 1 THEN NULL ELSE b.lo END,
           lead(b.lo) OVER (ORDER BY b.batch_no)
      FROM (SELECT ((q.n - 1) / bs + 1)::int AS batch_no, min(q.entity_id::text)::uuid AS lo
              FROM (SELECT t.entity_id, row_number() OVER (ORDER BY t.entity_id) AS n FROM pgmigrate.temporal_entities t
                     WHERE t.entity_type = etype AND t.valid_to = 'infinity' AND NOT t.is_deleted) q
             GROUP BY 1) b;
    GET DIAGNOSTICS nb = ROW_COUNT;
    IF nb = 0 THEN
        INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, lo, hi) VALUES (run, 1, NULL, NULL);
        nb := 1;
    END IF;
    RETURN nb;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_plan(uuid, text, integer) FROM PUBLIC;
