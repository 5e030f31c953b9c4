-- Write a transformed batch as new temporal versions: each changed document's current
-- row is closed and a new current row written (same instant); documents the pipeline
-- created (AGGREGATE, batch CUSTOM) are inserted as new entities of output_type, and a
-- source query's documents for ids not in the store as new entities of etype.
-- Unchanged documents and documents the pipeline dropped (FILTER, INNER JOIN) are left
-- alone. Returns how many rows were written and what was written, as the parallel arrays
-- the batch keeps for rollback_pipeline: entity, version closed (NULL: created), version
-- written. One statement per kind of write, no row per document anywhere else.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_write(run uuid, pipeline text, output_type text, etype text, from_query boolean,
                                                     OUT n bigint, OUT ids uuid[], OUT old_rows bigint[], OUT new_rows bigint[], OUT new_xmins xid[])
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    ts timestamptz := clock_timestamp();
    m bigint;
    ids2 uuid[];
    new2 bigint[];
    xmins2 xid[];
BEGIN
    -- (From a query, the document read is the query's: compare with the stored one.)
    WITH chg AS (
        SELECT o.entity_id, o.doc, i.row_id FROM pg_temp._pgm_pipe_out o
          JOIN pg_temp._pgm_pipe_in i ON i.ord = o.ord AND i.entity_id = o.entity_id
         WHERE from_query OR o.doc IS DISTINCT FROM i.doc),
    closed AS (
        UPDATE pgmigrate.temporal_entities t SET valid_to = ts FROM chg
         WHERE t.row_id = chg.row_id AND t.valid_to = 'infinity' AND (NOT from_query OR t.content IS DISTINCT FROM chg.doc)
        RETURNING t.row_id, t.entity_id, t.entity_type, t.metadata, chg.doc),
    ins AS (
        INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, metadata, valid_from)
        SELECT c.entity_id, c.entity_type, c.doc, c.metadata, ts FROM closed c
        RETURNING row_id, entity_id, xmin)
    -- (The same entities in both, once each: arrays in entity order line up, no join.)
    SELECT (SELECT count(*) FROM ins), (SELECT array_agg(ins.entity_id ORDER BY ins.entity_id) FROM ins),
           (SELECT array_agg(c.row_id ORDER BY c.entity_id) FROM closed c), (SELECT array_agg(ins.row_id ORDER BY ins.entity_id) FROM ins),
           (SELECT array_agg(ins.xmin ORDER BY ins.entity_id) FROM ins)
      INTO n, ids, old_rows, new_rows, new_xmins;
    -- A source query's new ids: new entities of the run's type.
    IF from_query THEN
        WITH ins AS (
            INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, valid_from)
            SELECT o.entity_id, etype, o.doc, ts FROM pg_temp._pgm_pipe_out o
              JOIN pg_temp._pgm_pipe_in i ON i.ord = o.ord AND i.entity_id = o.entity_id
             WHERE i.row_id IS NULL
            RETURNING row_id, entity_id, xmin)
        SELECT count(*), array_agg(ins.entity_id), array_agg(ins.row_id), array_agg(ins.xmin) INTO m, ids2, new2, xmins2 FROM ins;
        IF m > 0 THEN
            n := n + m;
            ids := coalesce(ids, '{}') || ids2;
            old_rows := coalesce(old_rows, '{}') || array_fill(NULL::bigint, ARRAY[m::int]);
            new_rows := coalesce(new_rows, '{}') || new2;
            new_xmins := coalesce(new_xmins, '{}') || xmins2;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_temp._pgm_pipe_out o WHERE o.entity_id IS NULL) THEN
        IF output_type IS NULL THEN
            RAISE EXCEPTION 'pipeline "%" creates new documents, and no entity type was named for them', pipeline
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'AGGREGATE and batch CUSTOM steps make new documents: name {"outputEntityType": "..."} in the run options.';
        END IF;
        WITH ins AS (
            INSERT INTO pgmigrate.temporal_entities (entity_type, content, valid_from)
            SELECT output_type, o.doc, ts FROM pg_temp._pgm_pipe_out o WHERE o.entity_id IS NULL
            RETURNING row_id, entity_id, xmin)
        SELECT count(*), array_agg(ins.entity_id), array_agg(ins.row_id), array_agg(ins.xmin) INTO m, ids2, new2, xmins2 FROM ins;
        n := n + m;
        ids := coalesce(ids, '{}') || ids2;
        old_rows := coalesce(old_rows, '{}') || array_fill(NULL::bigint, ARRAY[m::int]);
        new_rows := coalesce(new_rows, '{}') || new2;
        new_xmins := coalesce(new_xmins, '{}') || xmins2;
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_write(uuid, text, text, text, boolean) FROM PUBLIC;
