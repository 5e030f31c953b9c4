-- Canaries under concurrency, on the deployment tests/sql/canary.sql prepared.

-- 8 sessions report outcomes while 2 sessions tick: every report is kept, no window is
-- stepped twice, and the percentage only moves up the list. (minSamples 80 at 1%, 2%, ...:
-- 16,000 reports cannot reach promotion, so none is dropped.)
SELECT pgmigrate.canary_start('busy', '{"interval": 0, "minSamples": 80, "steps": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]}')->>'percentage' AS percentage;
\! printf '%s\n' "SELECT pgmigrate.canary_report('busy', 'user-' || (random() * 100000)::int, true, 5);" > "$PGM_RESULTS/canary_report.pgbench"
\! cd "$PGM_RESULTS" && rm -f canary_done && { tick() { while [ ! -e canary_done ]; do "$PGM_BINDIR/psql" -qAtX -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pg_migrate_regress -c "SELECT pgmigrate.canary_step('busy')" >/dev/null || echo "a tick failed"; done; }; tick & tick & "$PGM_BINDIR/pgbench" -n -h 127.0.0.1 -p "$PGM_PORT" -U postgres -c 8 -j 2 -t 2000 -f canary_report.pgbench pg_migrate_regress > canary_reports.log 2>&1; echo "reporters exit status $?"; touch canary_done; wait; }
SELECT count(*) AS reports_kept FROM pgmigrate.canary_metrics m JOIN pgmigrate.canaries c USING (canary_id) WHERE c.name = 'busy';
-- How many windows got enough reports while the reporters ran depends on the machine's
-- speed; then, deterministically, a window with enough reports on both sides and one more
-- tick, which steps.
SELECT count(*) FILTER (WHERE r.side = c.canary_schema) >= 80 AND count(*) FILTER (WHERE r.side = c.baseline_schema) >= 80 AS topped_up
  FROM pgmigrate.canaries c,
       LATERAL (SELECT pgmigrate.canary_route('busy', k) AS side, pgmigrate.canary_report('busy', k, true, 5)
                  FROM (SELECT 'top-' || g AS k FROM generate_series(1, 20000) g) s) r
 WHERE c.name = 'busy';
SELECT pgmigrate.canary_step('busy')->>'action' AS action;
SELECT state FROM pgmigrate.canaries WHERE name = 'busy';
SELECT bool_and(h.new_percentage = (SELECT min(s) FROM unnest(c.steps) s WHERE s > h.old_percentage)) AS one_step_at_a_time
  FROM pgmigrate.canary_history h JOIN pgmigrate.canaries c USING (canary_id)
 WHERE c.name = 'busy' AND h.old_state IS NOT NULL;
SELECT count(*) = count(DISTINCT e.window_no) AS one_step_per_window, count(*) >= 1 AS stepped
  FROM pgmigrate.canary_evaluations e JOIN pgmigrate.canaries c USING (canary_id)
 WHERE c.name = 'busy' AND e.action = 'step_up';
-- Each step's evaluation saw at least minSamples canary reports of its own window.
SELECT bool_and((e.observation->'canary'->>'requests')::int >= 80) AS judged_on_enough
  FROM pgmigrate.canary_evaluations e JOIN pgmigrate.canaries c USING (canary_id)
 WHERE c.name = 'busy' AND e.action = 'step_up';
SELECT pgmigrate.canary_rollback('busy')->>'state' AS state;

-- Writes through both colors at once for overlapping keys, while the percentage grows:
-- sessions write each account through the color its tenant routes to (canary_use), others
-- through the live color, others through the target color, all on the same accounts.
-- Nothing is lost (the blue-green mirror check): both colors end up identical and hold
-- every committed increment.
SELECT pgmigrate.canary_start('mirror', '{"interval": 0, "steps": [20, 60, 100]}')->>'percentage' AS percentage;
UPDATE canary_app.accounts SET balance = 0;
\! printf '%s\n' '\set id random(1, 200)' 'BEGIN;' "SELECT pgmigrate.canary_use('mirror', 'tenant-' || (:id % 200));" 'UPDATE accounts SET balance = balance + 1 WHERE id = :id;' 'COMMIT;' > "$PGM_RESULTS/canary_routed.pgbench"
\! printf '%s\n' '\set id random(1, 200)' 'UPDATE canary_app.accounts SET balance = balance + 1 WHERE id = :id;' > "$PGM_RESULTS/canary_live.pgbench"
\! printf '%s\n' '\set id random(1, 200)' 'UPDATE migration_green.accounts SET balance = balance + 1 WHERE id = :id;' > "$PGM_RESULTS/canary_target.pgbench"
\! cd "$PGM_RESULTS" && rm -f canary_done && { grow() { for p in 40 60 80; do sleep 0.3; "$PGM_BINDIR/psql" -qAtX -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pg_migrate_regress -c "SELECT pgmigrate.canary_set_percentage('mirror', $p)" >/dev/null || echo "set_percentage failed"; done; }; grow & "$PGM_BINDIR/pgbench" -n -h 127.0.0.1 -p "$PGM_PORT" -U postgres -c 6 -j 2 -t 300 --max-tries=20 -f canary_routed.pgbench@4 -f canary_live.pgbench@1 -f canary_target.pgbench@1 pg_migrate_regress > canary_mirror.log 2>&1; echo "writers exit status $?"; wait; grep -E '^number of transactions actually processed' canary_mirror.log | sed -E 's/.*: ([0-9]+)\/.*/\1/' > canary_mirror.count; }
\set committed `cat "$PGM_RESULTS/canary_mirror.count"`
SELECT :committed > 0 AS wrote,
       (SELECT sum(balance) FROM canary_app.accounts) = :committed AS live_has_every_write,
       (SELECT sum(balance) FROM migration_green.accounts) = :committed AS target_has_every_write;
SELECT count(*) AS differences FROM (
    (SELECT id, tenant, balance FROM canary_app.accounts EXCEPT SELECT id, tenant, balance FROM migration_green.accounts)
    UNION ALL
    (SELECT id, tenant, balance FROM migration_green.accounts EXCEPT SELECT id, tenant, balance FROM canary_app.accounts)) d;
SELECT percentage FROM pgmigrate.canaries WHERE name = 'mirror';

-- The deployment ends under a live canary: the next tick rolls the canary back.
SELECT pgmigrate.blue_green_abort() IS NOT NULL AS aborted;
SELECT r->>'action' AS action, r->>'state' AS state, r->>'reason' AS reason FROM pgmigrate.canary_step('mirror') r;
SELECT pgm_test.expect_error($$SELECT pgmigrate.canary_start('after')$$);
