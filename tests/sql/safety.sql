-- Pre-flight safety: a corpus of real-world statements, classified, and the report.
SET search_path = pgmigrate, public;
CREATE TABLE public.users (id int, name varchar(100), email text, legacy text, org int);
CREATE TABLE public.orgs (id int PRIMARY KEY);

-- Severities as analyze_sql gives them for one step: a statement that needs autocommit,
-- alone in its step, runs as a phase of its own under run_migration (MEDIUM
-- NEEDS_RUN_MIGRATION; execute_migration refuses it); sharing a step it is CRITICAL.
CREATE TEMP TABLE corpus (n serial, sql text, expected_severity text, expected_lock text);
INSERT INTO corpus (sql, expected_severity, expected_lock) VALUES
  ('ALTER TABLE public.users ADD COLUMN nickname text', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD COLUMN score int DEFAULT 0', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD COLUMN created timestamptz DEFAULT now()', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD COLUMN token uuid DEFAULT gen_random_uuid()', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD COLUMN seq bigserial', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD COLUMN twice int GENERATED ALWAYS AS (id * 2) STORED', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD COLUMN must int NOT NULL', 'MEDIUM', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE varchar(200)', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE text', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE varchar(50)', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN id TYPE bigint', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN id SET DATA TYPE bigint USING id::bigint', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN email SET NOT NULL', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN email DROP NOT NULL', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ALTER COLUMN email SET DEFAULT ''none''', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0)', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0) NOT VALID', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users VALIDATE CONSTRAINT positive_id', 'LOW', 'SHARE UPDATE EXCLUSIVE'),
  ('ALTER TABLE public.users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES public.orgs (id)', 'HIGH', 'SHARE ROW EXCLUSIVE'),
  ('ALTER TABLE public.users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES public.orgs (id) NOT VALID', 'LOW', 'SHARE ROW EXCLUSIVE'),
  ('ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE (email)', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx', 'LOW', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users ADD PRIMARY KEY (id)', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users DROP COLUMN legacy', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users RENAME COLUMN email TO mail', 'MEDIUM', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users RENAME TO people', 'MEDIUM', 'ACCESS EXCLUSIVE'),
  ('ALTER TABLE public.users SET TABLESPACE pg_default', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('CREATE INDEX users_email_idx ON public.users (email)', 'HIGH', 'SHARE'),
  ('CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON public.users (email)', 'MEDIUM', 'SHARE UPDATE EXCLUSIVE'),
  ('DROP INDEX users_email_idx', 'MEDIUM', 'ACCESS EXCLUSIVE'),
  ('DROP INDEX CONCURRENTLY IF EXISTS users_email_idx', 'MEDIUM', 'SHARE UPDATE EXCLUSIVE'),
  ('DROP TABLE IF EXISTS public.users_old', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('TRUNCATE public.users', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('VACUUM FULL public.users', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('VACUUM (ANALYZE) public.users', 'MEDIUM', 'SHARE UPDATE EXCLUSIVE'),
  ('CLUSTER public.users USING users_email_idx', 'HIGH', 'ACCESS EXCLUSIVE'),
  ('REINDEX TABLE public.users', 'MEDIUM', 'SHARE'),
  ('REINDEX INDEX CONCURRENTLY users_email_idx', 'MEDIUM', 'SHARE UPDATE EXCLUSIVE'),
  ('UPDATE public.users SET email = lower(email)', 'MEDIUM', 'ROW EXCLUSIVE'),
  ('UPDATE public.users SET email = lower(email) WHERE id BETWEEN 1 AND 1000', 'LOW', 'ROW EXCLUSIVE'),
  ('DELETE FROM public.users', 'HIGH', 'ROW EXCLUSIVE'),
  ('DELETE FROM public.users WHERE legacy IS NOT NULL', 'MEDIUM', 'ROW EXCLUSIVE'),
  ('INSERT INTO public.users (id, name) VALUES (1, ''a'')', 'LOW', 'ROW EXCLUSIVE'),
  ('CREATE TABLE public.audit_copy (id int)', 'LOW', 'none'),
  ('LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE', 'MEDIUM', 'ACCESS EXCLUSIVE'),
  ('REFRESH MATERIALIZED VIEW public.user_stats', 'MEDIUM', 'ACCESS EXCLUSIVE'),
  ('REFRESH MATERIALIZED VIEW CONCURRENTLY public.user_stats', 'LOW', 'EXCLUSIVE');

-- The statement's own finding (a foreign key's second finding, on the referenced table, is left out).
CREATE TEMP TABLE classified AS
SELECT c.n, c.sql, c.expected_severity, c.expected_lock, analyze_sql(c.sql)->'statements'->0->'findings'->0 AS f
  FROM corpus c;
SELECT count(*) AS statements,
       count(*) FILTER (WHERE f->>'severity' <> expected_severity OR f->>'lock' <> expected_lock) AS misclassified
  FROM classified;
SELECT n, f->>'action' AS action, f->>'lock' AS lock, f->'rewrite' AS rewrite, f->'scan' AS scan,
       f->'data_loss' AS loss, f->>'severity' AS severity, f->>'code' AS code
  FROM classified ORDER BY n;
SELECT n, sql, f->>'severity' AS got, expected_severity FROM classified
 WHERE f->>'severity' <> expected_severity OR f->>'lock' <> expected_lock;
-- Every risky statement says what to do instead.
SELECT count(*) AS risky_without_advice FROM classified WHERE f->>'severity' <> 'LOW' AND NOT f ? 'recommendation';

-- Scripts are split and checked by PostgreSQL's own parser, not executed.
SELECT jsonb_array_length(analyze_sql($$CREATE TABLE public.never (id int); INSERT INTO public.never VALUES (1); DROP TABLE public.users$$)->'statements') AS statements,
       to_regclass('public.never') IS NULL AS not_executed;
SELECT analyze_sql('ALTER TABLE public.users ADD COLUMN x int; SELEC 1') - 'statements' AS syntax_error;
SELECT analyze_sql('ALTER TABLE public.users ADD COLUMN x int, DROP COLUMN legacy, ALTER COLUMN id TYPE bigint')->'statements'->0->'findings' @? '$[*] ? (@.action == "DROP COLUMN")' AS per_action;
SELECT analyze_sql($$UPDATE public.users SET legacy = 'a; DELETE FROM x' -- ; TRUNCATE y$$)->'statements'->0->'findings'->0->>'code' AS literals_and_comments;

-- The report on whole migrations.
INSERT INTO knowledge_migrations (migration_name, version, forward_script, rollback_script) VALUES
  ('careful', '1', 'ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0) NOT VALID; ALTER TABLE public.users VALIDATE CONSTRAINT positive_id',
               'ALTER TABLE public.users DROP CONSTRAINT positive_id'),
  ('reckless', '1', 'ALTER TABLE public.users ALTER COLUMN id TYPE bigint; CREATE INDEX ON public.users (email)', NULL),
  ('typo', '1', 'ALTER TABLE public.users ADD COLUMN x int; SELEC 1', 'ALTER TABLE public.users DROP COLUMN x; DROP TABLE public.users');
INSERT INTO knowledge_migrations (migration_name, version, forward_script, rollback_script, depends_on)
SELECT 'after_typo', '1', 'SELECT 1', 'SELECT 1', ARRAY[migration_id] FROM knowledge_migrations WHERE migration_name = 'typo';
CREATE FUNCTION pg_temp.summary(name text) RETURNS TABLE (check_name text, severity text, code text, message text)
LANGUAGE sql AS $$
    SELECT r->>'checkName', i->>'severity', i->>'code', i->>'message'
      FROM jsonb_array_elements(pgmigrate.validate_migration_safety(name)->'allResults') r, jsonb_array_elements(r->'issues') i
$$;
SELECT validate_migration_safety('careful')->'overallSafety' AS careful_safe, * FROM pg_temp.summary('careful');
SELECT validate_migration_safety('reckless')->'overallSafety' AS reckless_safe, * FROM pg_temp.summary('reckless');
SELECT r->>'action' AS action, r->>'priority' AS priority FROM jsonb_array_elements(validate_migration_safety('reckless')->'recommendations') r ORDER BY 1;
SELECT * FROM pg_temp.summary('typo');
SELECT i->'details' AS syntax_details FROM jsonb_array_elements(validate_migration_safety('typo')->'criticalIssues') i WHERE i->>'code' = 'SYNTAX_ERROR';
SELECT * FROM pg_temp.summary('after_typo');
SELECT pgm_test.expect_error($$SELECT pgmigrate.validate_migration_safety('nope')$$);

-- Duration comes from the table's size (planner statistics): a huge table makes a rewrite HIGH.
UPDATE pg_class SET relpages = 50000000 WHERE oid = 'public.users'::regclass;
SELECT * FROM pg_temp.summary('reckless') WHERE code = 'LONG_MIGRATION_TIME';

-- Integrity of the entity store.
SELECT register_schema_version('1', '{"entities": {"User": {"fields": {"email": {"type": "string", "nullable": false}}}}}', activate => true) IS NOT NULL AS registered;
SET pg_migrate.validation = off;
INSERT INTO temporal_entities (entity_id, entity_type, content, valid_from, valid_to) VALUES
  ('00000000-0000-0000-0000-0000000000e1', 'User', '{"email": "a"}', '2024-01-01', '2024-06-01'),
  ('00000000-0000-0000-0000-0000000000e1', 'User', '{"email": "b"}', '2024-03-01', 'infinity'),
  ('00000000-0000-0000-0000-0000000000e2', 'User', '{"email": 42}', '2024-01-01', 'infinity');
RESET pg_migrate.validation;
-- A migration that does not touch the entity store does not scan it ...
SELECT check_name, severity, message FROM pg_temp.summary('careful') WHERE check_name = 'DataIntegrityCheck';
-- ... one that does gets a bounded check, whose limit the report states.
SELECT register_migration('{"name": "store_fix", "type": "DATA", "forward": ["UPDATE pgmigrate.temporal_entities SET metadata = metadata WHERE false"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT check_name, severity, message FROM pg_temp.summary('store_fix') WHERE check_name = 'DataIntegrityCheck';
SELECT i->'details' AS details FROM jsonb_array_elements(validate_migration_safety('store_fix')->'allResults'->5->'issues') i;

DELETE FROM temporal_entities;
DELETE FROM schema_versions;
DELETE FROM knowledge_migrations;
DROP TABLE public.users, public.orgs;
