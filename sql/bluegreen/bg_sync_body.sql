-- The PL/pgSQL statements that carry one write (_bg_op, old row _bg_o, new row _bg_n of
-- src) into dst, idempotently: a delete, or an update that changes the key, removes the
-- old key's row; an insert or update upserts the new row on dst's key. Compiled into
-- the sync trigger functions and the replay functions (static SQL: plans are cached).
CREATE OR REPLACE FUNCTION pgmigrate._bg_sync_body(src regclass, dst regclass, keycols text[], exprs jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cols text;
    vals text;
    sets text;
    keyexprs text;
    keyalias text;
    keyjoin text;
    keychanged text;
    missing text;
    simple boolean;
BEGIN
    SELECT string_agg(format('%I', m.col), ', ' ORDER BY m.attnum), string_agg(m.expr, ', ' ORDER BY m.attnum),
           string_agg(format('%I = EXCLUDED.%I', m.col, m.col), ', ' ORDER BY m.attnum) FILTER (WHERE m.col <> ALL (keycols)
               AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = dst AND a.attnum = m.attnum AND a.attidentity = 'a'))
      INTO cols, vals, sets FROM pgmigrate._bg_column_map(src, dst, exprs) m;
    SELECT string_agg(k.name, ', ') FILTER (WHERE m.col IS NULL),
           string_agg(m.expr, ', ' ORDER BY k.ord), string_agg(format('_bg_k%s', k.ord), ', ' ORDER BY k.ord),
           string_agg(format('t.%I = k._bg_k%s', k.name, k.ord), ' AND ' ORDER BY k.ord),
           bool_and(NOT coalesce(exprs, '{}') ? k.name)
      INTO missing, keyexprs, keyalias, keyjoin, simple
      FROM unnest(keycols) WITH ORDINALITY k(name, ord) LEFT JOIN pgmigrate._bg_column_map(src, dst, exprs) m ON m.col = k.name;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'key columns % of % get no value from %', missing, dst, src USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Keep the key columns in both shapes, or give them an expression in the mapping.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = dst AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
                     AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM unnest(i.indkey::int2[]) x
                            JOIN pg_attribute a ON a.attrelid = dst AND a.attnum = x)
                         = (SELECT array_agg(x ORDER BY x) FROM unnest(keycols) x)) THEN
        RAISE EXCEPTION '% has no unique index on its key (%)', dst, array_to_string(keycols, ', ')
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'The migration must keep the key unique in both colors.';
    END IF;
    -- A key change is seen on src's own key columns when the key maps one to one.
    IF simple AND NOT EXISTS (SELECT 1 FROM unnest(keycols) k WHERE NOT EXISTS (
                                SELECT 1 FROM pg_attribute a WHERE a.attrelid = src AND a.attname = k AND NOT a.attisdropped)) THEN
        SELECT format('ROW(%s) IS DISTINCT FROM ROW(%s)', string_agg(format('_bg_o.%I', k), ', '), string_agg(format('_bg_n.%I', k), ', '))
          INTO keychanged FROM unnest(keycols) k;
    ELSE
        keychanged := format('(SELECT ROW(%s) FROM (SELECT _bg_o.*) AS s) IS DISTINCT FROM (SELECT ROW(%s) FROM (SELECT _bg_n.*) AS s)',
                             keyexprs, keyexprs);
    END IF;
    RETURN format($b$
    IF _bg_op = 'DELETE' OR (_bg_op = 'UPDATE' AND %s) THEN
        DELETE FROM %s AS t USING (SELECT %s FROM (SELECT _bg_o.*) AS s) AS k(%s) WHERE %s;
    END IF;
    IF _bg_op <> 'DELETE' THEN
        INSERT INTO %s AS t (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM (SELECT _bg_n.*) AS s
            ON CONFLICT (%s) DO %s;
    END IF;
$b$, keychanged, dst, keyexprs, keyalias, keyjoin, dst, cols, vals,
     (SELECT string_agg(format('%I', k), ', ') FROM unnest(keycols) k),
     CASE WHEN sets IS NULL THEN 'NOTHING' ELSE 'UPDATE SET ' || sets END);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_sync_body(regclass, regclass, text[], jsonb) FROM PUBLIC;
