-- Hostile input and answers that used to be wrong, in the schema-core functions.
SET search_path = pgmigrate, public;

-- SQLSTATE, message and hint of a statement's error (or 'no error').
CREATE FUNCTION pg_temp.refusal(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN query_canceled OR others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg || coalesce(E'\nHINT: ' || nullif(hint, ''), '');
END $$;
-- A huge input under statement_timeout either finishes with the right answer or is
-- cancelled (57014): both print 'ok', so the output does not depend on timing.
CREATE FUNCTION pg_temp.finished_or_cancelled(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
    EXECUTE stmt INTO ok;
    RETURN CASE WHEN ok THEN 'ok' ELSE 'wrong answer' END;
EXCEPTION WHEN query_canceled THEN
    RETURN 'ok';
END $$;

-- 1. Type names: parsed without recursion; absurd ones refused with 22023 and a hint.
SELECT pg_temp.refusal($$SELECT pgmigrate.type_change_info('int' || repeat('[]', 60000), 'int')$$);
SELECT pg_temp.refusal($$SELECT pgmigrate.is_type_compatible('int', 'int' || repeat('[]', 20000))$$);
SELECT pg_temp.refusal($$SELECT pgmigrate.is_type_compatible('int[][][][][][][]', 'int[]')$$);
SELECT pg_temp.refusal($$SELECT pgmigrate.is_type_compatible(repeat('x', 5000), 'text')$$);
SELECT is_type_compatible('int[][][][][][]', 'int[]') AS six_dimensions_fine,
       is_type_compatible(repeat('(', 1000), repeat('(', 1000)) AS parentheses_only_match_themselves;
SELECT pg_temp.refusal($$SELECT pgmigrate.detect_breaking_changes('{}',
    jsonb_build_object('entities', jsonb_build_object('A', jsonb_build_object('fields', jsonb_build_object('f',
        jsonb_build_object('type', 'int' || repeat('[]', 60000)))))))$$);
SELECT pg_temp.refusal($$SELECT pgmigrate.check_schema_compatibility(
    '{"entities": {"A": {"fields": {"f": {"type": "int[][][][][][][][]"}}}}}', '{}')$$);
SELECT pg_temp.refusal($$SELECT pgmigrate.register_schema_version('9.9.9',
    jsonb_build_object('entities', jsonb_build_object('A', jsonb_build_object('fields', jsonb_build_object('f',
        jsonb_build_object('type', 'int' || repeat('[]', 60000)))))))$$);
SELECT count(*) AS versions FROM schema_versions;
-- Other echoed input is shortened too.
SELECT pg_temp.refusal($$SELECT pgmigrate.check_schema_compatibility('{}', '{}', repeat('x', 100000))$$);
-- analyze_sql reports such a statement instead of failing.
CREATE TABLE public.hostile (c int[]);
SELECT f->>'action' AS action, f->>'code' AS code
  FROM jsonb_array_elements(analyze_sql('ALTER TABLE public.hostile ALTER COLUMN c TYPE int' || repeat('[]', 3000))->'statements'->0->'findings') f;
SELECT analyze_sql('ALTER TABLE public.hostile ALTER COLUMN c TYPE int[3][4]')->'statements'->0->'findings'->0->>'code' AS bounds_do_not_rewrite;
DROP TABLE public.hostile;

-- 2. Long loops are linear and answer statement_timeout.
CREATE TEMP TABLE big AS
SELECT jsonb_build_object('entities', jsonb_build_object('E', jsonb_build_object('fields',
           jsonb_object_agg('f' || i, jsonb_build_object('type', 'integer'))))) AS old_s,
       jsonb_build_object('entities', jsonb_build_object('E', jsonb_build_object('fields',
           jsonb_object_agg('f' || i, jsonb_build_object('type', 'bigint'))))) AS new_s,
       jsonb_agg(jsonb_build_object('entities', jsonb_build_object('E', jsonb_build_object('fields',
           jsonb_build_object('f' || i, jsonb_build_object('type', 'uuid')))))) AS history,
       'UPDATE t SET a = ARRAY[' || string_agg('$q$where$q$', ', ') || ']' AS dollar_quotes,
       string_agg('ALTER TABLE t ADD COLUMN c' || i || ' int', '; ') AS statements
  FROM generate_series(1, 40000) i;
SET statement_timeout = '1s';
SELECT pg_temp.finished_or_cancelled($$SELECT jsonb_array_length(pgmigrate.check_schema_compatibility(old_s, new_s)->'changes') = 40000 FROM big$$) AS compatibility;
SELECT pg_temp.finished_or_cancelled($$SELECT (SELECT count(*) FROM jsonb_array_elements(pgmigrate.check_schema_compatibility('{"entities": {"E": {}}}', new_s, 'NONE', history)->'changes') c
                                               WHERE c->>'kind' = 'FIELD_READDED_WITH_DIFFERENT_TYPE') = 40000 FROM big$$) AS compatibility_history;
SELECT pg_temp.finished_or_cancelled($$SELECT jsonb_array_length(pgmigrate.detect_breaking_changes(old_s, new_s)) = 40000 FROM big$$) AS breaking;
SELECT pg_temp.finished_or_cancelled($$SELECT pgmigrate.analyze_sql(dollar_quotes)->'statements'->0->'findings'->0->>'code' = 'FULL_TABLE_UPDATE' FROM big$$) AS dollar_quotes;
SELECT pg_temp.finished_or_cancelled($$SELECT jsonb_array_length(pgmigrate.analyze_sql(statements)->'statements') = 40000 FROM big$$) AS statements;
RESET statement_timeout;

-- 3. Answers that used to be wrong.
-- Array bounds are decoration: int[3] is int[], int[3][4] is int[][] (and int[]).
SELECT is_type_compatible('int[3]', 'int[]') AS bounds, is_type_compatible('int[3][4]', 'int[][]') AS two_bounds,
       is_type_compatible('int[]', 'int[3]') AS reverse, type_change_info('int[3][4]', 'integer[]') AS info;
-- TIMESTAMP(7) is TIMESTAMP(6): PostgreSQL caps the precision.
SELECT type_change_info('timestamp(7)', 'timestamp') AS ts7, type_change_info('time(9)', 'time(6)')->'lossy' AS time9_lossy;
-- Defaults and enum values compare as JSON values, with their types.
SELECT c->>'kind' AS kind, c->>'detail' AS detail
  FROM jsonb_array_elements(check_schema_compatibility(
    '{"entities": {"A": {"fields": {"n": {"type": "string", "default": 1}, "m": {"type": "number", "default": 1.50},
                                    "e": {"type": "string", "enum": [null, "a"]}}}}}',
    '{"entities": {"A": {"fields": {"n": {"type": "string", "default": "1"}, "m": {"type": "number", "default": 1.5},
                                    "e": {"type": "string", "enum": ["", "a"]}}}}}')->'changes') c;
-- A required field cannot default to null.
SELECT pg_temp.refusal($$SELECT pgmigrate.check_schema_compatibility('{}',
    '{"entities": {"A": {"fields": {"f": {"type": "string", "nullable": false, "default": null}}}}}')$$);
SELECT pg_temp.refusal($$SELECT pgmigrate.register_schema_version('9.9.9',
    '{"entities": {"A": {"fields": {"f": {"type": "string", "nullable": "off", "default": null}}}}}')$$);
-- Closing an entity breaks BACKWARD (old documents with undeclared fields are refused);
-- opening one breaks FORWARD.
SELECT m, r->'compatible' AS compatible, r->'changes'->0->>'kind' AS kind
  FROM unnest(ARRAY['BACKWARD', 'FORWARD']) m,
       check_schema_compatibility('{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}',
                                  '{"entities": {"A": {"additional_fields": false, "fields": {"x": {"type": "text"}}}}}', m) r;
SELECT m, r->'compatible' AS compatible, r->'changes'->0->>'kind' AS kind
  FROM unnest(ARRAY['BACKWARD', 'FORWARD']) m,
       check_schema_compatibility('{"entities": {"A": {"additional_fields": false, "fields": {"x": {"type": "text"}}}}}',
                                  '{"entities": {"A": {"additional_fields": true, "fields": {"x": {"type": "text"}}}}}', m) r;
SELECT pg_temp.refusal($$SELECT pgmigrate.check_schema_compatibility('{}', '{"entities": {"A": {"additional_fields": "false"}}}')$$);
BEGIN;
SELECT register_schema_version('1', '{"entities": {"A": {"fields": {"x": {"type": "text"}}}}}', activate => true) IS NOT NULL AS registered;
SELECT pg_temp.refusal($$SELECT pgmigrate.register_schema_version('2', '{"entities": {"A": {"additional_fields": false, "fields": {"x": {"type": "text"}}}}}', activate => true)$$);
ROLLBACK;
-- nullable is read by PostgreSQL's own boolean parser.
SELECT c->>'kind' AS kind
  FROM jsonb_array_elements(check_schema_compatibility('{"entities": {"A": {"fields": {"f": {"nullable": " TRUE "}}}}}',
                                                       '{"entities": {"A": {"fields": {"f": {"nullable": "of"}}}}}')->'changes') c;
SELECT pg_temp.refusal($$SELECT pgmigrate.check_schema_compatibility('{}', '{"entities": {"A": {"fields": {"f": {"nullable": "o"}}}}}')$$);

-- analyze_sql: the syntax error's position is PostgreSQL's own (the same token earlier in
-- a string literal does not fool it; characters, not bytes), and parse failures about the
-- script itself (too deep nesting) are reported, not raised.
SELECT r->>'error' AS error, r->>'position' AS position
  FROM (VALUES (analyze_sql($$SELECT 'x FROM'; SELECT 1 FROM FROM$$)),
               (analyze_sql($$SELECT 'ééé'; SELEC 1$$)),
               (analyze_sql('SELECT ' || repeat('(', 100000) || '1' || repeat(')', 100000)))) t(r);
SELECT pg_temp.refusal($$SELECT pgmigrate.check_schema_compatibility('{}', jsonb_build_object('entities', jsonb_build_object('A',
    jsonb_build_object('fields', jsonb_build_object('f', jsonb_build_object('nullable', repeat('y', 100000)))))))$$) AS long_nullable;
