-- jsonb_deep_merge: rules, formatting, hostile keys, sizes, and agreement with a SQL reference.
SET search_path = pgmigrate, public;

-- Objects merge recursively; b wins on conflicts; arrays are replaced; explicit nulls kept.
SELECT jsonb_deep_merge('{"a": {"b": 1, "c": [1, 2]}, "d": 1.50, "z": null}',
                        '{"a": {"c": [3], "e": null}, "d": 2}');
SELECT jsonb_deep_merge('{"a": {"x": {"y": 1}}}', '{"a": {"x": {"z": 2}}}');
SELECT jsonb_deep_merge('{"a": {"x": 1}}', '{"a": 5}') AS object_replaced_by_scalar,
       jsonb_deep_merge('{"a": 5}', '{"a": {"x": 1}}') AS scalar_replaced_by_object,
       jsonb_deep_merge('{"a": {"x": 1}}', '{"a": null}') AS null_wins;
-- If either side is not an object, the result is b.
SELECT jsonb_deep_merge('{}', '{}') AS empty,
       jsonb_deep_merge('[1, 2]', '{"a": 1}') AS array_left,
       jsonb_deep_merge('{"a": 1}', '[3]') AS array_right,
       jsonb_deep_merge('{"a": 1}', '"s"') AS scalar_right,
       jsonb_deep_merge('{"a": 1}', 'null') AS json_null_right,
       jsonb_deep_merge('{"a": 1}', '{}') AS empty_right,
       jsonb_deep_merge('{}', '{"a": 1}') AS empty_left;
-- STRICT: SQL NULL in, SQL NULL out.
SELECT jsonb_deep_merge(NULL, '{}') IS NULL AS null_left, jsonb_deep_merge('{}', NULL) IS NULL AS null_right;
-- Number formatting and key order round-trip exactly as jsonb holds them.
SELECT jsonb_deep_merge('{"bbb": 1.500, "a": 1e3, "cc": -0.0}', '{"dddd": 12345678901234567890.12345678901234567890}');
SELECT jsonb_deep_merge('{"bbb": 1.500}', '{"a": 1}')::text = ('{"bbb": 1.500}'::jsonb || '{"a": 1}')::text AS same_text_as_concat;
-- Hostile and unicode keys, the empty key, escapes.
SELECT jsonb_deep_merge('{"": {"x": 1}, "a\"b": 1, "ключ": {"ü": 1}, "tab\t": 1}',
                        '{"": {"y": 2}, "ключ": {"ö": 2}, "🙂": "\u0041"}');
-- Long keys and values.
SELECT length(jsonb_deep_merge(jsonb_build_object(repeat('k', 10000), repeat('v', 100000)),
                               jsonb_build_object(repeat('k', 10000), jsonb_build_object('n', 1)))::text);

-- Agreement with the recursive SQL reference on 500 random document pairs.
SELECT setseed(0.42);
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE jsonb_deep_merge(a, b) <> pgm_ref.jsonb_deep_merge(a, b)) AS mismatches,
       count(*) FILTER (WHERE jsonb_deep_merge(a, b)::text <> pgm_ref.jsonb_deep_merge(a, b)::text) AS text_mismatches
  FROM (SELECT pgm_ref.random_doc(3, 6) AS a, pgm_ref.random_doc(3, 6) AS b FROM generate_series(1, 500)) d;

-- A ~400 KB document merges like the reference and keeps every key.
CREATE TEMP TABLE big AS
SELECT (SELECT jsonb_object_agg('key' || i, jsonb_build_object('n', i, 's', md5(i::text), 'nested', jsonb_build_object('a', i)))
          FROM generate_series(1, 4000) i) AS a,
       (SELECT jsonb_object_agg('key' || (i * 2), jsonb_build_object('n', -i, 'nested', jsonb_build_object('b', i)))
          FROM generate_series(1, 4000) i) AS b;
SELECT octet_length(a::text) > 300000 AS big_enough,
       jsonb_deep_merge(a, b) = pgm_ref.jsonb_deep_merge(a, b) AS agrees,
       (SELECT count(*) FROM jsonb_object_keys(jsonb_deep_merge(a, b))) AS keys
  FROM big;

-- Deep nesting: a result or a clean ERROR (54001), never a crash.
SELECT jsonb_deep_merge((repeat('{"a":', 3000) || '1' || repeat('}', 3000))::jsonb,
                        (repeat('{"a":', 3000) || '{"b":2}' || repeat('}', 3000))::jsonb)
       #> array_fill('a'::text, ARRAY[3000]) AS deep_3000_bottom;
-- The deepest document the jsonb cast accepts at this stack depth (hostile_jsonb.sql goes further).
CREATE TEMP TABLE deepest AS SELECT NULL::jsonb AS doc;
DO $$
DECLARE
    n int := 100000;
BEGIN
    LOOP
        BEGIN
            UPDATE deepest SET doc = (repeat('{"a":', n) || '1' || repeat('}', n))::jsonb;
            EXIT;
        EXCEPTION WHEN statement_too_complex THEN
            n := n - 2000;
        END;
    END LOOP;
END $$;
SELECT pgm_test.expect_error('SELECT pgmigrate.jsonb_deep_merge(doc, doc) FROM deepest')
       IN ('no error', '54001: stack depth limit exceeded') AS deepest_castable_result_or_54001;
-- One-sided depth takes b as it is.
SELECT jsonb_deep_merge('{"a": 1}', (repeat('{"a":', 5000) || '1' || repeat('}', 5000))::jsonb) IS NOT NULL AS one_sided;
SELECT 'server alive' AS status;

-- Usable where immutability matters: an index expression and a generated column.
CREATE TEMP TABLE docs (base jsonb, patch jsonb, merged jsonb GENERATED ALWAYS AS (pgmigrate.jsonb_deep_merge(base, patch)) STORED);
INSERT INTO docs VALUES ('{"a": {"b": 1}}', '{"a": {"c": 2}}');
CREATE INDEX ON docs ((pgmigrate.jsonb_deep_merge(base, patch) -> 'a'));
SELECT merged FROM docs;
SELECT provolatile, proisstrict, proparallel FROM pg_proc WHERE oid = 'pgmigrate.jsonb_deep_merge'::regproc;
