-- The safety analysis step by step: statements that need autocommit, transaction control,
-- NOT VALID then VALIDATE in one transaction, scripts ending in comments or semicolons,
-- and syntax errors at PostgreSQL's own cursor position.
SET search_path = pgmigrate, public;
CREATE TABLE public.users (id int, email text);

-- Statements that cannot run in a transaction block: CRITICAL in a transactional step,
-- fine in a step marked "transaction": false; the statement says so either way.
CREATE FUNCTION pg_temp.verdicts(a jsonb) RETURNS TABLE (stmt text, needs_autocommit boolean, severity text, code text, lock text)
LANGUAGE sql AS $$
    SELECT st->>'index', (st->>'needs_autocommit')::boolean, f->>'severity', f->>'code', f->>'lock'
      FROM jsonb_array_elements(a->'statements') st, jsonb_array_elements(st->'findings') f
$$;
SELECT s.sql, v.* FROM (VALUES ('CREATE INDEX CONCURRENTLY users_email ON public.users (email)'),
                               ('DROP INDEX CONCURRENTLY users_email'),
                               ('REINDEX TABLE CONCURRENTLY public.users'),
                               ('VACUUM public.users'),
                               ('VACUUM (FULL false) public.users'),
                               ('ALTER TABLE public.users DETACH PARTITION public.users_2024 CONCURRENTLY'),
                               ('DROP DATABASE olddb'),
                               ('COMMIT'),
                               ('ROLLBACK'),
                               ('SAVEPOINT s')) s(sql),
       pg_temp.verdicts(analyze_sql(s.sql)) v;
SELECT s.sql, v.* FROM (VALUES ('CREATE INDEX CONCURRENTLY users_email ON public.users (email)'),
                               ('VACUUM public.users'),
                               ('COMMIT')) s(sql),
       pg_temp.verdicts(analyze_sql(s.sql, transaction => false)) v;
-- One statement per non-transactional step: PostgreSQL runs a multi-statement string as one transaction.
SELECT * FROM pg_temp.verdicts(analyze_sql('CREATE INDEX CONCURRENTLY users_email ON public.users (email); SELECT 1', false));

-- NOT VALID then VALIDATE: flagged in one transaction (one step, or consecutive
-- transactional steps), not when the VALIDATE runs in a phase of its own.
SELECT * FROM pg_temp.verdicts(analyze_sql('ALTER TABLE public.users ADD CONSTRAINT c CHECK (id > 0) NOT VALID; ALTER TABLE public.users VALIDATE CONSTRAINT c'));
SELECT a->>'step' AS step, v.code, v.lock FROM jsonb_array_elements(analyze_steps(
    '["ALTER TABLE public.users ADD CONSTRAINT c CHECK (id > 0) NOT VALID", "ALTER TABLE public.users VALIDATE CONSTRAINT c"]')) a,
    pg_temp.verdicts(a) v;
SELECT a->>'step' AS step, v.code, v.lock FROM jsonb_array_elements(analyze_steps(jsonb_build_array(
    'ALTER TABLE public.users ADD CONSTRAINT c CHECK (id > 0) NOT VALID',
    jsonb_build_object('script', 'ALTER TABLE public.users VALIDATE CONSTRAINT c', 'transaction', false)))) a,
    pg_temp.verdicts(a) v;
-- Tables created by an earlier step are new.
SELECT a->>'step' AS step, v.code, v.lock FROM jsonb_array_elements(analyze_steps(
    '["CREATE TABLE public.fresh (id int)", "CREATE INDEX ON public.fresh (id)", "CREATE INDEX ON public.users (id)"]')) a,
    pg_temp.verdicts(a) v;

-- Scripts that end in a comment or semicolon are not syntax errors.
SELECT a->>'step' AS step, a->'syntax_ok' AS ok FROM jsonb_array_elements(analyze_steps(jsonb_build_array(
    'ALTER TABLE public.users ADD COLUMN n int -- the new column',
    'UPDATE public.users SET n = 1 WHERE id = 1;',
    jsonb_build_object('type', 'VALIDATE', 'script', 'SELECT count(*) = 0 FROM public.users WHERE n IS NULL;  '),
    jsonb_build_object('script', 'SELECT 1', 'condition', 'EXISTS (SELECT 1 FROM public.users);'),
    -- The engine strips trailing semicolons but cannot run "...; -- comment" as a subquery: neither can the check.
    jsonb_build_object('script', 'SELECT 1', 'condition', 'EXISTS (SELECT 1 FROM public.users); -- only then')))) a;
-- Syntax errors: PostgreSQL's message and cursor position (characters, not bytes).
SELECT analyze_sql('SELECT 1; SELEC 2') - 'statements' AS error;
SELECT analyze_sql('SELECT ''ééé''; SELECT (1') - 'statements' AS at_end;
SELECT analyze_sql(E'SELECT $$x\n') - 'statements' AS unterminated;
SELECT a - 'statements' AS condition_error FROM jsonb_array_elements(analyze_steps(jsonb_build_array(
    jsonb_build_object('script', 'SELECT 1', 'condition', 'EXISTS (SELEC 1)')))) a;

-- The report, step by step.
SELECT register_migration('{"name": "careful_steps", "forward": [
    "ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0) NOT VALID -- cheap",
    {"script": "ALTER TABLE public.users VALIDATE CONSTRAINT positive_id", "transaction": false},
    {"script": "CREATE INDEX CONCURRENTLY users_email ON public.users (email)", "transaction": false}],
  "rollback": ["DROP INDEX IF EXISTS users_email", "ALTER TABLE public.users DROP CONSTRAINT positive_id"],
  "validation": [{"type": "VALIDATE", "script": "SELECT count(*) >= 0 FROM public.users;"}]}') IS NOT NULL AS registered;
SELECT register_migration('{"name": "hasty_steps", "forward": [
    "ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0) NOT VALID",
    "ALTER TABLE public.users VALIDATE CONSTRAINT positive_id",
    "CREATE INDEX CONCURRENTLY users_email ON public.users (email)",
    "COMMIT"],
  "rollback": ["DROP INDEX CONCURRENTLY users_email"]}') IS NOT NULL AS registered;
CREATE FUNCTION pg_temp.summary(name text) RETURNS TABLE (check_name text, severity text, code text, step int, message text)
LANGUAGE sql AS $$
    SELECT r->>'checkName', i->>'severity', i->>'code', (i->'details'->>'step')::int, i->>'message'
      FROM jsonb_array_elements(pgmigrate.validate_migration_safety(name)->'allResults') r, jsonb_array_elements(r->'issues') i
$$;
SELECT validate_migration_safety('careful_steps')->'overallSafety' AS careful_safe;
SELECT * FROM pg_temp.summary('careful_steps');
SELECT validate_migration_safety('hasty_steps')->'overallSafety' AS hasty_safe;
SELECT * FROM pg_temp.summary('hasty_steps');


-- Unqualified names resolve along the migration's stored search_path (the caller's for analyze_sql).
CREATE SCHEMA app;
CREATE TABLE app.items (name varchar(100));
CREATE FUNCTION app.code() RETURNS int STABLE LANGUAGE sql AS 'SELECT 1';
SET search_path = app, pgmigrate;
SELECT register_migration('{"name": "app_steps", "forward": [
    "ALTER TABLE items ALTER COLUMN name TYPE varchar(200)",
    "ALTER TABLE items ADD COLUMN c int DEFAULT code()"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT v.code FROM pg_temp.verdicts(analyze_sql('ALTER TABLE items ALTER COLUMN name TYPE varchar(200); ALTER TABLE items ADD COLUMN c int DEFAULT code()')) v;
SET search_path = pgmigrate, public;
SELECT count(*) AS issues FROM pg_temp.summary('app_steps');
-- Without app on the path, the table's type is unknown (rewrite assumed) and so is the function (volatile assumed).
SELECT a->>'step' AS step, v.code FROM jsonb_array_elements(analyze_steps(
    '["ALTER TABLE items ALTER COLUMN name TYPE varchar(200)", "ALTER TABLE items ADD COLUMN c int DEFAULT code()"]')) a,
    pg_temp.verdicts(a) v;
SELECT a->>'step' AS step, v.code FROM jsonb_array_elements(analyze_steps(
    '["ALTER TABLE items ALTER COLUMN name TYPE varchar(200)", "ALTER TABLE items ADD COLUMN c int DEFAULT code()"]', 'app')) a,
    pg_temp.verdicts(a) v;
DROP SCHEMA app CASCADE;

DELETE FROM knowledge_migrations;
DROP TABLE public.users;
