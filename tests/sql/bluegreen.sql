-- Blue-green switching: refusals, migrations of several kinds, mapping both ways, keys,
-- constraints, identity, hostile names, switch / rollback / finish, notifications,
-- privileges. Runs in its own database so the colors start empty.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pgm_bluegreen;
CREATE DATABASE pgm_bluegreen;
\c pgm_bluegreen
SET client_min_messages = warning;
CREATE EXTENSION pg_migrate;
CREATE FUNCTION public.expect_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE SCHEMA app;
CREATE TABLE app.accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, first_name text, last_name text,
                           email text UNIQUE, score integer NOT NULL DEFAULT 0 CHECK (score >= 0), legacy text);
CREATE TABLE app.orders (order_id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES app.accounts (id) ON DELETE CASCADE,
                         amount integer CHECK (amount >= 0), note text);
CREATE TABLE app."Weird ""Table"" é" ("Key Col" text PRIMARY KEY, "MixedCase ü" text, "quote""d" integer);
CREATE TABLE app.nokey (a int);
INSERT INTO app.accounts (first_name, last_name, email, score, legacy)
SELECT 'first' || g, 'last' || g, 'u' || g || '@x', g, 'old' FROM generate_series(1, 3000) g;
INSERT INTO app.orders (account_id, amount, note) SELECT 1 + g % 3000, g, CASE WHEN g % 2 = 0 THEN 'n' END FROM generate_series(1, 5000) g;
INSERT INTO app."Weird ""Table"" é" SELECT 'k' || g, 'v' || g, g FROM generate_series(1, 100) g;

SELECT pgmigrate.register_migration($j${"name": "reshape", "version": "2",
  "forward": ["ALTER TABLE accounts ADD COLUMN full_name text",
              "ALTER TABLE accounts DROP COLUMN first_name, DROP COLUMN last_name, DROP COLUMN legacy",
              "ALTER TABLE accounts ADD COLUMN tier text NOT NULL DEFAULT 'basic'",
              "ALTER TABLE orders ALTER COLUMN amount TYPE bigint",
              "UPDATE orders SET note = coalesce(note, '') ",
              "ALTER TABLE orders ALTER COLUMN note SET NOT NULL",
              "CREATE INDEX orders_amount_idx ON orders (amount)"],
  "validation": ["SELECT count(*) > 0 FROM accounts"]}$j$::jsonb) IS NOT NULL AS registered;
SELECT pgmigrate.register_migration('{"name": "broken", "version": "1", "forward": ["ALTER TABLE accounts ADD COLUMN x int", "ALTER TABLE nothere ADD COLUMN y int"]}') IS NOT NULL AS registered;

-- Refusals create nothing.
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('ghost', '{"source_schema": "app"}')$$);
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('reshape', '{"source_schema": "app"}')$$);  -- app.nokey has no key
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('reshape', '{"source_schema": "app", "tables": ["accounts"], "bogus": 1}')$$);
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('reshape', '{"source_schema": "app", "tables": ["accounts"], "batch_size": 0}')$$);
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('reshape', '{"source_schema": "app", "tables": ["accounts"], "mapping": {"orders": {}}}')$$);
CREATE SCHEMA migration_green;
CREATE TABLE migration_green.leftover (x int);
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('reshape', '{"source_schema": "app", "tables": ["accounts"]}')$$);
SELECT count(*) AS deployments FROM pgmigrate.blue_green_deployments;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'pgmigrate_bg%';
SELECT expect_error($$SELECT pgmigrate.blue_green_switch()$$);

-- A migration whose step fails: the live schema is untouched, the error recorded, abortable.
CALL pgmigrate.blue_green_prepare('broken', '{"source_schema": "app", "tables": ["accounts"], "reset": true}');
SELECT state, failed_state, error FROM pgmigrate.blue_green_deployments;
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('reshape', '{"source_schema": "app"}')$$);  -- another in progress
SELECT count(*) FROM app.accounts;
SELECT pgmigrate.blue_green_abort() ->> 'aborted' AS aborted;
SELECT pgmigrate.blue_green_abort() AS again;
SELECT to_regclass('migration_green.accounts') AS dropped, count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'pgmigrate_bg%';

-- Prepare, a few batches at a time (as after a cancel): it continues where it stopped.
CALL pgmigrate.blue_green_prepare('reshape', $j${"source_schema": "app", "tables": ["accounts", "orders", "Weird \"Table\" é"],
  "batch_size": 1000, "max_batches": 2,
  "mapping": {"accounts": {"up": {"full_name": "first_name || ' ' || last_name"},
                           "down": {"first_name": "split_part(full_name, ' ', 1)", "last_name": "split_part(full_name, ' ', 2)"}},
              "orders": {"up": {"note": "coalesce(note, '')"}}}}$j$);
SELECT state, rows_copied FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('aborted');
-- A cancel in the middle of a batch loses only that batch's uncommitted work.
\set VERBOSITY terse
SET statement_timeout = '1ms';
CALL pgmigrate.blue_green_prepare('reshape');
RESET statement_timeout;
\set VERBOSITY default
-- Writes while it is being prepared are captured and replayed: insert, update, NULLs, key change, delete.
INSERT INTO app.accounts (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@x');
UPDATE app.accounts SET last_name = NULL, email = NULL WHERE id = 5;
UPDATE app.orders SET order_id = 900000, amount = NULL WHERE order_id = 7;
DELETE FROM app.accounts WHERE id = 6;
UPDATE app."Weird ""Table"" é" SET "Key Col" = 'renamed', "MixedCase ü" = NULL WHERE "Key Col" = 'k1';
CALL pgmigrate.blue_green_prepare('reshape');
SELECT state, rows_copied, handover->>'attempts' AS handover_attempts FROM pgmigrate.blue_green_deployments WHERE state = 'ready';
SELECT pgmigrate.blue_green_status() - 'created_at' - 'handover' - 'copy_rows_per_s' - 'deployment';

-- The target has the new shape, its constraints, foreign keys and indexes.
SELECT column_name, data_type, is_nullable FROM information_schema.columns
 WHERE table_schema = 'migration_green' AND table_name IN ('accounts', 'orders') ORDER BY table_name, ordinal_position;
SELECT conrelid::regclass, conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE connamespace = 'migration_green'::regnamespace ORDER BY 1::text, 2;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid::regclass::text LIKE 'migration_green.%' ORDER BY 1::text;
SELECT id, full_name, email, score, tier FROM migration_green.accounts WHERE id IN (5, 6) OR full_name = 'Ada Lovelace' ORDER BY id;
SELECT order_id, amount, note FROM migration_green.orders WHERE order_id IN (7, 900000);
SELECT * FROM migration_green."Weird ""Table"" é" WHERE "Key Col" IN ('k1', 'renamed');

-- Both ways, synchronously, in the same transaction; identity values never collide.
BEGIN;
INSERT INTO app.accounts (first_name, last_name) VALUES ('Live', 'Side');
INSERT INTO migration_green.accounts (full_name, email) VALUES ('Grace Hopper', 'grace@x');
UPDATE migration_green.orders SET amount = 77 WHERE order_id = 20;
INSERT INTO migration_green.orders (account_id, amount, note) VALUES (1, 1, 'new side');
INSERT INTO app.orders (account_id, amount, note) VALUES (1, 2, 'live side');
DELETE FROM migration_green.accounts WHERE id = 9;
COMMIT;
SELECT a.id, a.first_name, a.last_name, g.full_name FROM app.accounts a FULL JOIN migration_green.accounts g USING (id)
 WHERE a.first_name IN ('Live', 'Grace') OR g.full_name IN ('Live Side', 'Grace Hopper') ORDER BY 2;
SELECT (SELECT count(DISTINCT id) FROM app.accounts) = (SELECT count(*) FROM app.accounts) AS ids_unique;
SELECT o.note, o.order_id = g.order_id AS same_id FROM app.orders o JOIN migration_green.orders g USING (order_id)
 WHERE o.note IN ('new side', 'live side') ORDER BY 1;
SELECT amount FROM app.orders WHERE order_id = 20;
SELECT count(*) FROM app.orders WHERE account_id = 9;
SELECT expect_error($$INSERT INTO migration_green.orders (account_id, amount, note) VALUES (1, -1, 'x')$$);

-- The switch needs a passing validation (or force). (LISTEN: tests/isolation/specs/bluegreen_switch_notify.spec.)
SELECT expect_error($$SELECT pgmigrate.blue_green_switch()$$);
SELECT v->'ok' AS ok, v->'rules' AS rules, jsonb_path_query_array(v, '$.tables[*].ok') AS tables
  FROM pgmigrate.blue_green_validate() v;
-- A switch blocked by a long transaction gives up cleanly after its retries, changing nothing.
\! "$PGM_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pgm_bluegreen -c "BEGIN; LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT" > /dev/null 2>&1 &
DO $$ BEGIN
    WHILE NOT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'app.orders'::regclass AND mode = 'AccessExclusiveLock' AND granted) LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
END $$;
SELECT expect_error($$SELECT pgmigrate.blue_green_switch('{"lock_timeout_ms": 20, "lock_attempts": 3}')$$);
SELECT pgmigrate.active_schema(), state FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted');
SELECT count(*) AS audited_switches FROM pgmigrate.audit_log WHERE action = 'blue_green.switched';
SELECT pg_terminate_backend(pid) AS released FROM pg_locks WHERE relation = 'app.orders'::regclass AND mode = 'AccessExclusiveLock' AND granted;
SELECT r - 'lockWaitMs' - 'lockHeldMs' FROM pgmigrate.blue_green_switch() r;
SELECT pgmigrate.active_schema();
SET search_path = app, public;
SELECT pgmigrate.use_active_schema();
SHOW search_path;
SELECT pgmigrate.blue_green_switch() -> 'noop' AS repeated;
SELECT expect_error($$SELECT pgmigrate.blue_green_abort()$$);
-- After the switch, a pooled session still writing the old color loses nothing.
UPDATE app.accounts SET first_name = 'Still', last_name = 'Old' WHERE id = 10;
SELECT full_name FROM migration_green.accounts WHERE id = 10;
SELECT r - 'lockWaitMs' - 'lockHeldMs' FROM pgmigrate.blue_green_rollback() r;
SELECT pgmigrate.blue_green_rollback() -> 'noop' AS repeated;
SELECT pgmigrate.use_active_schema();
UPDATE migration_green.accounts SET full_name = 'Canary Write' WHERE id = 11;
SELECT first_name, last_name FROM app.accounts WHERE id = 11;
SELECT r - 'lockWaitMs' - 'lockHeldMs' FROM pgmigrate.blue_green_switch() r;
SELECT (v->'ok')::boolean AS still_equal FROM pgmigrate.blue_green_validate() v;

-- Finish: sync and log removed, old tables dropped, migration COMPLETED; all audited.
SELECT r - 'lockWaitMs' - 'attempts' FROM pgmigrate.blue_green_finish() r;
SELECT pgmigrate.blue_green_finish() AS again;
SELECT to_regclass('app.accounts') AS old_dropped, to_regclass('app.nokey') AS untouched;
SELECT status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'reshape';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'pgmigrate_bg%';
SELECT count(*) AS functions FROM pg_proc WHERE proname LIKE '\_bg\_%\_%' AND proname ~ '^_bg_[0-9]';
INSERT INTO migration_green.accounts (full_name) VALUES ('After Finish') RETURNING id > 3004 AS fresh_id;
SELECT action FROM pgmigrate.audit_log WHERE action LIKE 'blue_green.%' ORDER BY audit_id;
SELECT state FROM pgmigrate.blue_green_deployments ORDER BY deployment_id;
SELECT expect_error($$UPDATE pgmigrate.blue_green_deployments SET state = 'ready'$$);

-- The next deployment starts from the live color and targets the other one.
SELECT pgmigrate.register_migration('{"name": "next", "version": "3", "forward": ["ALTER TABLE accounts ADD COLUMN extra int DEFAULT 7"]}') IS NOT NULL;
CALL pgmigrate.blue_green_prepare('next', '{"tables": ["accounts", "orders"]}');
SELECT source_schema, target_schema, state FROM pgmigrate.blue_green_deployments WHERE state = 'ready';
SELECT pgmigrate.blue_green_abort() ->> 'aborted' AS aborted;

-- Privileges: an unprivileged role can do nothing; a granted admin can, and its mapping
-- runs with its own privileges, not pg_migrate's.
DROP ROLE IF EXISTS bg_nobody;
DROP ROLE IF EXISTS bg_admin;
CREATE ROLE bg_nobody;
CREATE ROLE bg_admin;
SET ROLE bg_nobody;
SELECT expect_error($$CALL pgmigrate.blue_green_prepare('next')$$);
SELECT expect_error($$SELECT pgmigrate.blue_green_switch()$$);
SELECT expect_error($$SELECT pgmigrate.blue_green_abort()$$);
SELECT expect_error($$SELECT pgmigrate.blue_green_status()$$);
SELECT pgmigrate.active_schema();
RESET ROLE;
SELECT pgmigrate.grant_blue_green_admin('bg_admin');
GRANT USAGE ON SCHEMA migration_green TO bg_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON migration_green.orders TO bg_admin;
SELECT pgmigrate.register_migration('{"name": "next_orders", "version": "4", "forward": ["ALTER TABLE orders ADD COLUMN extra int"]}') IS NOT NULL;
CREATE TABLE public.secret (s text);
INSERT INTO public.secret VALUES ('top');
SET ROLE bg_admin;
-- its mapping reads a table it may not read: the sync, run as bg_admin, is refused
CALL pgmigrate.blue_green_prepare('next_orders', $j${"tables": ["orders"], "mapping": {"orders": {"up": {"note": "(SELECT s FROM public.secret)"}}}}$j$);
SELECT pgmigrate.blue_green_status()->>'state' AS admin_reads_state;
RESET ROLE;
SELECT state, error LIKE '%permission denied for table secret%' AS refused FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted');
SELECT pgmigrate.blue_green_abort() ->> 'aborted' AS aborted;
\c pg_migrate_regress
SET client_min_messages = warning;
DROP DATABASE pgm_bluegreen;
DROP ROLE bg_nobody;
DROP ROLE bg_admin;
