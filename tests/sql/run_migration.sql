-- run_migration: phases committed one by one, autocommit statements (CREATE INDEX
-- CONCURRENTLY, ...) run as top-level statements by a background worker as the
-- migration's author, lock timeouts with retries, resuming, rollback on failure.
-- (Concurrent sessions, blocked locks and pgbench: tests/run_migration_concurrency.sh.)
SET search_path = pgmigrate, public;
SET client_min_messages = warning;
DROP ROLE IF EXISTS pgm_weak_author;
DROP ROLE IF EXISTS pgm_nobody_rm;
RESET client_min_messages;
CREATE TABLE public.rm_items (id int PRIMARY KEY, v int, note text);
INSERT INTO public.rm_items SELECT g, g, 'n' || g FROM generate_series(1, 1000) g;

-- What needs autocommit, read from the parse tree (not from keywords in strings or comments).
SELECT s, pgmigrate._autocommit_kind(s) AS kind FROM (VALUES
  ('CREATE INDEX CONCURRENTLY i ON t (a)'), ('CREATE INDEX i ON t (a)'), ('DROP INDEX CONCURRENTLY IF EXISTS i'),
  ('REINDEX (CONCURRENTLY) INDEX i'), ('REINDEX INDEX CONCURRENTLY i'), ('REINDEX INDEX i'), ('VACUUM t'), ('ANALYZE t'),
  ('ALTER TABLE p DETACH PARTITION c CONCURRENTLY'), ('ALTER TABLE p DETACH PARTITION c'),
  ('SELECT ''CREATE INDEX CONCURRENTLY'' -- VACUUM'), ('CREATE INDEX CONCURRENTLY a ON t (x); SELECT 1'), ('not sql at all')) v(s);

-- Options are checked at registration and at call time (22023 naming the option).
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"script": "SELECT 1", "lockTimeout": "1s"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"script": "SELECT 1", "lockRetries": -1}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"script": "SELECT 1", "lockRetries": 2.5}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "lockTimeout": -1, "forward": ["SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"script": "SELECT 1", "transaction": "no"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": ["CREATE INDEX CONCURRENTLY a ON public.rm_items (v); SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('nothing', '{"lockTimeout": "fast"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('nothing', '{"lockRetries": 100000}')$$);
CALL pgmigrate.run_migration('nothing', '{"lockTimeout": true}');
CALL pgmigrate.run_migration('nothing', '{"rollbackOnFailure": 1}');
CALL pgmigrate.run_migration('nothing');

-- A migration-level lockTimeout is inherited by the steps that do not set their own.
SELECT register_migration('{"name": "rm_inherit", "lockTimeout": 250, "lockRetries": 2,
  "forward": ["SELECT 1", {"script": "SELECT 2", "lockTimeout": 99.2}]}') IS NOT NULL AS registered;
SELECT s->>'name' AS step, s->'lockTimeout' AS lock_timeout, s->'lockRetries' AS lock_retries
  FROM knowledge_migrations, jsonb_array_elements(definition->'forward') s WHERE migration_name = 'rm_inherit';
-- execute_migration applies it (and records attempts): one attempt each here.
SELECT execute_migration('rm_inherit', '{"force": true}')->'result' @> '[{"attempts": 1}, {"attempts": 1}]' AS one_attempt_each;

-- A phased migration: a new table, an index built CONCURRENTLY on an existing table, a
-- transaction:false step, a validation. execute_migration refuses it.
SELECT register_migration($j${"name": "rm_phased",
  "forward": [
    {"name": "audit table", "script": "CREATE TABLE public.rm_audit (id bigserial PRIMARY KEY, what text)"},
    {"name": "seed audit", "script": "INSERT INTO public.rm_audit (what) VALUES ('created')"},
    {"name": "index v", "script": "CREATE INDEX CONCURRENTLY rm_items_v_idx ON public.rm_items (v)"},
    {"name": "alone", "script": "INSERT INTO public.rm_audit (what) VALUES ('alone')", "transaction": false},
    {"name": "index note", "script": "CREATE INDEX CONCURRENTLY rm_items_note_idx ON rm_items (note)", "condition": "true"}],
  "rollback": [
    {"name": "drop index note", "script": "DROP INDEX CONCURRENTLY IF EXISTS public.rm_items_note_idx"},
    {"name": "drop index v", "script": "DROP INDEX CONCURRENTLY IF EXISTS public.rm_items_v_idx"},
    {"name": "drop audit", "script": "DROP TABLE IF EXISTS public.rm_audit"}],
  "validation": [{"name": "index is valid", "query": "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.rm_items_v_idx'::regclass"}]}$j$) IS NOT NULL AS registered;
SELECT phase, mode, (SELECT jsonb_agg(s->>'name') FROM jsonb_array_elements(p->'steps') s) AS steps
  FROM jsonb_array_elements(pgmigrate._phase_plan((SELECT k FROM knowledge_migrations k WHERE migration_name = 'rm_phased'), 'forward')) p,
       LATERAL (SELECT (p->>'phase')::int AS phase, p->>'mode' AS mode) x;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('rm_phased', '{"force": true}')$$);
DO $$ DECLARE h text; BEGIN PERFORM pgmigrate.execute_migration('rm_phased', '{"force": true}');
EXCEPTION WHEN others THEN GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT; RAISE NOTICE 'hint: %', h; END $$;
CALL pgmigrate.run_migration('rm_phased', '{"force": true}');
SELECT status, execution_log->-1->>'event' AS last_event FROM knowledge_migrations WHERE migration_name = 'rm_phased';
SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'public.rm_items'::regclass ORDER BY 1;
SELECT what FROM public.rm_audit ORDER BY id;
SELECT s.phase_number, s.phase, s.step_name, s.step_status, s.retry_count
  FROM migration_execution_state s JOIN knowledge_migrations m USING (migration_id)
 WHERE m.migration_name = 'rm_phased' ORDER BY s.step_number;
SELECT direction, r.status, next_phase, jsonb_array_length(phases) AS phases FROM migration_runs r
  JOIN knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'rm_phased';
SELECT step_name, purpose, attempt, status, author::text = current_user AS as_author FROM migration_jobs ORDER BY job_id;
-- Completed: rollback_migration refuses (its rollback needs autocommit); run_migration rolls it back in phases.
SELECT pgm_test.expect_error($$SELECT pgmigrate.rollback_migration('rm_phased')$$);
CALL pgmigrate.run_migration('rm_phased', '{"rollback": true}');
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_phased';
SELECT count(*) AS indexes_left FROM pg_index WHERE indrelid = 'public.rm_items'::regclass AND indexrelid <> 'public.rm_items_pkey'::regclass;
SELECT to_regclass('public.rm_audit') AS audit_table;
CALL pgmigrate.run_migration('rm_phased', '{"rollback": true}');

-- A CONCURRENTLY build that fails on duplicate keys: the INVALID index is dropped, the
-- migration is FAILED, and with rollbackOnFailure the completed phases are rolled back.
UPDATE public.rm_items SET v = 1 WHERE id = 2;
SELECT register_migration($j${"name": "rm_unique",
  "forward": [
    {"name": "side table", "script": "CREATE TABLE public.rm_side (id int)"},
    {"name": "unique v", "script": "CREATE UNIQUE INDEX CONCURRENTLY rm_items_v_key ON public.rm_items (v)"},
    {"name": "after", "script": "INSERT INTO public.rm_side VALUES (1)"}],
  "rollback": [
    {"name": "drop unique", "script": "DROP INDEX CONCURRENTLY IF EXISTS public.rm_items_v_key"},
    {"name": "drop side", "script": "DROP TABLE IF EXISTS public.rm_side"}]}$j$) IS NOT NULL AS registered;
-- Without rollbackOnFailure: FAILED at phase 2, phase 1 stays, resumable.
CALL pgmigrate.run_migration('rm_unique', '{"force": true}');
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_unique';
SELECT count(*) AS invalid_indexes FROM pg_index WHERE indrelid = 'public.rm_items'::regclass AND NOT indisvalid;
SELECT to_regclass('public.rm_side') AS side_table, to_regclass('public.rm_items_v_key') AS unique_index;
SELECT purpose, j.status, sqlstate, cleanup, sql FROM migration_jobs j JOIN migration_runs r USING (run_id)
  JOIN knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'rm_unique' ORDER BY job_id;
SELECT r.status, next_phase, error->>'stepName' AS failed_step FROM migration_runs r JOIN knowledge_migrations m USING (migration_id)
 WHERE m.migration_name = 'rm_unique';
-- Fixed: the next call resumes at phase 2 (phase 1 is not run again).
UPDATE public.rm_items SET v = 2 WHERE id = 2;
CALL pgmigrate.run_migration('rm_unique');
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_unique';
SELECT count(*) AS runs FROM migration_runs r JOIN knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'rm_unique';
SELECT s.phase_number, s.step_name, s.step_status FROM migration_execution_state s JOIN knowledge_migrations m USING (migration_id)
 WHERE m.migration_name = 'rm_unique' ORDER BY s.started_at, s.step_number;
CALL pgmigrate.run_migration('rm_unique', '{"rollback": true}');
-- With rollbackOnFailure: the completed phases are rolled back, the migration ends FAILED.
UPDATE public.rm_items SET v = 1 WHERE id = 2;
CALL pgmigrate.run_migration('rm_unique', '{"force": true, "rollbackOnFailure": true}');
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_unique';
SELECT to_regclass('public.rm_side') AS side_table, count(*) AS invalid_indexes
  FROM pg_index WHERE indrelid = 'public.rm_items'::regclass AND NOT indisvalid;
SELECT direction, r.status, undoes IS NOT NULL AS undoes_a_run FROM migration_runs r JOIN knowledge_migrations m USING (migration_id)
 WHERE m.migration_name = 'rm_unique' ORDER BY r.started_at;
-- After a rolled-back failure the next run starts from phase 1.
UPDATE public.rm_items SET v = 2 WHERE id = 2;
CALL pgmigrate.run_migration('rm_unique');
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_unique';

-- The worker runs the statement as the migration's author: a weak author's CONCURRENTLY
-- build on a table it does not own fails with 42501, even when an admin runs it.
CREATE ROLE pgm_weak_author;
GRANT USAGE ON SCHEMA pgmigrate TO pgm_weak_author;
SELECT grant_migration_admin('pgm_weak_author');
SET ROLE pgm_weak_author;
SELECT register_migration('{"name": "rm_weak", "forward": ["CREATE INDEX CONCURRENTLY rm_weak_idx ON public.rm_items (note)"],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.rm_weak_idx"]}') IS NOT NULL AS registered;
RESET ROLE;
CALL pgmigrate.run_migration('rm_weak', '{"force": true}');
SELECT k.status, r.error->>'sqlstate' AS sqlstate FROM knowledge_migrations k JOIN migration_runs r USING (migration_id)
 WHERE k.migration_name = 'rm_weak';
SELECT to_regclass('public.rm_weak_idx') AS weak_index;
-- ... with the search_path stored with the migration: its unqualified public.rm_items
-- resolves although the caller's search_path has no public.
SET search_path = pg_catalog;
CALL pgmigrate.run_migration('rm_phased', '{"force": true}');
SET search_path = pgmigrate, public;
SELECT count(*) AS valid_indexes FROM pg_index WHERE indrelid = 'public.rm_items'::regclass AND indisvalid;
-- run_migration and its phase entry point need the grant.
CREATE ROLE pgm_nobody_rm;
SET ROLE pgm_nobody_rm;
CALL pgmigrate.run_migration('rm_weak');
SELECT pgmigrate.run_migration_phase('rm_weak', '{}');
RESET ROLE;
-- The caller's search_path is back after the call.
SHOW search_path;
DROP OWNED BY pgm_weak_author, pgm_nobody_rm;
DROP ROLE pgm_weak_author, pgm_nobody_rm;

-- A run's session-level lock goes with a transaction that fails: CALL inside a transaction
-- block (its first COMMIT is refused), or an error before the run starts. This session
-- kept the lock before 0.6.3, and every other session was refused "being run by another
-- session" until it disconnected.
SELECT register_migration('{"name": "rm_txblock", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT register_migration('{"name": "rm_needs", "dependsOn": ["rm_txblock"], "forward": ["SELECT 1"]}') IS NOT NULL AS registered;
\set VERBOSITY sqlstate
BEGIN;
CALL pgmigrate.run_migration('rm_txblock');
ROLLBACK;
CALL pgmigrate.run_migration('rm_needs');
\set VERBOSITY default
SELECT count(*) AS run_locks_kept FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = 1886809460;
SELECT migration_name, status FROM knowledge_migrations WHERE migration_name IN ('rm_txblock', 'rm_needs') ORDER BY 1;
SELECT count(*) AS runs FROM migration_runs r JOIN knowledge_migrations k USING (migration_id) WHERE k.migration_name IN ('rm_txblock', 'rm_needs');
-- Another session runs it at once (before: 55P03 until this session disconnected).
\! "$PGM_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pg_migrate_regress -c "SET client_min_messages = warning" -c "CALL pgmigrate.run_migration('rm_txblock')" -c "SELECT status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'rm_txblock'"

-- Nor inside a savepoint, a PL/pgSQL block with an EXCEPTION clause, or a migration step:
-- refused before taking the lock (a rollback to a savepoint would not have released it).
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
SAVEPOINT s;
CALL pgmigrate.run_migration('rm_txblock', '{"rollback": true}');
ROLLBACK TO s;
COMMIT;
DO $$ BEGIN CALL pgmigrate.run_migration('rm_txblock', '{"rollback": true}'); EXCEPTION WHEN active_sql_transaction THEN RAISE WARNING 'refused: %', SQLERRM; END $$;
SELECT register_migration('{"name": "rm_nested", "forward": ["CALL pgmigrate.run_migration(''rm_txblock'')"],
  "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'result'->0->>'sqlstate' AS sqlstate, r->'result'->0->>'error' AS error FROM execute_migration('rm_nested', '{"force": true}') r;
\set SHOW_CONTEXT errors
SELECT count(*) AS run_locks_kept FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = 1886809460;

-- A cancel that comes after the worker finished its CREATE INDEX CONCURRENTLY: the phase
-- counts as done, and the run resumes after it (it ran the statement again: "already
-- exists", and never got past it). Driven phase by phase, as CALL run_migration does.
SELECT register_migration('{"name": "rm_cancel_late", "forward": ["CREATE INDEX CONCURRENTLY rm_items_note_late ON public.rm_items (note)",
  "INSERT INTO public.rm_items VALUES (5001, 5001, ''late'')"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
SELECT pgmigrate.run_migration_phase('rm_cancel_late', '{"force": true}')->>'action' AS started \gset
SELECT run_id AS late_run FROM migration_runs r JOIN knowledge_migrations k USING (migration_id) WHERE k.migration_name = 'rm_cancel_late' \gset
SELECT pgmigrate.run_migration_phase('rm_cancel_late', jsonb_build_object('runId', :'late_run'))->>'action' AS launched;
-- (Waiting in committed steps: CREATE INDEX CONCURRENTLY waits for older snapshots.)
CREATE PROCEDURE pgm_test.wait_late_job() LANGUAGE plpgsql AS $$ BEGIN
    FOR i IN 1 .. 3000 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM pgmigrate.migration_jobs WHERE status = 'COMPLETED' AND sql LIKE '%rm_items_note_late%');
        COMMIT;
        PERFORM pg_sleep(0.01);
        COMMIT;
    END LOOP;
END $$;
CALL pgm_test.wait_late_job();
SELECT pgmigrate.run_migration_phase('rm_cancel_late', jsonb_build_object('runId', :'late_run', 'cancel', true))->>'action' AS canceled;
SELECT status, next_phase FROM migration_runs WHERE run_id = :'late_run';
CALL pgmigrate.run_migration('rm_cancel_late');
RESET client_min_messages;
SELECT status, next_phase FROM migration_runs WHERE run_id = :'late_run';
SELECT count(*) AS late_rows FROM public.rm_items WHERE id = 5001;
SELECT pg_advisory_unlock_all();

-- The rollback rollbackOnFailure starts after a failure fails itself (here its step needs a
-- table the test makes afterwards): the next CALL finishes that rollback (a new forward
-- run went over the half-undone migration), and the one after runs it afresh. The run's
-- record keeps no DETAIL (other migration admins read it).
CREATE TABLE public.rm_undo_dup (k int);
INSERT INTO public.rm_undo_dup VALUES (1), (1);
SELECT register_migration($j${"name": "rm_undo",
  "forward": [{"name": "mark", "script": "CREATE TABLE public.rm_undo_mark (id int)"},
              {"name": "unique k", "script": "CREATE UNIQUE INDEX CONCURRENTLY rm_undo_k ON public.rm_undo_dup (k)"}],
  "rollback": [{"name": "needs log", "script": "INSERT INTO public.rm_undo_log VALUES ('undo')"},
               {"name": "unmark", "script": "DROP TABLE IF EXISTS public.rm_undo_mark"}]}$j$) IS NOT NULL AS registered;
SET client_min_messages = warning;
\set VERBOSITY terse
CALL pgmigrate.run_migration('rm_undo', '{"force": true, "rollbackOnFailure": true}');
SELECT direction, r.status, undoes IS NOT NULL AS undoes_a_run, error ? 'detail' AS detail_kept FROM migration_runs r
  JOIN knowledge_migrations k USING (migration_id) WHERE k.migration_name = 'rm_undo' ORDER BY r.started_at;
CREATE TABLE public.rm_undo_log (what text);
CALL pgmigrate.run_migration('rm_undo');
SELECT direction, r.status FROM migration_runs r JOIN knowledge_migrations k USING (migration_id) WHERE k.migration_name = 'rm_undo' ORDER BY r.started_at;
SELECT to_regclass('public.rm_undo_mark') AS mark_left, (SELECT count(*) FROM public.rm_undo_log) AS undone;
DELETE FROM public.rm_undo_dup WHERE ctid = (SELECT min(ctid) FROM public.rm_undo_dup);
CALL pgmigrate.run_migration('rm_undo');
\set VERBOSITY default
RESET client_min_messages;
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_undo';

-- A rollback step that cannot succeed: each CALL resumes the rollback and says how to give
-- up; {"abandonRollback": true} gives up undoing and runs the migration afresh.
CREATE TABLE public.rm_stuck_dup (k int);
INSERT INTO public.rm_stuck_dup VALUES (1), (1);
SELECT register_migration($j${"name": "rm_stuck",
  "forward": [{"name": "mk", "script": "CREATE TABLE IF NOT EXISTS public.rm_stuck_a (id int)"},
              {"name": "uq", "script": "CREATE UNIQUE INDEX CONCURRENTLY rm_stuck_k ON public.rm_stuck_dup (k)"}],
  "rollback": [{"name": "bad", "script": "SELECT 1/0"}, {"name": "unmk", "script": "DROP TABLE IF EXISTS public.rm_stuck_a"}]}$j$) IS NOT NULL AS registered;
SET client_min_messages = warning;
\set VERBOSITY terse
CALL pgmigrate.run_migration('rm_stuck', '{"force": true, "rollbackOnFailure": true}');
DELETE FROM public.rm_stuck_dup WHERE ctid = (SELECT min(ctid) FROM public.rm_stuck_dup);
\set VERBOSITY default
\set SHOW_CONTEXT never
CALL pgmigrate.run_migration('rm_stuck', '{"lockTimeout": 500}');
\set SHOW_CONTEXT errors
SELECT r.options->'lockTimeout' AS rollback_lock_timeout FROM migration_runs r JOIN knowledge_migrations k USING (migration_id)
 WHERE k.migration_name = 'rm_stuck' AND r.undoes IS NOT NULL;
SELECT pgm_test.expect_error($$SELECT pgmigrate.run_migration_phase('rm_stuck', '{"abandonRollback": true, "rollback": true}')$$);
CALL pgmigrate.run_migration('rm_stuck', '{"abandonRollback": true}');
RESET client_min_messages;
SELECT direction, r.status, (r.error->>'abandoned')::boolean AS abandoned FROM migration_runs r JOIN knowledge_migrations k USING (migration_id)
 WHERE k.migration_name = 'rm_stuck' ORDER BY r.started_at;
SELECT status FROM knowledge_migrations WHERE migration_name = 'rm_stuck';
-- No DETAIL outlives the runs that failed (its table is the owner's alone).
SELECT count(*) AS details_left FROM pgmigrate.migration_job_details;

-- The extension's owner need not be able to log in: the worker connects as the launching
-- session's login role and acts as the owner.
\set regress_db :DBNAME
CREATE ROLE pgm_nologin_owner SUPERUSER NOLOGIN;
CREATE DATABASE pgm_nologin_db;
\c pgm_nologin_db
SET client_min_messages = warning;
SET ROLE pgm_nologin_owner;
CREATE EXTENSION pg_migrate;
SELECT extowner::regrole FROM pg_extension WHERE extname = 'pg_migrate';
CREATE TABLE public.nl (a int);
SELECT pgmigrate.register_migration('{"name": "nl_cic", "forward": ["CREATE INDEX CONCURRENTLY nl_a ON public.nl (a)"],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS nl_a"]}') IS NOT NULL AS registered;
CALL pgmigrate.run_migration('nl_cic');
SELECT status FROM pgmigrate.migration_runs;
SELECT indexrelid::regclass AS index, indisvalid FROM pg_index WHERE indrelid = 'public.nl'::regclass;
RESET ROLE;
\c :regress_db
DROP DATABASE pgm_nologin_db;
DROP ROLE pgm_nologin_owner;
