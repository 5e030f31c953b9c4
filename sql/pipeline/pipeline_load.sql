-- Load the current, live documents of an entity type (those of entity ids `ids`, or all
-- when NULL) into the batch's input table (at most lim of them, by entity id), locking
-- them (lock) against concurrent writers for the batch: a short lock_timeout, retried
-- with capped jittered backoff. (Separate statements per case, so a cached generic plan
-- never trades the current-version index for a scan of the whole store.)

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_load(entity_type text, ids uuid[], lim integer, lock boolean, lock_timeout_ms integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    n integer;
    attempt integer := 0;
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
    LOOP
        BEGIN
            IF ids IS NULL THEN
                INSERT INTO pg_temp._pgm_pipe_in (ord, entity_id, row_id, doc)
                SELECT row_number() OVER (ORDER BY q.entity_id), q.entity_id, q.row_id, q.content FROM (
                    SELECT t.entity_id, t.row_id, t.content FROM pgmigrate.temporal_entities t
                     WHERE t.entity_type = _pipeline_load.entity_type AND t.valid_to = 'infinity' AND NOT t.is_deleted
                     ORDER BY t.entity_id LIMIT lim FOR UPDATE OF t) q;
            ELSE
                INSERT INTO pg_temp._pgm_pipe_in (ord, entity_id, row_id, doc)
                SELECT row_number() OVER (ORDER BY q.entity_id), q.entity_id, q.row_id, q.content FROM (
                    SELECT t.entity_id, t.row_id, t.content FROM pgmigrate.temporal_entities t
                     WHERE t.entity_id = ANY (ids) AND t.valid_to = 'infinity'
                       AND t.entity_type = _pipeline_load.entity_type AND NOT t.is_deleted
                     ORDER BY t.entity_id LIMIT lim FOR UPDATE OF t) q;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            RETURN n;
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
