-- Plan a run's batches over the current documents of an entity type: batch k holds the
-- k-th batch_size entity ids in id order. Entities created after the run started are not
-- in it (documents written by then are the application's, in the new shape; run the
-- pipeline again to sweep stragglers). bs = 0: one batch of every document (ids NULL).

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_plan(run uuid, etype text, bs integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    nb integer;
BEGIN
    IF bs = 0 THEN
        INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, ids) VALUES (run, 1, NULL);
        RETURN 1;
    END IF;
    INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, ids)
    SELECT run, ((q.n - 1) / bs + 1)::int, array_agg(q.entity_id ORDER BY q.entity_id)
      FROM (SELECT t.entity_id, row_number() OVER (ORDER BY t.entity_id) AS n FROM pgmigrate.temporal_entities t
             WHERE t.entity_type = etype AND t.valid_to = 'infinity' AND NOT t.is_deleted) q
     GROUP BY 2;
    GET DIAGNOSTICS nb = ROW_COUNT;
    IF nb = 0 THEN
        INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, ids) VALUES (run, 1, '{}');
        nb := 1;
    END IF;
    RETURN nb;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_plan(uuid, text, integer) FROM PUBLIC;
