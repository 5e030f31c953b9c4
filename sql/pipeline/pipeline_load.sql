-- Load the current, live documents of an entity type (those of entity ids `ids`, or all
-- when NULL) into the batch's input table (at most lim of them, by entity id), locking
-- them (lock) against concurrent writers for the batch: a short lock_timeout, retried
-- with capped jittered backoff. (Separate statements per case, so a cached generic plan
-- never trades the current-version index for a scan of the whole store.)
-- A document given a new version while the load waited for its row lock is not in what
-- the statement returns (the row it waited for is closed, the new one is newer than its
-- snapshot): the load is done again, in a statement that sees and locks the new version
-- (the rows already locked stay locked), until every live document of the batch is in.
-- (The SET clause keeps the lock_timeout it sets to the call.)

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_load(entity_type text, ids uuid[], lim integer, lock boolean, lock_timeout_ms integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s' AS $$
#variable_conflict use_variable
DECLARE
    n integer;
    attempt integer := 0;
    rounds integer := 0;
BEGIN
    IF NOT lock THEN
        INSERT INTO pg_temp._pgm_pipe_in (ord, entity_id, row_id, doc)
        SELECT row_number() OVER (ORDER BY q.entity_id), q.entity_id, q.row_id, q.content FROM (
            SELECT t.entity_id, t.row_id, t.content FROM pgmigrate.temporal_entities t
             WHERE t.entity_type = _pipeline_load.entity_type AND t.valid_to = 'infinity' AND NOT t.is_deleted
             ORDER BY t.entity_id LIMIT lim) q;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    PERFORM set_config('lock_timeout', lock_timeout_ms::text, true);
    IF ids IS NULL THEN
        -- Every document of the type (a whole-input run): the ones there now are the batch.
        SELECT coalesce(array_agg(q.entity_id ORDER BY q.entity_id), '{}') INTO ids FROM (
            SELECT t.entity_id FROM pgmigrate.temporal_entities t
             WHERE t.entity_type = _pipeline_load.entity_type AND t.valid_to = 'infinity' AND NOT t.is_deleted
             ORDER BY t.entity_id LIMIT lim) q;
    END IF;
    LOOP
        BEGIN
            INSERT INTO pg_temp._pgm_pipe_in (ord, entity_id, row_id, doc)
            SELECT row_number() OVER (ORDER BY q.entity_id), q.entity_id, q.row_id, q.content FROM (
                SELECT t.entity_id, t.row_id, t.content FROM pgmigrate.temporal_entities t
                 WHERE t.entity_id = ANY (ids) AND t.valid_to = 'infinity'
                   AND t.entity_type = _pipeline_load.entity_type AND NOT t.is_deleted
                 ORDER BY t.entity_id LIMIT lim FOR UPDATE OF t) q;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n >= least(cardinality(ids), lim) OR NOT EXISTS (
                   SELECT 1 FROM pgmigrate.temporal_entities t
                    WHERE t.entity_id = ANY (ids) AND t.valid_to = 'infinity'
                      AND t.entity_type = _pipeline_load.entity_type AND NOT t.is_deleted
                      AND NOT EXISTS (SELECT 1 FROM pg_temp._pgm_pipe_in i WHERE i.entity_id = t.entity_id)) THEN
                RETURN n;
            END IF;
            -- Some document got a new version while this waited: load again.
            rounds := rounds + 1;
            IF rounds >= 10 THEN
                RAISE EXCEPTION 'the documents of this batch kept getting new versions while it waited for them'
                    USING ERRCODE = 'serialization_failure',
                          HINT = 'Resume the run (CALL pgmigrate.run_pipeline again) when the application writes less.';
            END IF;
            DELETE FROM pg_temp._pgm_pipe_in;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            IF attempt >= 10 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(least(0.05 * power(2, attempt), 2.0) * (0.5 + random() / 2));
        END;
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_load(text, uuid[], integer, boolean, integer) FROM PUBLIC;

-- Load a batch of a run over a source query: the query's documents, each with the current
-- version of its entity locked (as _pipeline_load locks). A document whose entity changed
-- since the query ran (another version is current now, the current row was updated in
-- place, or an entity appeared for a new id) is
-- not transformed: it is recorded as failed (40001) in _pgm_pipe_err and left alone, so a
-- run never writes over a change it did not read. Returns the documents loaded.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_load_query(ids uuid[], docs jsonb[], rows_ bigint[], xmins xid[], lock_timeout_ms integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s' AS $$
#variable_conflict use_variable
DECLARE
    n integer;
    attempt integer := 0;
BEGIN
    PERFORM set_config('lock_timeout', lock_timeout_ms::text, true);
    LOOP
        BEGIN
            PERFORM 1 FROM pgmigrate.temporal_entities t
             WHERE t.entity_id = ANY (ids) AND t.valid_to = 'infinity' ORDER BY t.entity_id FOR UPDATE OF t;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            IF attempt >= 10 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(least(0.05 * power(2, attempt), 2.0) * (0.5 + random() / 2));
        END;
    END LOOP;
    WITH src AS (
        SELECT u.ord::int AS ord, u.id, u.doc, u.row_id AS planned,
               (SELECT t.row_id FROM pgmigrate.temporal_entities t WHERE t.entity_id = u.id AND t.valid_to = 'infinity'
                   AND t.xmin = u.xmin) AS unchanged,
               (SELECT true FROM pgmigrate.temporal_entities t WHERE t.entity_id = u.id AND t.valid_to = 'infinity') AS exists_now
          FROM unnest(ids, docs, rows_, xmins) WITH ORDINALITY u(id, doc, row_id, xmin, ord)),
    stale AS (
        INSERT INTO pg_temp._pgm_pipe_err (ord, entity_id, step, error, sqlstate, original)
        SELECT src.ord, src.id, 'source', 'the entity changed after the source query read it', '40001', src.doc
          FROM src WHERE CASE WHEN src.planned IS NULL THEN src.exists_now ELSE src.unchanged IS DISTINCT FROM src.planned END)
    INSERT INTO pg_temp._pgm_pipe_in (ord, entity_id, row_id, doc)
    SELECT src.ord, src.id, src.planned, src.doc FROM src
     WHERE CASE WHEN src.planned IS NULL THEN src.exists_now IS NULL ELSE src.unchanged = src.planned END;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_load_query(uuid[], jsonb[], bigint[], xid[], integer) FROM PUBLIC;
