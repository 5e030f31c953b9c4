-- Canary routing: bucketing, options, judgement and lifecycles.
SET search_path = pgmigrate, public;

-- Fixed keys with their expected buckets, computed independently with Python's mmh3
-- (mmh3.hash(salt + ':' + key, 0, signed=False) % 100 + 1); ('gr1', '123') -> 73 is
-- also in Unleash's own test suite.
SELECT salt, left(key, 10) AS key, pgmigrate.canary_bucket(salt, key) AS bucket, expected,
       pgmigrate.canary_bucket(salt, key) = expected AS ok
  FROM (VALUES ('g', 'user-1', 5), ('g', 'user-2', 44), ('test', '123', 14), ('gr1', '123', 73),
               ('default', 'someuser', 25), ('canary', 'tenant-42', 75), ('ünïcode', 'ключ', 16),
               ('', '', 31), ('a''b', 'x y', 72), ('s', repeat('k', 300), 64)) v(salt, key, expected);
SELECT pgmigrate.canary_bucket(NULL, 'x') IS NULL AS strict_null;
SELECT provolatile, proparallel FROM pg_proc WHERE oid = 'pgmigrate.canary_bucket(text, text)'::regprocedure;

-- Each 10% step holds within ±1% of 1,000,000 keys.
SELECT p, abs(share - p / 100.0) < 0.01 AS within_1pct
  FROM (SELECT p, count(*) FILTER (WHERE b <= p) / 1000000.0 AS share
          FROM (SELECT pgmigrate.canary_bucket('rollout', 'user-' || g) AS b FROM generate_series(1, 1000000) g) k,
               generate_series(10, 100, 10) p
         GROUP BY p) s
 ORDER BY p;

-- A helper feeding synthetic outcomes: n keys, an error every err_every-th, duration ms.
CREATE FUNCTION pgm_test.feed(canary text, n int, err_every int, ms float8, prefix text DEFAULT 'k') RETURNS void
LANGUAGE sql AS $$
    SELECT pgmigrate.canary_report(canary, prefix || g, err_every = 0 OR g % err_every <> 0, ms) FROM generate_series(1, n) g;
$$;
CREATE FUNCTION pgm_test.tick(canary text) RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ', r->>'action', r->>'verdict', r->>'state', r->>'percentage') FROM pgmigrate.canary_step(canary) r;
$$;

-- A live schema with a table keyed by tenant, and a blue-green deployment of a migration
-- that adds a column: the canary routes tenants to its target color.
CREATE SCHEMA canary_app;
CREATE TABLE canary_app.accounts (id int PRIMARY KEY, tenant text NOT NULL, balance int NOT NULL DEFAULT 0);
INSERT INTO canary_app.accounts SELECT g, 'tenant-' || (g % 200), 0 FROM generate_series(1, 2000) g;
SELECT pgmigrate.register_migration('{"name": "canary_m", "version": "1", "forward": [{"type": "SQL", "script": "ALTER TABLE accounts ADD COLUMN note text"}]}') IS NOT NULL AS registered;
-- No deployment yet: no canary.
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_start('early')$$);
SET client_min_messages = warning;
CALL pgmigrate.blue_green_prepare('canary_m', '{"source_schema": "canary_app"}');
RESET client_min_messages;
SELECT d->>'state' AS state, d->>'source_schema' AS source, d->>'target_schema' AS target FROM pgmigrate.blue_green_status() d;
CREATE FUNCTION pgm_test.make(name text, options jsonb) RETURNS int LANGUAGE sql AS $$
    SELECT (pgmigrate.canary_start(name, options)->>'percentage')::int;
$$;

-- Bad options: 22023 naming the option; nothing is created.
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"stepp": 10}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"step": "ten"}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"rollbackOnFailure": "yes"}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"interval": "3 fortnights"}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"steps": [10, 5, 100]}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"steps": [10, 50]}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"step": 10, "steps": [50, 100]}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"successThreshold": 1.5}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"marginalThreshold": 0.95}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"metrics": ["latency"]}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"weights": {"latency": 1}}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"customMetrics": [{"name": "x", "query": "SELECT 1", "max": "a"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '{"customMetrics": [{"name": "x", "query": "SELECT 1"}]}')$$);
SELECT pgm_test.expect_error($$SELECT pgm_test.make('bad', '[1, 2]')$$);
SELECT count(*) AS created FROM pgmigrate.canaries;
-- Defaults: steps 10..100, 30 s interval.
SELECT pgmigrate._canary_options('{}')->'steps' AS steps, pgmigrate._canary_options('{}')->'interval' AS interval,
       pgmigrate._canary_options('{"step": 25, "interval": "2min"}') @> '{"steps": [25, 50, 75, 100], "interval": 120}' AS step_25;

-- Routing: the new color for buckets at or below the percentage; raising it never moves a key back.
SELECT pgm_test.make('mono', '{"interval": 0}') AS percentage;
CREATE TEMP TABLE routed AS
SELECT 'key-' || g AS key, pgmigrate.canary_route('mono', 'key-' || g) = 'migration_green' AS at10 FROM generate_series(1, 100000) g;
SELECT count(*) FILTER (WHERE at10) BETWEEN 9000 AND 11000 AS about_10pct,
       bool_and(at10 = (pgmigrate.canary_bucket('mono', key) <= 10)) AS by_bucket FROM routed;
SELECT pgmigrate.canary_set_percentage('mono', 35);
ALTER TABLE routed ADD at35 boolean;
UPDATE routed SET at35 = pgmigrate.canary_route('mono', key) = 'migration_green';
SELECT pgmigrate.canary_set_percentage('mono', 80);
ALTER TABLE routed ADD at80 boolean;
UPDATE routed SET at80 = pgmigrate.canary_route('mono', key) = 'migration_green';
SELECT count(*) FILTER (WHERE at10 AND NOT at35) AS moved_back_10_35, count(*) FILTER (WHERE at35 AND NOT at80) AS moved_back_35_80,
       count(*) FILTER (WHERE at35) > count(*) FILTER (WHERE at10) AS grew FROM routed;
-- A statement sees one percentage; the next statement sees the new one.
SELECT pgmigrate.canary_set_percentage('mono', 0);
SELECT count(*) FILTER (WHERE pgmigrate.canary_route('mono', key) = 'migration_green') AS at0 FROM routed;
BEGIN;
SELECT pgmigrate.canary_use('mono', 'key-1') AS schema, current_setting('search_path') AS search_path;
COMMIT;
SELECT current_setting('search_path') AS search_path_after_commit;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_route('nope', 'k')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_report('nope', 'k', true, 1)$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_report('mono', 'k', true, -1)$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_report('mono', 'k', NULL, 1)$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_set_percentage('mono', 101)$$);
SELECT pgmigrate.canary_rollback('mono');

-- Passing all the way: 10 -> 50 -> 100 -> PROMOTED, one step per passing tick.
SELECT pgm_test.make('pass', '{"interval": 0, "minSamples": 20, "steps": [10, 50, 100], "keyColumn": "tenant"}') AS percentage;
SELECT pgm_test.tick('pass') AS no_data_holds;
SELECT pgm_test.feed('pass', 2000, 0, 20);
SELECT pgm_test.tick('pass');
SELECT pgm_test.feed('pass', 2000, 0, 20);
SELECT pgm_test.tick('pass');
SELECT pgm_test.feed('pass', 2000, 0, 20);
SELECT pgm_test.tick('pass');
SELECT pgm_test.tick('pass') AS after_promotion;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_set_percentage('pass', 50)$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_rollback('pass')$$);
SELECT pgmigrate.canary_route('pass', 'any key') AS promoted_route;
-- Reports for a finished canary are dropped.
SELECT count(*) AS before FROM pgmigrate.canary_metrics m JOIN pgmigrate.canaries c USING (canary_id) WHERE c.name = 'pass' \gset
SELECT pgm_test.feed('pass', 10, 0, 20);
SELECT count(*) = :before AS dropped FROM pgmigrate.canary_metrics m JOIN pgmigrate.canaries c USING (canary_id) WHERE c.name = 'pass';
-- Its history, its SetCanaryPercentage<N> steps, its evaluations with each metric.
SELECT old_state, new_state, old_percentage, new_percentage, h.reason FROM pgmigrate.canary_history h
  JOIN pgmigrate.canaries c USING (canary_id) WHERE c.name = 'pass' ORDER BY history_id;
SELECT step_name, step_status, old_value->'canary_percentage' AS old, new_value->'canary_percentage' AS new, transformation_applied
  FROM pgmigrate.migration_execution_state WHERE new_value->>'canary' = 'pass' ORDER BY started_at, step_number;
SELECT e.window_no, e.percentage, e.verdict, round(e.score::numeric, 4) AS score, e.action,
       string_agg(m.metric || '=' || round(m.value::numeric, 4) || '/' || m.score || '*' || m.weight, ' ' ORDER BY m.metric) AS metrics
  FROM pgmigrate.canary_evaluations e JOIN pgmigrate.canaries c USING (canary_id)
  LEFT JOIN pgmigrate.canary_evaluation_metrics m USING (evaluation_id)
 WHERE c.name = 'pass' GROUP BY e.evaluation_id ORDER BY e.evaluation_id;
SELECT action, details->>'canary' AS canary, details->'to' AS to_state FROM pgmigrate.audit_log
 WHERE action LIKE 'canary.%' AND details->>'canary' = 'pass' ORDER BY audit_id;
-- Promotion was the blue-green switch; the deployment is switched, so no new canary
-- starts until the deployment is rolled back (both colors stay in sync).
SELECT d->>'state' AS state, d->>'live_schema' AS live, pgmigrate.active_schema() AS active FROM pgmigrate.blue_green_status() d;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_start('too_soon')$$);
SELECT pgmigrate.blue_green_rollback()->>'to' AS live_again;
-- A finished canary follows the live color: the promoted one routes back with the rollback.
SELECT pgmigrate.canary_route('pass', 'any key') AS route_after_rollback;
-- The state machine is the database's: even the owner cannot bend it.
SELECT pgm_test.expect_error($$UPDATE pgmigrate.canaries SET state = 'RUNNING', percentage = 10 WHERE name = 'pass'$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.canaries SET state = 'PROMOTED' WHERE name = 'mono'$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.canaries (name, migration_id, deployment_id, baseline_schema, canary_schema, salt, steps,
        step_interval, success_threshold, marginal_threshold, weights, options, deadline_at, started_by, state)
    SELECT 'forged', migration_id, deployment_id, 'a', 'b', 's', '{100}', '0', 0, 0, '{}', '{}', now(), 'postgres', 'PROMOTED'
      FROM pgmigrate.blue_green_deployments LIMIT 1$$);

-- Failing: 10% errors is over maxErrorRate (critical) -> ROLLED_BACK at once, percentage 0.
SELECT pgm_test.make('fail', '{"interval": 0, "minSamples": 20}') AS percentage;
SELECT pgm_test.feed('fail', 2000, 10, 20);
SELECT r->>'action' AS action, r->>'verdict' AS verdict, r->>'state' AS state, r->>'percentage' AS percentage, r->'reasons' AS reasons
  FROM pgmigrate.canary_step('fail') r;
SELECT count(*) FILTER (WHERE pgmigrate.canary_route('fail', key) = 'migration_green') AS keys_on_new FROM routed;

-- Data consistency is critical: a canary row that differs between the colors (written
-- behind the sync's back) fails an otherwise perfect canary.
SELECT pgm_test.make('drift', '{"interval": 0, "minSamples": 20, "keyColumn": "tenant", "consistencySample": 50}') AS percentage;
SET session_replication_role = replica;
UPDATE migration_green.accounts SET balance = -1 WHERE pgmigrate.canary_bucket('drift', tenant) <= 10 AND id % 5 = 0;
RESET session_replication_role;
SELECT pgm_test.feed('drift', 2000, 0, 20);
SELECT r->>'action' AS action, r->>'verdict' AS verdict, r->>'state' AS state, r->'reasons'->0 AS reason,
       (SELECT m->>'value' FROM jsonb_array_elements(r->'metrics') m WHERE m->>'name' = 'data_consistency')::float8 < 0.99 AS drifted
  FROM pgmigrate.canary_step('drift') r;
SET session_replication_role = replica;
UPDATE migration_green.accounts SET balance = 0 WHERE balance = -1;
RESET session_replication_role;

-- A critical metric fails a high score on its own: 4% errors scores 0.7 (0.87 overall,
-- above successThreshold 0.8) but maxErrorRate is 2%.
SELECT pgm_test.make('critical', '{"interval": 0, "minSamples": 20, "maxErrorRate": 0.02, "successThreshold": 0.8}') AS percentage;
SELECT pgm_test.feed('critical', 2000, 25, 20);
SELECT r->>'action' AS action, r->>'verdict' AS verdict, round((r->>'score')::numeric, 4) AS score, r->>'state' AS state, r->'reasons' AS reasons
  FROM pgmigrate.canary_step('critical') r;
-- ... and a critical custom metric (stored query, run as its author).
SELECT pgm_test.make('critical2', '{"interval": 0, "minSamples": 20, "customMetrics": [{"name": "queue_depth", "query": "SELECT 500", "max": 100, "critical": true, "weight": 0.1}]}') AS percentage;
SELECT pgm_test.feed('critical2', 2000, 0, 20);
SELECT r->>'action' AS action, r->>'verdict' AS verdict, round((r->>'score')::numeric, 4) AS score, r->'reasons' AS reasons
  FROM pgmigrate.canary_step('critical2') r;

-- Too few samples: INCONCLUSIVE holds, never passes; percentage unchanged.
SELECT pgm_test.make('few', '{"interval": 0, "minSamples": 1000}') AS percentage;
SELECT pgm_test.feed('few', 2000, 0, 20);
SELECT pgm_test.tick('few');
SELECT pgm_test.tick('few');
SELECT state, percentage, failed_checks FROM pgmigrate.canaries WHERE name = 'few';
SELECT pgmigrate.canary_rollback('few')->>'state' AS state;
-- ... until the progress deadline.
SELECT pgm_test.make('deadline', '{"interval": 0, "minSamples": 1000, "progressDeadline": 0}') AS percentage;
SELECT r->>'action' AS action, r->>'state' AS state, r->>'reason' AS reason FROM pgmigrate.canary_step('deadline') r;

-- Marginal scores (response time 200 ms: 0.94 < 0.95) are failed checks; the limit fails it.
SELECT pgm_test.make('marginal', '{"interval": 0, "minSamples": 20, "successThreshold": 0.95, "failedCheckLimit": 2, "rollbackOnFailure": false}') AS percentage;
SELECT pgm_test.feed('marginal', 2000, 0, 200);
SELECT pgm_test.tick('marginal');
SELECT pgm_test.feed('marginal', 2000, 0, 200);
SELECT pgm_test.tick('marginal');
SELECT state, percentage, failed_checks, reason FROM pgmigrate.canaries WHERE name = 'marginal';
-- One live canary per deployment.
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_start('second')$$);
SELECT pgmigrate.canary_rollback('marginal')->>'state' AS state;
-- A score at or below marginalThreshold fails at once (response time 1 s scores 0: 0.7).
SELECT pgm_test.make('low', '{"interval": 0, "minSamples": 20}') AS percentage;
SELECT pgm_test.feed('low', 2000, 0, 1500);
SELECT r->>'action' AS action, round((r->>'score')::numeric, 4) AS score, r->>'state' AS state FROM pgmigrate.canary_step('low') r;

-- Timeout: past maxDuration -> TIMED_OUT; rolled back when rollbackOnFailure ...
SELECT pgm_test.make('slow', '{"maxDuration": 0}') AS percentage;
SELECT pgm_test.tick('slow');
-- ... kept for review otherwise, then rolled back (or promoted) by hand.
SELECT pgm_test.make('slow2', '{"maxDuration": 0, "rollbackOnFailure": false}') AS percentage;
SELECT pgm_test.tick('slow2');
SELECT pgmigrate.canary_rollback('slow2');

-- Pause and resume; a failure with rollbackOnFailure = false pauses for review.
SELECT pgm_test.make('pr', '{"interval": 0, "minSamples": 20, "rollbackOnFailure": false}') AS percentage;
SELECT pgmigrate.canary_pause('pr');
SELECT pgm_test.feed('pr', 2000, 0, 20);
SELECT pgm_test.tick('pr') AS paused_tick;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_pause('pr')$$);
SELECT pgmigrate.canary_resume('pr');
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_resume('pr')$$);
SELECT pgm_test.feed('pr', 2000, 5, 20);
SELECT pgm_test.tick('pr') AS failing_tick;
SELECT pgmigrate.canary_set_percentage('pr', 30);
SELECT pgmigrate.canary_resume('pr');
SELECT pgm_test.feed('pr', 2000, 0, 20);
SELECT pgm_test.tick('pr') AS resumed_tick;
SELECT pgmigrate.canary_promote('pr');
SELECT pgmigrate.blue_green_rollback()->>'to' AS live_again;

-- canary_evaluate judges without acting.
SELECT pgm_test.make('eval', '{"interval": 0, "minSamples": 20}') AS percentage;
SELECT pgm_test.feed('eval', 2000, 0, 20);
SELECT r->>'verdict' AS verdict, r->>'action' AS would, r->>'applied' AS applied, r->>'percentage' AS percentage FROM pgmigrate.canary_evaluate('eval') r;
SELECT percentage FROM pgmigrate.canaries WHERE name = 'eval';
SELECT pgmigrate.canary_rollback('eval')->>'state' AS state;

-- CALL canary_run ticks until a final state, committing between ticks.
SELECT pgm_test.make('run', '{"interval": 0, "minSamples": 0}') AS percentage;
SET client_min_messages = warning;
CALL pgmigrate.canary_run('run');
RESET client_min_messages;
SELECT state, percentage, (SELECT count(*) FROM pgmigrate.canary_history h WHERE h.canary_id = c.canary_id) AS changes
  FROM pgmigrate.canaries c WHERE name = 'run';
SELECT pgmigrate.blue_green_rollback()->>'to' AS live_again;

-- Privileges: clients route and report, admins drive, nobody else does either, and no one
-- writes the canary tables directly.
SET client_min_messages = warning;
DROP ROLE IF EXISTS pgm_canary_admin;
DROP ROLE IF EXISTS pgm_canary_client;
DROP ROLE IF EXISTS pgm_canary_nobody;
RESET client_min_messages;
CREATE ROLE pgm_canary_admin;
CREATE ROLE pgm_canary_client;
CREATE ROLE pgm_canary_nobody;
SELECT pgmigrate.grant_canary_admin('pgm_canary_admin'), pgmigrate.grant_canary_client('pgm_canary_client');
-- A custom metric query runs as the role that stored it, even when a superuser ticks.
CREATE TABLE public.canary_secret (v int);
INSERT INTO public.canary_secret VALUES (1);
SET ROLE pgm_canary_admin;
SELECT pgmigrate.canary_start('authored', '{"interval": 0, "minSamples": 20, "customMetrics": [{"name": "secret", "query": "SELECT v FROM canary_secret;", "min": 1}]}')->>'state' AS state;
RESET ROLE;
SELECT m.name, stored_by, stored_search_path FROM pgmigrate.canary_custom_metrics m JOIN pgmigrate.canaries c USING (canary_id) WHERE c.name = 'authored';
SELECT pgm_test.feed('authored', 2000, 0, 20);
SELECT r->>'verdict' AS verdict, r->>'action' AS action, r->'reasons'->-1 AS reason FROM pgmigrate.canary_step('authored') r;
SELECT observation->'custom_errors' AS errors FROM pgmigrate.canary_evaluations e JOIN pgmigrate.canaries c USING (canary_id)
 WHERE c.name = 'authored' ORDER BY evaluation_id DESC LIMIT 1;
GRANT SELECT ON public.canary_secret TO pgm_canary_admin;
SELECT r->>'verdict' AS verdict, r->>'action' AS action, r->>'percentage' AS percentage FROM pgmigrate.canary_step('authored') r;

SET ROLE pgm_canary_client;
SELECT pgmigrate.canary_route('authored', 'key-1') IS NOT NULL AS routes, (SELECT count(*) FROM (SELECT pgmigrate.canary_report('authored', 'key-1', true, 3)) r) AS reports;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_step('authored')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_set_percentage('authored', 100)$$);
SELECT pgm_test.expect_error($$CALL pgmigrate.canary_run('authored')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.canary_metrics VALUES (1, 1, true, true, 1)$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.canaries SET percentage = 100$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate._canary_report('authored', 'k', true, 1, 'postgres', '')$$);
RESET ROLE;
SET ROLE pgm_canary_nobody;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_route('authored', 'key-1')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_report('authored', 'key-1', true, 3)$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_pause('authored')$$);
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_start('nobody', '{}')$$);
RESET ROLE;
SET ROLE pgm_canary_admin;
SELECT pgmigrate.canary_pause('authored')->>'state' AS paused, pgmigrate.canary_resume('authored')->>'state' AS resumed;
SELECT pgm_test.expect_error($$UPDATE pgmigrate.canaries SET percentage = 100$$);
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.canary_history$$);
SELECT pgmigrate.canary_rollback('authored')->>'state' AS state;
RESET ROLE;
SELECT new_state, new_percentage, role_name FROM pgmigrate.canary_history h JOIN pgmigrate.canaries c USING (canary_id)
 WHERE c.name = 'authored' ORDER BY history_id;
SELECT role_name, action FROM pgmigrate.audit_log WHERE details->>'canary' = 'authored' ORDER BY audit_id;
DROP TABLE public.canary_secret;
