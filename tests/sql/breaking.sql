-- detect_breaking_changes: the reference's behaviour, the one addition, and refusals.
SET search_path = pgmigrate, public;

SELECT jsonb_pretty(detect_breaking_changes(
  '{"version": "1", "entities": {
      "User":  {"fields": {"id": {"type": "integer"}, "email": {"type": "varchar", "nullable": true},
                           "age": {"type": "integer"}, "score": {"type": "bigint"}}},
      "Order": {"fields": {"id": {"type": "uuid"}}}}}',
  '{"version": "2", "entities": {
      "User":  {"fields": {"id": {"type": "bigint"}, "email": {"type": "text", "nullable": false},
                           "score": {"type": "integer"},
                           "tenant": {"type": "uuid", "nullable": false},
                           "plan": {"type": "string", "nullable": false, "default": "free"},
                           "nick": {"type": "string", "nullable": false, "default": null}}}}}'));

-- No changes, and the empty cases.
SELECT detect_breaking_changes('{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}',
                               '{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}') AS unchanged,
       detect_breaking_changes('{}', '{}') AS empty,
       detect_breaking_changes('{}', '{"entities": {"A": {"fields": {"x": {"type": "text", "nullable": false}}}}}') AS new_entity,
       detect_breaking_changes(NULL, NULL) AS nulls;
-- A missing "entities" in the new schema, or a missing "fields", reports nothing, as the reference does.
SELECT detect_breaking_changes('{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}', '{"version": "2"}') AS no_entities,
       detect_breaking_changes('{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}', '{"entities": {"A": {}}}') AS no_fields,
       detect_breaking_changes('{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}', NULL) AS null_new;
-- Nullability read as PostgreSQL reads booleans; types compared as text.
SELECT detect_breaking_changes('{"entities": {"A": {"fields": {"x": {"type": 1, "nullable": "yes"}}}}}',
                               '{"entities": {"A": {"fields": {"x": {"type": 1.0, "nullable": "off"}}}}}');
-- Hostile names travel through untouched.
SELECT detect_breaking_changes($${"entities": {"Us'er\"; DROP TABLE x;--": {"fields": {"ünï cödé": {"type": "int"}, "": {"type": "text"}}}}}$$,
                               $${"entities": {"Us'er\"; DROP TABLE x;--": {"fields": {}}}}$$);
SELECT length(detect_breaking_changes(jsonb_build_object('entities', jsonb_build_object(repeat('E', 5000), '{"fields": {}}'::jsonb)),
                                      '{"entities": {}}')::text) AS long_name_result_length;

-- Malformed input: 22023 naming the JSON path.
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{"entities": []}', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{}', '{"entities": "x"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{"entities": null}', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{"entities": {"A B": {"fields": [1]}}}', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{"entities": {"A": {"fields": {"f": "text"}}}}', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{"entities": {"A": 3}}', '{}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('{}', '{"entities": {"A": {"fields": {"f": {"nullable": "maybe"}}}}}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes('[]', '{}')$$);
-- Very long names are shortened in the message.
SELECT pgm_test.expect_error($$SELECT pgmigrate.detect_breaking_changes(jsonb_build_object('entities', jsonb_build_object(repeat('E', 5000), 1)), '{}')$$);

-- Identical to the sketch's PL/pgSQL on 400 generated schema pairs; FIELD_REQUIRED_ADDED
-- is the only addition and always comes after the reference's changes.
SELECT setseed(0.1234);
CREATE TEMP TABLE pairs AS
SELECT i, old_s, pgm_ref.mutate_schema(old_s) AS new_s
  FROM (SELECT i, pgm_ref.random_schema(1 + (i % 6), 1 + (i % 9)) AS old_s FROM generate_series(1, 400) i) g;
CREATE TEMP TABLE compared AS
SELECT i, detect_breaking_changes(old_s, new_s) AS native, pgm_ref.detect_breaking_changes(old_s, new_s) AS oracle
  FROM pairs;
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE jsonb_array_length(oracle) > 0) AS pairs_with_changes,
       sum(jsonb_array_length(oracle)) AS reference_changes,
       count(*) FILTER (WHERE (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]')
                                 FROM jsonb_array_elements(native) WITH ORDINALITY t(e, n)
                                WHERE n <= jsonb_array_length(oracle)) <> oracle) AS prefix_mismatches,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(native) WITH ORDINALITY t(e, n)
                                      WHERE n > jsonb_array_length(oracle) AND e->>'type' <> 'FIELD_REQUIRED_ADDED')) AS unexpected_extras,
       sum(jsonb_array_length(native) - jsonb_array_length(oracle)) AS required_added
  FROM compared;
SELECT c->>'type' AS kind, c->>'severity' AS severity, count(*)
  FROM compared, jsonb_array_elements(native) c GROUP BY 1, 2 ORDER BY 1, 2;
