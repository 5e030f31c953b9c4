-- What the database knows about a canary's current check window: requests, errors and
-- durations per side (canary_report), custom metric values (each query run as the role
-- that stored it; an error or a non-number is "no value", which holds, never passes),
-- and data consistency between the colors.
CREATE OR REPLACE FUNCTION pgmigrate._canary_observe(c pgmigrate.canaries) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    obs jsonb;
    m pgmigrate.canary_custom_metrics;
    v double precision;
    custom jsonb := '[]';
    problems jsonb := '[]';
BEGIN
    SELECT jsonb_build_object('percentage', c.percentage,
        'canary', jsonb_build_object('requests', count(*) FILTER (WHERE canary), 'errors', count(*) FILTER (WHERE canary AND NOT ok),
                                     'duration_ms_sum', coalesce(sum(duration_ms) FILTER (WHERE canary), 0)),
        'baseline', jsonb_build_object('requests', count(*) FILTER (WHERE NOT canary), 'errors', count(*) FILTER (WHERE NOT canary AND NOT ok),
                                       'duration_ms_sum', coalesce(sum(duration_ms) FILTER (WHERE NOT canary), 0)))
      INTO obs
      FROM pgmigrate.canary_metrics WHERE canary_id = c.canary_id AND window_no = c.window_no;
    FOR m IN SELECT * FROM pgmigrate.canary_custom_metrics WHERE canary_id = c.canary_id ORDER BY name LOOP
        BEGIN
            -- The first column of the first row, whatever its type, as a number.
            v := pgmigrate._query_as(m.stored_by, m.stored_search_path,
                     format('SELECT x.v::text FROM (%s) AS x(v) LIMIT 1', rtrim(m.query, E'; \n\t')))::double precision;
        EXCEPTION WHEN OTHERS THEN
            v := NULL;
            problems := problems || jsonb_build_object('metric', m.name, 'error', SQLERRM);
        END;
        custom := custom || jsonb_build_array(jsonb_build_array(m.name, v));
    END LOOP;
    RETURN obs || jsonb_build_object('custom', custom, 'custom_errors', problems)
               || pgmigrate._canary_consistency(c);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_observe(pgmigrate.canaries) FROM PUBLIC;
