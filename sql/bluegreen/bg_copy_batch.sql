-- One committed batch of the copy: the next batch_size rows of the live table after the
-- last key copied (keyset over the key, so a resumed copy continues where it stopped and
-- the copy ends under sustained inserts: later rows reach the target by the log).
-- Returns the table's entry with rows, last_key and copied updated.
CREATE OR REPLACE FUNCTION pgmigrate._bg_copy_batch(tab jsonb, batch_size integer) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src regclass := (tab->>'src')::regclass;
    cols text;
    keys text;
    keytyped text;
    keytext text;
    keydesc text;
    n bigint;
    last jsonb;
BEGIN
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    SELECT string_agg(format('%I', k.name), ', ' ORDER BY k.ord),
           string_agg(format('($1->>%s)::%s', k.ord - 1, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY k.ord),
           string_agg(format('%I::text', k.name), ', ' ORDER BY k.ord),
           string_agg(format('%I DESC', k.name), ', ' ORDER BY k.ord)
      INTO keys, keytyped, keytext, keydesc
      FROM jsonb_array_elements_text(tab->'key') WITH ORDINALITY k(name, ord)
      JOIN pg_attribute a ON a.attrelid = src AND a.attname = k.name;
    EXECUTE format('WITH b AS (SELECT %s FROM %s %s ORDER BY %s LIMIT %s),
                         ins AS (INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT * FROM b)
                    SELECT (SELECT count(*) FROM b), (SELECT jsonb_build_array(%s) FROM b ORDER BY %s LIMIT 1)',
                   cols, src, CASE WHEN jsonb_typeof(tab->'last_key') IS DISTINCT FROM 'array' THEN '' ELSE format('WHERE (%s) > (%s)', keys, keytyped) END,
                   keys, batch_size, tab->>'tgt', cols, keytext, keydesc)
       INTO n, last USING tab->'last_key';
    RETURN tab || jsonb_build_object('rows', coalesce((tab->>'rows')::bigint, 0) + n,
                                     'last_key', coalesce(last, tab->'last_key'), 'copied', n < batch_size);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_copy_batch(jsonb, integer) FROM PUBLIC;
