-- The migration engine: registration, ordering, atomic runs, rollback.
SET search_path = pgmigrate, public;
CREATE TABLE public.accounts (id int PRIMARY KEY, name text);
INSERT INTO public.accounts SELECT g, 'user' || g FROM generate_series(1, 10) g;
CREATE FUNCTION public.tag_accounts(p jsonb) RETURNS void LANGUAGE sql AS $$
    UPDATE public.accounts SET name = name || (p->>'suffix') WHERE id <= (p->>'upto')::int
$$;

-- Registration refuses what cannot run.
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('[]')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"forward": ["SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"type": "TRANSFORM"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"type": "SQL"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": ["SELECT 1"], "type": "OTHER"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "forward": [{"script": "SELECT 1", "timeout": -5}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "dependsOn": ["ghost"], "forward": ["SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "x", "dependsOn": ["x"], "forward": ["SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$SELECT * FROM pgmigrate.register_migrations('[{"name": "c1", "dependsOn": ["c3"], "forward": ["SELECT 1"]}, {"name": "c2", "dependsOn": ["c1"], "forward": ["SELECT 1"]}, {"name": "c3", "dependsOn": ["c2"], "forward": ["SELECT 1"]}]')$$);
-- A plain INSERT is a migration too, and the same graph rules hold for it.
INSERT INTO knowledge_migrations (migration_name, version, forward_script, rollback_script)
VALUES ('plain_insert', '1', 'UPDATE public.accounts SET name = upper(name) WHERE id = 10', 'UPDATE public.accounts SET name = lower(name) WHERE id = 10');
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script, depends_on) VALUES ('orphan', '1', 'SELECT 1', ARRAY['00000000-0000-0000-0000-000000000000'::uuid])$$);
SELECT count(*) AS migrations FROM knowledge_migrations;

-- A diamond, registered as a batch in any order; ties by priority, then name.
SELECT migration_name FROM register_migrations('[
  {"name": "d_report", "dependsOn": ["b_email", "c_phone"], "forward": ["SELECT 1"], "rollback": ["SELECT 1"]},
  {"name": "b_email", "dependsOn": ["a_base"], "priority": 50,
   "forward": [{"name": "add email", "script": "ALTER TABLE public.accounts ADD COLUMN email text"}],
   "rollback": [{"name": "drop email", "script": "ALTER TABLE public.accounts DROP COLUMN email"}]},
  {"name": "c_phone", "dependsOn": ["a_base"], "priority": 10,
   "forward": [{"script": "ALTER TABLE public.accounts ADD COLUMN phone text"}], "rollback": ["ALTER TABLE public.accounts DROP COLUMN phone"]},
  {"name": "a_base", "type": "DATA", "version": "2024.1",
   "forward": [{"name": "tag", "type": "FUNCTION", "function": "public.tag_accounts", "parameters": {"suffix": "!", "upto": 3}},
               {"name": "skipped", "script": "DELETE FROM public.accounts", "condition": "false"},
               {"name": "check", "type": "VALIDATE", "script": "SELECT count(*) = 3 FROM public.accounts WHERE name LIKE ''%!''"}],
   "rollback": ["UPDATE public.accounts SET name = rtrim(name, ''!'')"],
   "validation": [{"name": "ten rows", "query": "SELECT count(*) = 10 FROM public.accounts"}]}
]') ORDER BY migration_name;
SELECT * FROM migration_plan();
SELECT migration_name, migration_type, version, priority, forward_script, validation_script FROM knowledge_migrations WHERE migration_name = 'a_base';

-- Prerequisites: dependencies COMPLETED, a passing safety report (or force).
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('d_report')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('nothing')$$);

-- Run everything pending, in order, stopping at the first failure.
SELECT r->>'migration' AS migration, r->'success' AS success, r->'affectedRows' AS rows,
       (SELECT jsonb_agg(s->>'stepName' || ':' || (s->>'status')) FROM jsonb_array_elements(r->'result') s) AS steps
  FROM jsonb_array_elements(execute_pending_migrations()->'results') r;
SELECT migration_name, status, executed_by = current_user AS by_me, execution_log->-1->>'event' AS last_event FROM knowledge_migrations ORDER BY 1;
SELECT id, name FROM public.accounts WHERE id <= 4 ORDER BY id;
SELECT m.migration_name, s.phase, s.step_number, s.step_name, s.step_status, s.rows_affected
  FROM migration_execution_state s JOIN knowledge_migrations m USING (migration_id) ORDER BY s.started_at, s.step_number;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('a_base')$$);
-- A failing safety report refuses the run (55000, the critical issues in DETAIL); force runs it.
SELECT register_migration('{"name": "no_rollback", "forward": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('no_rollback')$$);
SELECT execute_migration('no_rollback', '{"force": true}')->'success' AS forced;

-- A failing step: everything of the run is undone, the record says FAILED and why.
SELECT register_migration('{"name": "breaks", "forward": ["UPDATE public.accounts SET name = ''gone''", "INSERT INTO public.accounts VALUES (1, ''dup'')"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'affectedRows' AS rows, r->'result'->0->>'error' AS first_step, r->'result'->1->>'error' AS second_step,
       r->'result'->1->>'sqlstate' AS sqlstate
  FROM execute_migration('breaks') r;
SELECT count(*) FILTER (WHERE name = 'gone') AS changed_rows FROM public.accounts;
SELECT status, execution_log->-1->>'failedStep' AS failed_step, execution_log->-1->>'error' AS error FROM knowledge_migrations WHERE migration_name = 'breaks';
SELECT step_name, step_status, error_message FROM migration_execution_state s JOIN knowledge_migrations m USING (migration_id)
 WHERE m.migration_name = 'breaks' ORDER BY step_number;
-- raise: the error reaches the caller (and its transaction aborts).
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('breaks', '{"raise": true}')$$);
-- ... with the failed statement's DETAIL (and HINT), which the step's result keeps too.
\set SHOW_CONTEXT never
SELECT pgmigrate.execute_migration('breaks', '{"raise": true}');
\set SHOW_CONTEXT errors
SELECT r->'result'->1->>'detail' AS detail, r->'result'->1 ? 'hint' AS has_hint FROM execute_migration('breaks') r;
-- continueOnError: the failed step is recorded, the rest runs and stays.
SELECT r->'success' AS success, (SELECT jsonb_agg(s->>'status') FROM jsonb_array_elements(r->'result') s) AS steps
  FROM execute_migration('breaks', '{"continueOnError": true}') r;
SELECT count(*) FILTER (WHERE name = 'gone') AS changed_rows FROM public.accounts;
-- A failing validation rule undoes the run even with continueOnError.
SELECT register_migration('{"name": "validated", "forward": ["UPDATE public.accounts SET name = ''v'' WHERE id = 5"], "rollback": ["SELECT 1"], "validation": ["SELECT id, name FROM public.accounts WHERE name = ''v''"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'result'->1->>'error' AS error FROM execute_migration('validated', '{"continueOnError": true}') r;
SELECT count(*) AS v_rows FROM public.accounts WHERE name = 'v';

-- A step's timeout bounds it; the record is consistent afterwards.
SELECT register_migration('{"name": "slow", "forward": [{"name": "sleep", "script": "SELECT pg_sleep(5)", "timeout": 100}], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'result'->0->>'error' AS error, r->'result'->0->>'sqlstate' AS sqlstate FROM execute_migration('slow') r;
-- A cancel or timeout the engine did not arm (here the caller's own statement_timeout,
-- then a pg_cancel_backend) stops the whole run, even with continueOnError: it is not
-- a failed step, and the migration is left as it was (nothing is left RUNNING).
SELECT register_migration('{"name": "sleepy", "forward": ["UPDATE public.accounts SET name = ''z'' WHERE id = 6", "SELECT pg_sleep(2)", "UPDATE public.accounts SET name = ''after'' WHERE id = 6"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SET statement_timeout = '300ms';
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('sleepy', '{"continueOnError": true}')$$);
RESET statement_timeout;
SELECT register_migration('{"name": "cancelled", "forward": ["SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(1)", "SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('cancelled', '{"continueOnError": true}')$$);
SELECT status FROM knowledge_migrations WHERE migration_name = 'cancelled';
-- Step timeouts: fractions round up, out-of-range values are refused at registration,
-- and a step timeout never extends the session's statement_timeout.
SELECT register_migration('{"name": "tiny_timeout", "forward": [{"script": "SELECT 1", "timeout": 0.4}]}') IS NOT NULL AS registered;
SELECT definition->'forward'->0->'timeout' AS timeout FROM knowledge_migrations WHERE migration_name = 'tiny_timeout';
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "huge_timeout", "forward": [{"script": "SELECT 1", "timeout": 1e12}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "text_timeout", "forward": [{"script": "SELECT 1", "timeout": "5s"}]}')$$);
SELECT register_migration('{"name": "stacked_timeouts", "forward": [{"script": "SELECT pg_sleep(0.2)", "timeout": 1000}, {"script": "SELECT pg_sleep(0.2)", "timeout": 1000}, {"script": "SELECT pg_sleep(0.2)", "timeout": 1000}]}') IS NOT NULL AS registered;
SET statement_timeout = '450ms';
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('stacked_timeouts', '{"force": true}')$$);
RESET statement_timeout;
DELETE FROM knowledge_migrations WHERE migration_name IN ('tiny_timeout', 'stacked_timeouts', 'cancelled');
SELECT status FROM knowledge_migrations WHERE migration_name = 'sleepy';
SELECT name FROM public.accounts WHERE id = 6;
SELECT count(*) AS running FROM knowledge_migrations WHERE status = 'RUNNING';

-- Rollback: refused while COMPLETED dependents exist, unless cascade (latest first).
SELECT pgm_test.expect_error($$SELECT pgmigrate.rollback_migration('a_base')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.rollback_migration('sleepy')$$);
SELECT r->'success' AS success, (SELECT jsonb_agg(c->>'migration') FROM jsonb_array_elements(r->'cascaded') c) AS cascaded
  FROM rollback_migration('a_base', '{"cascade": true}') r;
SELECT migration_name, status FROM knowledge_migrations ORDER BY 1;
SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position;
SELECT count(*) FILTER (WHERE name LIKE '%!') AS tagged FROM public.accounts;
-- Status transitions obey the state machine, whatever path tries them.
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET status = 'COMPLETED' WHERE migration_name = 'a_base'$$);
SELECT action, count(*) FROM audit_log WHERE action LIKE 'migration.%' GROUP BY 1 ORDER BY 1;

-- From a PL/pgSQL procedure.
CREATE PROCEDURE pg_temp.deploy() LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
    r := pgmigrate.execute_pending_migrations();
    RAISE NOTICE 'deployed %, success %', r->'executed', r->'success';
END $$;
SELECT register_migration('{"name": "final", "forward": ["SELECT 1"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
CALL pg_temp.deploy();
SELECT status FROM knowledge_migrations WHERE migration_name = 'final';

-- Wrong answers of 0.3.0, each refused or answered right now.
-- A VALIDATE step passes only when every row is true, not the first one alone.
SELECT register_migration('{"name": "half_valid", "forward": ["SELECT 1"], "validation": ["SELECT ok FROM (VALUES (true), (false)) AS v(ok)"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'result'->1->>'error' AS error FROM execute_migration('half_valid', '{"force": true}') r;
-- A validation query ending in ";" or a "-- comment" is an ordinary script.
SELECT register_migration('{"name": "tidy_valid", "forward": ["SELECT 1 -- done"], "validation": ["SELECT true;  ", "SELECT true -- fine"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success FROM execute_migration('tidy_valid', '{"force": true}') r;
-- Registration refuses what could never run.
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "big_prio", "priority": 1e10, "forward": ["SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.register_migration('{"name": "null_dep", "dependsOn": [null], "forward": ["SELECT 1"]}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script, depends_on) VALUES ('null_dep', '1', 'SELECT 1', '{NULL}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.knowledge_migrations (migration_name, version, forward_script, definition) VALUES ('hand_written', '1', 'SELECT 1', '{"forward": [{"type": "SQL"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('final', '{"forse": true}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.execute_migration('final', '{"force": "yes"}')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.check_compatibility(NULL)$$);
-- A step cannot drop pg_migrate from under its own run.
SELECT register_migration('{"name": "suicide", "forward": ["DROP EXTENSION pg_migrate CASCADE"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'result'->0->>'sqlstate' AS sqlstate, r->'result'->0->>'error' AS error
  FROM execute_migration('suicide', '{"force": true}') r;
SELECT extversion IS NOT NULL AS still_installed FROM pg_extension WHERE extname = 'pg_migrate';
-- The dependency graph cannot be bent into a cycle or lose a node others need.
SELECT pgm_test.expect_error($$UPDATE pgmigrate.knowledge_migrations SET depends_on = ARRAY[(SELECT migration_id FROM pgmigrate.knowledge_migrations WHERE migration_name = 'final')] WHERE migration_name = 'half_valid'$$);
SELECT register_migration('{"name": "needs_final", "dependsOn": ["final"], "forward": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.knowledge_migrations WHERE migration_name = 'final'$$);
-- A step may not roll back a migration its own migration depends on.
SELECT register_migration('{"name": "undo_my_dep", "dependsOn": ["final"], "forward": ["SELECT pgmigrate.rollback_migration(''final'')"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'result'->0->>'sqlstate' AS sqlstate, r->'result'->0->>'error' AS error
  FROM execute_migration('undo_my_dep', '{"force": true}') r;
SELECT migration_name, status FROM knowledge_migrations WHERE migration_name IN ('final', 'undo_my_dep') ORDER BY 1;

DELETE FROM migration_execution_state;
DELETE FROM knowledge_migrations;
DROP TABLE public.accounts;
DROP FUNCTION public.tag_accounts(jsonb);
