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

-- Plan a run over a source query's rows (already in _pgm_pipe_src): batch k holds the
-- k-th batch_size ids in id order, with their documents and the current version each
-- id had (row and xmin; NULL: a new entity). bs = 0: one batch of every row.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_plan_query(run uuid, bs integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    nb integer;
BEGIN
    INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, ids, source_docs, source_rows, source_xmins)
    SELECT run, CASE WHEN bs = 0 THEN 1 ELSE ((q.n - 1) / bs + 1)::int END,
           array_agg(q.id ORDER BY q.id), array_agg(q.doc ORDER BY q.id), array_agg(q.row_id ORDER BY q.id),
           array_agg(q.xmin ORDER BY q.id)
      FROM (SELECT s.id, s.doc, t.row_id, t.xmin, row_number() OVER (ORDER BY s.id) AS n
              FROM pg_temp._pgm_pipe_src s
              LEFT JOIN pgmigrate.temporal_entities t ON t.entity_id = s.id AND t.valid_to = 'infinity') q
     GROUP BY 2;
    GET DIAGNOSTICS nb = ROW_COUNT;
    IF nb = 0 THEN
        INSERT INTO pgmigrate.pipeline_batches (run_id, batch_no, ids, source_docs, source_rows, source_xmins) VALUES (run, 1, '{}', '{}', '{}', '{}');
        nb := 1;
    END IF;
    DELETE FROM pg_temp._pgm_pipe_src;
    RETURN nb;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_plan_query(uuid, integer) FROM PUBLIC;
