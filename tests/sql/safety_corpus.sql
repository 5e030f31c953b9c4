-- The statement classifier against a corpus: each row's expected lock, rewrite, scan and
-- data-loss verdicts; rows with a `doc` quote take their lock level from PostgreSQL 15's
-- documentation (13.3.1 "Table-Level Locks" = explicit-locking.html, the ALTER TABLE page,
-- and the REINDEX / DROP INDEX / LOCK pages). Only mismatches are printed.
SET search_path = pgmigrate, public;
CREATE SCHEMA archive;
CREATE TABLE public.users (id int, name varchar(100), email text, legacy text, org int, note text);
CREATE TABLE public.orgs (id int PRIMARY KEY);
CREATE TABLE public.proven (email text, CONSTRAINT proven_email_nn CHECK (email IS NOT NULL));
CREATE TABLE public.unproven (email text);
ALTER TABLE public.unproven ADD CONSTRAINT unproven_email_nn CHECK (email IS NOT NULL) NOT VALID;
CREATE TABLE public.events (at date) PARTITION BY RANGE (at);
CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.events_old (at date);
CREATE DOMAIN public.posint AS int;
CREATE FUNCTION public.vol_fn() RETURNS int VOLATILE LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION public.stab_fn() RETURNS int STABLE LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION public.imm_fn() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT 1';

CREATE TEMP TABLE corpus (n serial, sql text, lock text, rewrite boolean, scan boolean, loss boolean, doc text);
-- Quotes from the documentation, one per documented rule.
CREATE TEMP TABLE quotes (k text PRIMARY KEY, quote text);
INSERT INTO quotes VALUES
  ('AT',    'ALTER TABLE: "An ACCESS EXCLUSIVE lock is acquired unless explicitly noted."'),
  ('STAT',  'ALTER TABLE SET STATISTICS: "SET STATISTICS acquires a SHARE UPDATE EXCLUSIVE lock."'),
  ('ATTO',  'ALTER TABLE SET ( attribute_option ): "Changing per-attribute options acquires a SHARE UPDATE EXCLUSIVE lock."'),
  ('VAL',   'ALTER TABLE VALIDATE CONSTRAINT: "acquires only a SHARE UPDATE EXCLUSIVE lock on the table being altered"'),
  ('SP',    'ALTER TABLE SET ( storage_parameter ): "SHARE UPDATE EXCLUSIVE lock will be taken for fillfactor, toast and autovacuum storage parameters, as well as the planner parameter parallel_workers."'),
  ('CLON',  'ALTER TABLE CLUSTER ON / SET WITHOUT CLUSTER: "Changing cluster options acquires a SHARE UPDATE EXCLUSIVE lock."'),
  ('TRIG',  'ALTER TABLE DISABLE/ENABLE TRIGGER: "This command acquires a SHARE ROW EXCLUSIVE lock."'),
  ('ATT',   'ALTER TABLE ATTACH PARTITION: "Attaching a partition acquires a SHARE UPDATE EXCLUSIVE lock on the parent table"'),
  ('DETC',  'ALTER TABLE DETACH PARTITION CONCURRENTLY: "a SHARE UPDATE EXCLUSIVE lock is taken on both parent table and partition"'),
  ('AS',    '13.3.1 ACCESS SHARE: "The SELECT command acquires a lock of this mode on referenced tables."'),
  ('RS',    '13.3.1 ROW SHARE: "The SELECT FOR UPDATE and SELECT FOR SHARE commands acquire a lock of this mode on the target table(s)"'),
  ('RE',    '13.3.1 ROW EXCLUSIVE: "The commands UPDATE, DELETE, INSERT, and MERGE acquire this lock mode on the target table"'),
  ('SUE',   '13.3.1 SHARE UPDATE EXCLUSIVE: "Acquired by VACUUM (without FULL), ANALYZE, CREATE INDEX CONCURRENTLY, CREATE STATISTICS, COMMENT ON, REINDEX CONCURRENTLY, and certain ALTER INDEX and ALTER TABLE variants"'),
  ('SH',    '13.3.1 SHARE: "Acquired by CREATE INDEX (without CONCURRENTLY)."'),
  ('SRE',   '13.3.1 SHARE ROW EXCLUSIVE: "Acquired by CREATE TRIGGER and some forms of ALTER TABLE."'),
  ('EX',    '13.3.1 EXCLUSIVE: "Acquired by REFRESH MATERIALIZED VIEW CONCURRENTLY."'),
  ('AE',    '13.3.1 ACCESS EXCLUSIVE: "Acquired by the DROP TABLE, TRUNCATE, REINDEX, CLUSTER, VACUUM FULL, and REFRESH MATERIALIZED VIEW (without CONCURRENTLY) commands."'),
  ('LOCK',  '13.3.1 ACCESS EXCLUSIVE: "This is also the default lock mode for LOCK TABLE statements that do not specify a mode explicitly."'),
  ('LOCKM', 'LOCK: "lockmode: The lock mode specifies which locks this lock conflicts with" (the mode named is the mode taken)'),
  ('RIT',   'REINDEX: "REINDEX locks out writes but not reads of the index''s parent table."'),
  ('RII',   'REINDEX: "It also takes an ACCESS EXCLUSIVE lock on the specific index being processed"'),
  ('DI',    'DROP INDEX: "A normal DROP INDEX acquires an ACCESS EXCLUSIVE lock on the table"');

INSERT INTO corpus (sql, lock, rewrite, scan, loss, doc) VALUES
  -- ADD COLUMN: defaults judged from pg_proc.provolatile, identity, generated, serial, inline constraints
  ('ALTER TABLE public.users ADD COLUMN nickname text', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN score int DEFAULT 0', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN created timestamptz DEFAULT now()', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN token uuid DEFAULT gen_random_uuid()', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN seq bigserial', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN twice int GENERATED ALWAYS AS (id * 2) STORED', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN ident bigint GENERATED ALWAYS AS IDENTITY', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN v int DEFAULT public.vol_fn()', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN s int DEFAULT public.stab_fn()', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN i int DEFAULT imm_fn()', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN u text UNIQUE', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN pk2 int PRIMARY KEY', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN c int CHECK (c > 0)', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN must int NOT NULL', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD COLUMN org2 int REFERENCES public.orgs (id)', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD COLUMN k bigint DEFAULT nextval(''public.s'')', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('ALTER TABLE public.users ADD COLUMN d date DEFAULT CURRENT_DATE', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD COLUMN d2 timestamptz DEFAULT ''now''', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD COLUMN j jsonb DEFAULT ''{}''', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD COLUMN m int DEFAULT public.missing_fn()', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('ALTER TABLE users ADD COLUMN x int DEFAULT random()::int', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('ALTER TABLE ONLY public.users ADD COLUMN y timestamptz DEFAULT clock_timestamp()', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('ALTER TABLE public.users ADD COLUMN a int, ADD COLUMN b int DEFAULT random()', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('alter TABLE Public.Users add COLUMN z int default (1 + imm_fn())', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE "public"."users" ADD COLUMN "Weird ""Name""" text DEFAULT pg_catalog.random()::text', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  -- ALTER COLUMN
  ('ALTER TABLE public.users ALTER COLUMN name TYPE varchar(200)', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE text', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE varchar(50)', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN id TYPE bigint', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE text USING upper(name)', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN name TYPE varchar(300) USING name', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN name SET DATA TYPE character varying(120)', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN id TYPE int8 USING id::int8', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN id TYPE integer', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN note TYPE text', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN email SET NOT NULL', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE "public".users ALTER COLUMN "email" SET NOT NULL', 'ACCESS EXCLUSIVE', false, true, false, NULL),
  ('ALTER TABLE public.proven ALTER COLUMN email SET NOT NULL', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.unproven ALTER COLUMN email SET NOT NULL', 'ACCESS EXCLUSIVE', false, true, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN email DROP NOT NULL', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN email SET DEFAULT ''none''', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN email DROP DEFAULT', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN email SET STATISTICS 500', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'STAT'),
  ('ALTER TABLE public.users ALTER COLUMN id SET STATISTICS -1', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'STAT'),
  ('ALTER TABLE public.users ALTER COLUMN email SET STATISTICS 100, ALTER COLUMN name SET STATISTICS 100', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'STAT'),
  ('ALTER TABLE public.users ALTER COLUMN email SET STATISTICS 100, ADD COLUMN q int', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN email SET (n_distinct = 100)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'ATTO'),
  ('ALTER TABLE public.users ALTER COLUMN email RESET (n_distinct)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'ATTO'),
  ('ALTER TABLE public.users ALTER COLUMN email SET STORAGE EXTERNAL', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER COLUMN id SET GENERATED BY DEFAULT', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN id DROP IDENTITY IF EXISTS', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ALTER COLUMN email DROP EXPRESSION IF EXISTS', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  -- constraints
  ('ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0)', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users ADD CONSTRAINT positive_id CHECK (id > 0) NOT VALID', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users VALIDATE CONSTRAINT positive_id', 'SHARE UPDATE EXCLUSIVE', false, true, false, 'VAL'),
  ('ALTER TABLE public.users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES public.orgs (id)', 'SHARE ROW EXCLUSIVE', false, true, false, NULL),
  ('ALTER TABLE public.users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES public.orgs (id) NOT VALID', 'SHARE ROW EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE (email)', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ADD PRIMARY KEY (id)', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users ADD CONSTRAINT no_overlap EXCLUDE USING gist (id WITH =)', 'ACCESS EXCLUSIVE', false, true, false, 'AT'),
  ('ALTER TABLE public.users DROP CONSTRAINT positive_id', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ALTER CONSTRAINT users_org_fk DEFERRABLE', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users RENAME CONSTRAINT positive_id TO pos_id', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  -- drops, renames, storage
  ('ALTER TABLE public.users DROP COLUMN legacy', 'ACCESS EXCLUSIVE', false, false, true, 'AT'),
  ('ALTER TABLE IF EXISTS public.users DROP COLUMN IF EXISTS legacy CASCADE', 'ACCESS EXCLUSIVE', false, false, true, 'AT'),
  ('ALTER TABLE public.users RENAME COLUMN email TO mail', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users RENAME TO people', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users SET SCHEMA archive', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users SET TABLESPACE pg_default', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users SET UNLOGGED', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users SET LOGGED', 'ACCESS EXCLUSIVE', true, false, false, 'AT'),
  ('ALTER TABLE public.users SET ACCESS METHOD heap', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('ALTER TABLE public.users SET (fillfactor = 70)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SP'),
  ('ALTER TABLE public.users SET (autovacuum_vacuum_scale_factor = 0.01)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SP'),
  ('ALTER TABLE public.users RESET (autovacuum_enabled)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SP'),
  ('ALTER TABLE public.users SET (parallel_workers = 4)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SP'),
  ('ALTER TABLE public.users CLUSTER ON users_email_idx', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'CLON'),
  ('ALTER TABLE public.users SET WITHOUT CLUSTER', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'CLON'),
  ('ALTER TABLE public.users DISABLE TRIGGER ALL', 'SHARE ROW EXCLUSIVE', false, false, false, 'TRIG'),
  ('ALTER TABLE public.users ENABLE TRIGGER USER', 'SHARE ROW EXCLUSIVE', false, false, false, 'TRIG'),
  ('ALTER TABLE public.users OWNER TO postgres', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users REPLICA IDENTITY FULL', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users ENABLE ROW LEVEL SECURITY', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.users NO FORCE ROW LEVEL SECURITY', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER INDEX users_email_idx SET (fillfactor = 80)', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('ALTER INDEX users_email_idx RENAME TO users_mail_idx', 'SHARE UPDATE EXCLUSIVE', false, false, false, NULL),
  -- partitions
  ('ALTER TABLE public.events ATTACH PARTITION public.events_old FOR VALUES FROM (''2020-01-01'') TO (''2021-01-01'')', 'SHARE UPDATE EXCLUSIVE', false, true, false, 'ATT'),
  ('ALTER TABLE public.events DETACH PARTITION public.events_2024', 'ACCESS EXCLUSIVE', false, false, false, 'AT'),
  ('ALTER TABLE public.events DETACH PARTITION public.events_2024 CONCURRENTLY', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'DETC'),
  ('ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'DETC'),
  ('ALTER TABLE public.events DETACH PARTITION public.events_2024 FINALIZE', 'SHARE UPDATE EXCLUSIVE', false, false, false, NULL),
  ('CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM (''2025-01-01'') TO (''2026-01-01'')', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  -- reads and writes (13.3.1)
  ('SELECT * FROM public.users', 'ACCESS SHARE', false, false, false, 'AS'),
  ('SELECT * FROM public.users FOR UPDATE', 'ROW SHARE', false, false, false, 'RS'),
  ('SELECT id FROM public.users WHERE id = 1 FOR SHARE', 'ROW SHARE', false, false, false, 'RS'),
  ('INSERT INTO public.users (id) VALUES (1)', 'ROW EXCLUSIVE', false, false, false, 'RE'),
  ('UPDATE public.users SET note = ''x'' WHERE id = 1', 'ROW EXCLUSIVE', false, false, false, 'RE'),
  ('UPDATE public.users SET note = ''x''', 'ROW EXCLUSIVE', false, true, false, 'RE'),
  ('DELETE FROM public.users WHERE id = 1', 'ROW EXCLUSIVE', false, false, true, 'RE'),
  ('DELETE FROM public.users', 'ROW EXCLUSIVE', false, true, true, 'RE'),
  ('MERGE INTO public.users u USING public.orgs o ON u.org = o.id WHEN MATCHED THEN UPDATE SET note = ''m''', 'ROW EXCLUSIVE', false, false, false, 'RE'),
  ('INSERT INTO public.users SELECT * FROM public.users', 'ROW EXCLUSIVE', false, false, false, NULL),
  ('COPY public.users FROM STDIN', 'ROW EXCLUSIVE', false, false, false, NULL),
  ('COPY public.users TO STDOUT', 'ACCESS SHARE', false, false, false, NULL),
  -- adversarial spellings: comments, strings, dollar quotes, subqueries, CTEs
  ('/* ALTER TABLE x */ UPDATE public.users SET note = $$where$$ -- WHERE id = 1', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('UPDATE public.users SET note = E''it\''s where''', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('UPDATE public.users SET note = (SELECT o.id::text FROM public.orgs o WHERE o.id = users.org)', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('UPDATE public.users SET note = ''a'' WHERE true', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('UPDATE public.users SET note = ''a'' WHERE id IN (SELECT id FROM public.orgs)', 'ROW EXCLUSIVE', false, false, false, NULL),
  ('UPDATE ONLY public.users u SET note = u.name FROM public.orgs o WHERE u.org = o.id', 'ROW EXCLUSIVE', false, false, false, NULL),
  ('update public.users set note = $body$ WHERE $body$', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('UPDATE public.users SET note = ''; DELETE FROM x'' -- ; TRUNCATE y', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('WITH d AS (DELETE FROM public.users RETURNING *) SELECT count(*) FROM d', 'ROW EXCLUSIVE', false, true, true, NULL),
  ('WITH moved AS (DELETE FROM public.users WHERE id < 10 RETURNING *) INSERT INTO archive.users_old SELECT * FROM moved', 'ROW EXCLUSIVE', false, false, true, NULL),
  ('WITH u AS (UPDATE public.users SET note = ''x'' RETURNING id) SELECT * FROM u', 'ROW EXCLUSIVE', false, true, false, NULL),
  ('WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r', 'ACCESS SHARE', false, false, false, NULL),
  ('DELETE FROM ONLY public.users USING public.orgs WHERE users.org = orgs.id', 'ROW EXCLUSIVE', false, false, true, NULL),
  ('DELETE FROM public.users WHERE true', 'ROW EXCLUSIVE', false, true, true, NULL),
  ('/* DROP TABLE public.users; */ SELECT 1', 'ACCESS SHARE', false, false, false, NULL),
  ('SELECT $q$DROP TABLE public.users$q$', 'ACCESS SHARE', false, false, false, NULL),
  ('DO $$BEGIN DELETE FROM public.users; END$$', 'none', false, false, false, NULL),
  ('CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$DELETE FROM public.users$$', 'none', false, false, false, NULL),
  ('EXPLAIN ANALYZE DELETE FROM public.users', 'ROW EXCLUSIVE', false, true, true, NULL),
  ('EXPLAIN DELETE FROM public.users', 'none', false, false, false, NULL),
  -- indexes
  ('CREATE INDEX users_email_idx ON public.users (email)', 'SHARE', false, true, false, 'SH'),
  ('CREATE UNIQUE INDEX users_email_idx ON public.users (email)', 'SHARE', false, true, false, 'SH'),
  ('CREATE INDEX IF NOT EXISTS users_email_idx ON ONLY public.users USING btree (lower(email)) WHERE email IS NOT NULL', 'SHARE', false, true, false, 'SH'),
  ('CREATE INDEX CONCURRENTLY users_email_idx ON public.users (email)', 'SHARE UPDATE EXCLUSIVE', false, true, false, 'SUE'),
  ('create unique index concurrently if not exists "Users_Email" on "public"."users" (email)', 'SHARE UPDATE EXCLUSIVE', false, true, false, 'SUE'),
  ('DROP INDEX users_email_idx', 'ACCESS EXCLUSIVE', false, false, false, 'DI'),
  ('DROP INDEX public.users_email_idx CASCADE', 'ACCESS EXCLUSIVE', false, false, false, 'DI'),
  ('DROP INDEX CONCURRENTLY IF EXISTS users_email_idx', 'SHARE UPDATE EXCLUSIVE', false, false, false, NULL),
  ('REINDEX TABLE public.users', 'SHARE', false, false, false, 'RIT'),
  ('REINDEX (VERBOSE) TABLE public.users', 'SHARE', false, false, false, 'RIT'),
  ('REINDEX (CONCURRENTLY false) TABLE public.users', 'SHARE', false, false, false, 'RIT'),
  ('REINDEX INDEX users_email_idx', 'ACCESS EXCLUSIVE', false, false, false, 'RII'),
  ('REINDEX TABLE CONCURRENTLY public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('REINDEX (CONCURRENTLY) INDEX users_email_idx', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('REINDEX (CONCURRENTLY true) TABLE public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('REINDEX SCHEMA public', 'SHARE', false, false, false, NULL),
  -- maintenance
  ('VACUUM public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('VACUUM (ANALYZE) public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('ANALYZE public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('VACUUM', 'SHARE UPDATE EXCLUSIVE', false, false, false, NULL),
  ('ANALYZE', 'SHARE UPDATE EXCLUSIVE', false, false, false, NULL),
  ('VACUUM FULL public.users', 'ACCESS EXCLUSIVE', true, false, false, 'AE'),
  ('VACUUM (FULL) public.users', 'ACCESS EXCLUSIVE', true, false, false, 'AE'),
  ('VACUUM (FULL true, ANALYZE) public.users', 'ACCESS EXCLUSIVE', true, false, false, 'AE'),
  ('VACUUM (VERBOSE, FULL yes) public.users', 'ACCESS EXCLUSIVE', true, false, false, 'AE'),
  ('VACUUM (FULL false) public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('VACUUM (FULL off) public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('VACUUM (FULL 0, ANALYZE) public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('CLUSTER public.users USING users_email_idx', 'ACCESS EXCLUSIVE', true, false, false, 'AE'),
  ('CLUSTER', 'ACCESS EXCLUSIVE', true, false, false, NULL),
  ('CREATE STATISTICS s1 ON id, org FROM public.users', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('COMMENT ON TABLE public.users IS ''people''', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'SUE'),
  ('REFRESH MATERIALIZED VIEW CONCURRENTLY public.user_stats', 'EXCLUSIVE', false, false, false, 'EX'),
  ('REFRESH MATERIALIZED VIEW public.user_stats', 'ACCESS EXCLUSIVE', false, false, false, 'AE'),
  ('TRUNCATE public.users', 'ACCESS EXCLUSIVE', false, false, true, 'AE'),
  ('TRUNCATE public.users, public.orgs CASCADE', 'ACCESS EXCLUSIVE', false, false, true, 'AE'),
  ('TRUNCATE ONLY public.users RESTART IDENTITY', 'ACCESS EXCLUSIVE', false, false, true, 'AE'),
  -- triggers, explicit locks
  ('CREATE TRIGGER trg BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.trg_fn()', 'SHARE ROW EXCLUSIVE', false, false, false, 'SRE'),
  ('CREATE CONSTRAINT TRIGGER ctrg AFTER INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.trg_fn()', 'SHARE ROW EXCLUSIVE', false, false, false, 'SRE'),
  ('CREATE OR REPLACE TRIGGER trg AFTER DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION trg_fn()', 'SHARE ROW EXCLUSIVE', false, false, false, 'SRE'),
  ('DROP TRIGGER trg ON public.users', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('LOCK TABLE public.users', 'ACCESS EXCLUSIVE', false, false, false, 'LOCK'),
  ('LOCK public.users', 'ACCESS EXCLUSIVE', false, false, false, 'LOCK'),
  ('LOCK TABLE public.users IN ACCESS SHARE MODE', 'ACCESS SHARE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN ROW SHARE MODE', 'ROW SHARE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN ROW EXCLUSIVE MODE', 'ROW EXCLUSIVE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN SHARE UPDATE EXCLUSIVE MODE', 'SHARE UPDATE EXCLUSIVE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN SHARE MODE', 'SHARE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN SHARE ROW EXCLUSIVE MODE', 'SHARE ROW EXCLUSIVE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN EXCLUSIVE MODE', 'EXCLUSIVE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE', 'ACCESS EXCLUSIVE', false, false, false, 'LOCKM'),
  ('LOCK TABLE public.users, public.orgs IN SHARE MODE NOWAIT', 'SHARE', false, false, false, NULL),
  -- drops and creates
  ('DROP TABLE public.users_old', 'ACCESS EXCLUSIVE', false, false, true, 'AE'),
  ('DROP TABLE IF EXISTS public.users_old CASCADE', 'ACCESS EXCLUSIVE', false, false, true, 'AE'),
  ('DROP SCHEMA archive CASCADE', 'ACCESS EXCLUSIVE', false, false, true, NULL),
  ('DROP DATABASE olddb', 'ACCESS EXCLUSIVE', false, false, true, NULL),
  ('DROP VIEW public.v', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('DROP MATERIALIZED VIEW public.user_stats', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('DROP TYPE public.mood CASCADE', 'ACCESS EXCLUSIVE', false, false, true, NULL),
  ('DROP TYPE public.mood', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('DROP SEQUENCE public.s', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('DROP FUNCTION public.vol_fn()', 'none', false, false, false, NULL),
  ('CREATE TABLE public.audit_copy (id int)', 'none', false, false, false, NULL),
  ('CREATE TABLE public.events_2026 PARTITION OF public.events (at NOT NULL) FOR VALUES FROM (''2026-01-01'') TO (''2027-01-01'')', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('CREATE TABLE public.typed OF public.some_type (id WITH OPTIONS DEFAULT 1)', 'none', false, false, false, NULL),
  ('CREATE TABLE public.child (id int, org int REFERENCES public.orgs)', 'SHARE ROW EXCLUSIVE', false, false, false, NULL),
  ('CREATE TABLE public.snap AS SELECT * FROM public.users', 'none', false, false, false, NULL),
  ('SELECT * INTO public.snap2 FROM public.users', 'none', false, false, false, NULL),
  ('CREATE VIEW public.v AS SELECT * FROM public.users', 'none', false, false, false, NULL),
  ('CREATE SCHEMA reports', 'none', false, false, false, NULL),
  ('GRANT SELECT ON public.users TO PUBLIC', 'none', false, false, false, NULL),
  -- domains
  ('ALTER DOMAIN public.posint ADD CONSTRAINT pos CHECK (VALUE > 0)', 'SHARE', false, true, false, NULL),
  ('ALTER DOMAIN public.posint ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID', 'none', false, false, false, NULL),
  ('ALTER DOMAIN posint VALIDATE CONSTRAINT pos', 'SHARE', false, true, false, NULL),
  ('ALTER DOMAIN public.posint SET NOT NULL', 'SHARE', false, true, false, NULL),
  ('ALTER DOMAIN public.posint SET DEFAULT 1', 'none', false, false, false, NULL),
  -- transaction control
  ('COMMIT', 'none', false, false, false, NULL),
  ('BEGIN', 'none', false, false, false, NULL),
  ('SAVEPOINT a', 'none', false, false, false, NULL),
  -- the script's own new tables are empty: nothing to scan, rewrite or lose
  ('CREATE TABLE public.fresh (id int, email text); CREATE INDEX fresh_email ON public.fresh (email)', 'SHARE', false, false, false, NULL),
  ('CREATE TABLE fresh2 (id int); ALTER TABLE public.fresh2 ADD COLUMN t uuid DEFAULT gen_random_uuid()', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('CREATE TABLE public.fresh3 (id int); ALTER TABLE public.fresh3 ALTER COLUMN id SET NOT NULL', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('CREATE TABLE archive.users (id int); CREATE INDEX ON public.users (email)', 'SHARE', false, true, false, NULL),
  ('CREATE TABLE fresh4 (id int); DROP TABLE fresh4', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('CREATE TABLE public.fresh5 AS SELECT * FROM public.users; UPDATE public.fresh5 SET note = NULL', 'ROW EXCLUSIVE', false, false, false, NULL),
  -- SET NOT NULL proven by a CHECK the script validated first
  ('ALTER TABLE public.users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID; ALTER TABLE public.users VALIDATE CONSTRAINT nn; ALTER TABLE public.users ALTER COLUMN email SET NOT NULL', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD CONSTRAINT nn CHECK (email IS NOT NULL); ALTER TABLE public.users ALTER COLUMN email SET NOT NULL', 'ACCESS EXCLUSIVE', false, false, false, NULL),
  ('ALTER TABLE public.users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID; ALTER TABLE public.users ALTER COLUMN email SET NOT NULL', 'ACCESS EXCLUSIVE', false, true, false, NULL);

-- The verdict of a script's last statement: its strongest lock, and whether any finding
-- rewrites, scans or loses data.
CREATE TEMP TABLE verdicts AS
SELECT c.n, c.sql, c.lock AS expected_lock, c.rewrite AS expected_rewrite, c.scan AS expected_scan, c.loss AS expected_loss, c.doc,
       (SELECT (ARRAY['none', 'ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
                      'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'])[max(array_position(ARRAY['none', 'ACCESS SHARE', 'ROW SHARE',
                      'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'], f->>'lock'))]
          FROM jsonb_array_elements(a->'statements'->-1->'findings') f) AS lock,
       (SELECT bool_or((f->>'rewrite')::boolean) FROM jsonb_array_elements(a->'statements'->-1->'findings') f) AS rewrite,
       (SELECT bool_or((f->>'scan')::boolean) FROM jsonb_array_elements(a->'statements'->-1->'findings') f) AS scan,
       (SELECT bool_or((f->>'data_loss')::boolean) FROM jsonb_array_elements(a->'statements'->-1->'findings') f) AS loss,
       (a->>'syntax_ok')::boolean AS syntax_ok
  FROM corpus c, LATERAL (SELECT analyze_sql(c.sql) AS a) x;

SELECT count(*) AS statements,
       count(*) FILTER (WHERE doc IS NOT NULL) AS documented_locks,
       count(*) FILTER (WHERE NOT syntax_ok) AS syntax_errors,
       count(*) FILTER (WHERE lock IS DISTINCT FROM expected_lock) AS lock_mismatches,
       count(*) FILTER (WHERE doc IS NOT NULL AND lock IS DISTINCT FROM expected_lock) AS documented_lock_mismatches,
       count(*) FILTER (WHERE rewrite IS DISTINCT FROM expected_rewrite) AS rewrite_mismatches,
       count(*) FILTER (WHERE scan IS DISTINCT FROM expected_scan) AS scan_mismatches,
       count(*) FILTER (WHERE loss IS DISTINCT FROM expected_loss) AS data_loss_mismatches
  FROM verdicts;
-- Every documented row names a quote.
SELECT count(*) AS unquoted FROM verdicts v WHERE doc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM quotes q WHERE q.k = v.doc);
-- Mismatches, if any.
SELECT n, sql, lock, expected_lock, rewrite, expected_rewrite, scan, expected_scan, loss, expected_loss
  FROM verdicts
 WHERE lock IS DISTINCT FROM expected_lock OR rewrite IS DISTINCT FROM expected_rewrite
    OR scan IS DISTINCT FROM expected_scan OR loss IS DISTINCT FROM expected_loss OR NOT syntax_ok
 ORDER BY n;

DROP TABLE public.users, public.orgs, public.proven, public.unproven, public.events, public.events_old;
DROP FUNCTION public.vol_fn(), public.stab_fn(), public.imm_fn();
DROP DOMAIN public.posint;
DROP SCHEMA archive;
