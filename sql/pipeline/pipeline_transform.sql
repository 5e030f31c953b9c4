-- Run a compiled pipeline over the batch items ord lo..hi as its author, output into
-- pg_temp._pgm_pipe_out. The whole slice runs as one statement. On an error: a transient
-- one (serialization failure, deadlock, lock timeout) is retried with capped, jittered
-- backoff when a step asks RETRY; otherwise, when a step asks SKIP, the slice is halved
-- and each half run (a bad item costs O(log n) statements, good items are written once);
-- a single failing item is attributed to the first step whose prefix fails on it, and
-- handled as that step says: SKIP records it in pg_temp._pgm_pipe_err, RETRY (exhausted
-- or not transient) and FAIL raise, undoing the batch. Returns the retries made.

-- A pipeline that sees its whole input at once (AGGREGATE, batch CUSTOM) is not halved:
-- when a SKIP step fails on it, the items that fail the pipeline up to that step on their
-- own are found by halving probes (_pipeline_skip_items), recorded and left out, and the
-- whole input run again without them. (An error of the pipeline's SQL rather than of its
-- documents fails the batch: see _pipeline_apply.)

-- Items of ord lo..hi that fail the first k steps on their own: recorded as errors of step
-- k, removed from the input. Returns how many.
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_skip_items(c jsonb, author regrole, author_path text, lo integer, hi integer, k integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    err text;
    state text;
    mid integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_temp._pgm_pipe_in i WHERE i.ord BETWEEN lo AND hi) THEN
        RETURN 0;
    END IF;
    BEGIN
        PERFORM pgmigrate._exec_as(author, author_path, pgmigrate._pipeline_sql(c, lo, hi, k, false));
        RAISE EXCEPTION 'pg_migrate probe passed';
    EXCEPTION WHEN others THEN
        IF SQLERRM = 'pg_migrate probe passed' THEN
            RETURN 0;
        END IF;
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
    END;
    IF lo < hi THEN
        mid := lo + (hi - lo) / 2;
        RETURN pgmigrate._pipeline_skip_items(c, author, author_path, lo, mid, k)
             + pgmigrate._pipeline_skip_items(c, author, author_path, mid + 1, hi, k);
    END IF;
    INSERT INTO pg_temp._pgm_pipe_err (ord, entity_id, step, error, sqlstate, original)
    SELECT i.ord, i.entity_id, c->'steps'->(k - 1)->>'name', err, state, i.doc FROM pg_temp._pgm_pipe_in i WHERE i.ord = lo;
    DELETE FROM pg_temp._pgm_pipe_in i WHERE i.ord = lo;
    RETURN 1;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_skip_items(jsonb, regrole, text, integer, integer, integer) FROM PUBLIC;

-- (enable_memoize off: Memoize would hash every (1 KB+) document of the lateral rule chain
-- for nothing. Like every SET clause, it lasts for the call only.)
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_transform(c jsonb, author regrole, author_path text, lo integer, hi integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET enable_memoize = off AS $$
#variable_conflict use_variable
DECLARE
    n_steps integer := jsonb_array_length(c->'steps');
    body text;
    err text;
    state text;
    detail text;
    attempt integer := 0;
    retries integer := 0;
    has_skip boolean := (c->'steps') @> '[{"errorHandling": "SKIP"}]';
    has_retry boolean := (c->'steps') @> '[{"errorHandling": "RETRY"}]';
    failed integer;
    mode text;
    mid integer;
    who text;
BEGIN
    IF lo > hi THEN
        RETURN 0;
    END IF;
    body := pgmigrate._pipeline_sql(c, lo, hi, n_steps, true);
    LOOP
        BEGIN
            PERFORM pgmigrate._exec_as(author, author_path, body);
            RETURN retries;
        EXCEPTION WHEN others THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
        END;
        IF state IN ('40001', '40P01', '55P03') AND has_retry AND attempt < (c->>'maxRetries')::int THEN
            attempt := attempt + 1;
            retries := retries + 1;
            PERFORM pg_sleep(least(0.01 * power(2, attempt), 1.0) * (0.5 + random() / 2));
            CONTINUE;
        END IF;
        IF has_skip AND lo < hi AND NOT (c->>'wholeInput')::boolean THEN
            mid := lo + (hi - lo) / 2;
            retries := retries + pgmigrate._pipeline_transform(c, author, author_path, lo, mid);
            RETURN retries + pgmigrate._pipeline_transform(c, author, author_path, mid + 1, hi);
        END IF;
        -- The failing step: the first whose prefix fails on this slice (probes roll back).
        failed := n_steps;
        FOR k IN 1 .. n_steps - 1 LOOP
            BEGIN
                PERFORM pgmigrate._exec_as(author, author_path, pgmigrate._pipeline_sql(c, lo, hi, k, false));
                RAISE EXCEPTION 'pg_migrate probe passed';
            EXCEPTION WHEN others THEN
                IF SQLERRM <> 'pg_migrate probe passed' THEN
                    failed := k;
                    EXIT;
                END IF;
            END;
        END LOOP;
        mode := c->'steps'->(failed - 1)->>'errorHandling';
        IF mode = 'SKIP' AND lo < hi AND (c->>'wholeInput')::boolean
              AND pgmigrate._pipeline_skip_items(c, author, author_path, lo, hi, failed) > 0 THEN
            CONTINUE;  -- the whole input again, without the items that failed on their own
        END IF;
        IF mode = 'SKIP' THEN
            INSERT INTO pg_temp._pgm_pipe_err (ord, entity_id, step, error, sqlstate, original)
            SELECT i.ord, i.entity_id, c->'steps'->(failed - 1)->>'name', err, state, i.doc
              FROM pg_temp._pgm_pipe_in i WHERE i.ord BETWEEN lo AND hi;
            RETURN retries;
        END IF;
        SELECT CASE WHEN lo = hi THEN format(' on entity %s', i.entity_id) ELSE '' END INTO who
          FROM pg_temp._pgm_pipe_in i WHERE i.ord = lo;
        RAISE EXCEPTION 'pipeline "%" step "%" failed%: %', c->>'name', c->'steps'->(failed - 1)->>'name', coalesce(who, ''), err
            USING ERRCODE = state, DETAIL = coalesce(detail, ''),
                  HINT = CASE WHEN state LIKE '42%' THEN 'An error of the pipeline''s SQL (a column, table or function, or a privilege), not of a document: '
                                   || 'errorHandling SKIP does not apply. Fix the definition or the privileges and CALL pgmigrate.run_pipeline again.'
                              ELSE CASE WHEN mode = 'RETRY' THEN format('Transient errors were retried %s times. ', attempt) ELSE '' END
                                   || 'With errorHandling SKIP a failing item is recorded in pgmigrate.pipeline_errors and the run goes on.' END;
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_transform(jsonb, regrole, text, integer, integer) FROM PUBLIC;
