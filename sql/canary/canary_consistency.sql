-- data_consistency: the share of sampled canary rows that agree between the colors, the
-- deployment's mapping applied. Samples up to consistencySample rows per deployed table
-- that has the keyColumn column, whose key routes to the canary, from the live color,
-- and compares each with the row of the same key in the target color (an md5 of the
-- mapped columns). Runs as the deployment's author, like blue_green_validate (the
-- mapping is its code). Without keyColumn, or with no canary row yet, it is not measured
-- ({"data_consistency": null}): the metric is left out of the score.
CREATE OR REPLACE FUNCTION pgmigrate._canary_consistency(c pgmigrate.canaries) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    tab jsonb;
    keycol text := c.options->>'keyColumn';
    srcx text;
    tgtx text;
    joins text;
    r text;
    total bigint := 0;
    agree bigint := 0;
BEGIN
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE deployment_id = c.deployment_id;
    IF keycol IS NULL OR d.state NOT IN ('ready', 'rolled_back', 'switched') THEN
        RETURN jsonb_build_object('data_consistency', NULL, 'consistency_keys', 0);
    END IF;
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = (tab->>'src')::regclass AND a.attname = keycol
                                     AND a.attnum > 0 AND NOT a.attisdropped);
        SELECT string_agg(m.expr, ', ' ORDER BY m.attnum), string_agg(format('t.%I', m.col), ', ' ORDER BY m.attnum) INTO srcx, tgtx
          FROM pgmigrate._bg_column_map((tab->>'src')::regclass, (tab->>'tgt')::regclass, d.options #> ARRAY['mapping', tab->>'name', 'up']) m;
        SELECT string_agg(format('t.%I = s.%I', k, k), ' AND ') INTO joins FROM jsonb_array_elements_text(tab->'key') k;
        r := pgmigrate._query_as(d.author, 'pg_catalog, pg_temp', format(
            'SELECT count(*) || '','' || count(*) FILTER (WHERE x.sh = x.th)
               FROM (SELECT md5(ROW(%s)::text) AS sh, (SELECT md5(ROW(%s)::text) FROM %s AS t WHERE %s) AS th
                       FROM %s AS s WHERE pgmigrate.canary_bucket(%L, s.%I::text) <= %s LIMIT %s) x',
            srcx, tgtx, tab->>'tgt', joins, tab->>'src', c.salt, keycol, c.percentage, (c.options->>'consistencySample')::int));
        total := total + split_part(r, ',', 1)::bigint;
        agree := agree + split_part(r, ',', 2)::bigint;
    END LOOP;
    RETURN jsonb_build_object('data_consistency', CASE WHEN total > 0 THEN agree::double precision / total END, 'consistency_keys', total);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_consistency(pgmigrate.canaries) FROM PUBLIC;
