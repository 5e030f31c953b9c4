-- The statement that runs a compiled pipeline's first `upto` steps over the batch items
-- ord lo..hi: inserting the output and the documents out of each step (insert), or only
-- evaluating it (a probe).

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_sql(c jsonb, lo integer, hi integer, upto integer, insert boolean) RETURNS text
IMMUTABLE LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('WITH s0 AS (SELECT i.ord, i.entity_id, i.doc, true AS c FROM pg_temp._pgm_pipe_in i WHERE i.ord BETWEEN %s AND %s)',
                  lo, hi)
        || (SELECT string_agg(s.value, '' ORDER BY s.n) FROM jsonb_array_elements_text(c->'stepsSql') WITH ORDINALITY s(value, n)
             WHERE s.n <= upto)
        -- A full run also records how many documents came out of each step.
        || CASE WHEN insert AND upto = jsonb_array_length(c->'stepOut')
                THEN ', _pgm_counts AS (INSERT INTO pg_temp._pgm_pipe_cnt (step, n) '
                     || (SELECT string_agg(format('SELECT %s, pg_catalog.count(*) FROM %s', s.n, s.value), ' UNION ALL ' ORDER BY s.n)
                           FROM jsonb_array_elements_text(c->'stepOut') WITH ORDINALITY s(value, n))
                     || ')'
                ELSE '' END
        || CASE WHEN insert
                THEN ' INSERT INTO pg_temp._pgm_pipe_out (ord, entity_id, doc) SELECT o.ord, o.entity_id, o.doc FROM '
                ELSE ' SELECT pg_catalog.count(*) FROM ' END
        || (c->'stepOut'->>(upto - 1)) || ' o';
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_sql(jsonb, integer, integer, integer, boolean) FROM PUBLIC;
