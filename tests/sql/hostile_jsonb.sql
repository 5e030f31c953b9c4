-- jsonb_deep_merge against hostile documents: deep nesting and sizes at jsonb's limits.
-- Every outcome is a result or a clean ERROR with PostgreSQL's own SQLSTATE, never a crash.
SET search_path = pgmigrate, public;

-- A result, or 54001 with PostgreSQL's HINT; anything else is shown as it is.
CREATE FUNCTION pg_temp.deep_outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    hint text;
BEGIN
    EXECUTE stmt;
    RETURN 'result';
EXCEPTION WHEN statement_too_complex THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN '54001: ' || SQLERRM || CASE WHEN hint LIKE 'Increase the configuration parameter "max_stack_depth"%'
                                        THEN ' (PostgreSQL''s hint)' ELSE ' (hint: ' || coalesce(hint, 'none') || ')' END;
END $$;

-- The highest max_stack_depth this server accepts (the OS stack limit less PostgreSQL's margin).
DO $$
DECLARE
    kb int := 65536;
BEGIN
    LOOP
        BEGIN
            EXECUTE format('SET max_stack_depth = %L', kb || 'kB');
            EXIT;
        EXCEPTION WHEN invalid_parameter_value THEN
            kb := kb - 128;
        END;
    END LOOP;
END $$;
SELECT current_setting('max_stack_depth') <> '2MB' AS raised_max_stack_depth;

-- Documents as deep as jsonb_in accepts here, stored: 30,000 and 40,000 levels, or the
-- deepest the cast takes at this stack depth (recorded, not printed: it depends on the OS).
CREATE TEMP TABLE deep (want int, depth int, doc jsonb);
DO $$
DECLARE
    want int;
    n int;
BEGIN
    FOREACH want IN ARRAY ARRAY[30000, 40000] LOOP
        n := want;
        LOOP
            BEGIN
                INSERT INTO deep VALUES (want, n, (repeat('{"a":', n) || '1' || repeat('}', n))::jsonb);
                EXIT;
            EXCEPTION WHEN statement_too_complex THEN
                n := n - 1000;
            END;
        END LOOP;
    END LOOP;
END $$;
SELECT want, depth >= 10000 AS deep_enough FROM deep ORDER BY want;

-- At the highest stack depth: merging a deep document with itself (every level overlaps,
-- so the merge and the writer recurse all the way down).
SELECT want, pg_temp.deep_outcome(format('SELECT pgmigrate.jsonb_deep_merge(doc, doc) FROM deep WHERE want = %s', want))
           IN ('result', '54001: stack depth limit exceeded (PostgreSQL''s hint)') AS result_or_54001
  FROM deep ORDER BY want;
SELECT 'server alive' AS status;

-- Back at the default 2MB, the same stored documents cannot be merged: a clean 54001.
RESET max_stack_depth;
SELECT want, pg_temp.deep_outcome(format('SELECT pgmigrate.jsonb_deep_merge(doc, doc) FROM deep WHERE want = %s', want)) AS merge_self
  FROM deep ORDER BY want;
SELECT want, pg_temp.deep_outcome(format($q$SELECT pgmigrate.jsonb_deep_merge(doc, jsonb_build_object('a', doc)) FROM deep WHERE want = %s$q$, want)) AS merge_shifted
  FROM deep ORDER BY want;
-- One side deep and the other with a disjoint key: the deep subtree is copied as it is,
-- no recursion. (Compared as text: jsonb's own = and - recurse and hit the stack limit here.)
SELECT want, md5(jsonb_deep_merge('{"b": 1}', doc)::text) = md5(left(doc::text, -1) || ', "b": 1}') AS deep_right,
       md5(jsonb_deep_merge(doc, '{"b": 1}')::text) = md5(left(doc::text, -1) || ', "b": 1}') AS deep_left
  FROM deep ORDER BY want;
SELECT 'server alive' AS status;

-- Sizes: jsonb's limit is on a container's whole size (header, JEntries, padding, data),
-- 268435455 bytes (28-bit offsets). Two strings of 134217720 bytes fit in data (268435442
-- bytes with the keys) but not with the header and JEntries: ERROR 54000 in PostgreSQL's words,
-- the same that jsonb's own concatenation gives for the same object. (Long strings are made
-- with repeat() of 8 or 10 characters: repeat() is slow one character at a time.)
SELECT pgm_test.expect_error($$
    SELECT pgmigrate.jsonb_deep_merge(jsonb_build_object('a', repeat('xxxxxxxx', 16777215)),
                                      jsonb_build_object('b', repeat('yyyyyyyy', 16777215)))$$) AS two_128mb_values;
-- Just under the limit: a result whose root container fits in jsonb's 28 bits (so it can be
-- reloaded; the property tests check reloading on many smaller documents).
SELECT pg_column_size(r) - 4 AS root_container_bytes, pg_column_size(r) - 4 <= 268435455 AS fits, length(r->>'a') AS a, length(r->>'b') AS b
  FROM (SELECT pgmigrate.jsonb_deep_merge(jsonb_build_object('a', repeat('xxxxxxxxxx', 13421770)),
                                          jsonb_build_object('b', repeat('yyyyyyyyyy', 13421770))) AS r OFFSET 0) m;
SELECT 'server alive' AS status;
