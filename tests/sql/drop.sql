-- DROP EXTENSION removes everything it created, schema included.
DROP EXTENSION pg_migrate;
SELECT count(*) AS leftover_schemas FROM pg_namespace WHERE nspname = 'pgmigrate';
SELECT count(*) AS leftover_functions FROM pg_proc WHERE proname IN ('jsonb_deep_merge', 'detect_breaking_changes') AND pronamespace <> 'pgm_ref'::regnamespace;
-- And it installs again cleanly.
CREATE EXTENSION pg_migrate;
SELECT pgmigrate.jsonb_deep_merge('{"a": 1}', '{"b": 2}');
DROP EXTENSION pg_migrate;
