-- After the migration ran in the target: columns that the mapping computes ("up") get
-- their values from the live rows (the copy was made in the old shape). Runs as the
-- deployment's author, since it evaluates the mapping. Writes made meanwhile are in the
-- log, replayed afterwards in order, so the result is current.
CREATE OR REPLACE FUNCTION pgmigrate._bg_backfill_mapped(d pgmigrate.blue_green_deployments) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab jsonb;
    up jsonb;
    sets text;
    vals text;
    keys text;
    joins text;
    n bigint := 0;
BEGIN
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        up := d.options #> ARRAY['mapping', tab->>'name', 'up'];
        CONTINUE WHEN up IS NULL OR up = '{}';
        SELECT string_agg(format('%I = m._bg_v%s', c.col, c.attnum), ', '), string_agg(format('%s AS _bg_v%s', c.expr, c.attnum), ', ')
          INTO sets, vals
          FROM pgmigrate._bg_column_map((tab->>'src')::regclass, (tab->>'tgt')::regclass, up) c
         WHERE up ? c.col AND c.col <> ALL (ARRAY(SELECT jsonb_array_elements_text(tab->'key')));
        CONTINUE WHEN sets IS NULL;
        SELECT string_agg(format('s.%I AS _bg_k%s', k, o), ', '), string_agg(format('t.%I = m._bg_k%s', k, o), ' AND ')
          INTO keys, joins FROM jsonb_array_elements_text(tab->'key') WITH ORDINALITY x(k, o);
        n := n + pgmigrate._exec_as(d.author, 'pg_catalog, pg_temp',
                 format('UPDATE %s AS t SET %s FROM (SELECT %s, %s FROM %s AS s) AS m WHERE %s',
                        tab->>'tgt', sets, keys, vals, tab->>'src', joins));
    END LOOP;
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_backfill_mapped(pgmigrate.blue_green_deployments) FROM PUBLIC;
