-- How a row of src becomes a row of dst: for each column of dst that gets a value, the
-- SQL expression over a row "s" of src, cast to the column's type. The mapping's
-- expression if it names the column; else the same-named column of src; else nothing
-- (the column takes its default on insert and keeps its value on update). Generated
-- columns of dst are computed by dst.
CREATE OR REPLACE FUNCTION pgmigrate._bg_column_map(src regclass, dst regclass, exprs jsonb)
RETURNS TABLE (col text, expr text, attnum smallint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname::text,
           format('(%s)::%s', coalesce(exprs->>a.attname, format('s.%I', b.attname)), format_type(a.atttypid, a.atttypmod)),
           a.attnum
      FROM pg_attribute a
      LEFT JOIN pg_attribute b ON b.attrelid = src AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped
     WHERE a.attrelid = dst AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND (coalesce(exprs, '{}') ? a.attname OR b.attname IS NOT NULL)
     ORDER BY a.attnum
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_column_map(regclass, regclass, jsonb) FROM PUBLIC;
