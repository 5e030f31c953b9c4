-- 8 sessions report outcomes while 2 sessions tick (two pgbench runs at once): every
-- report is kept, no window is stepped twice, and the percentage only moves up the list.
-- (minSamples 80 at 1%, 2%, ...: 16,000 reports cannot reach promotion, so none is dropped.)
SELECT (pgmigrate._canary_create('busy', (SELECT migration_id FROM pgmigrate.knowledge_migrations WHERE migration_name = 'canary_m'),
        NULL, 'canary_old', 'canary_new', '{"interval": 0, "minSamples": 80, "steps": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]}',
        current_user::regrole, 'public')).percentage;
\! printf '%s\n' "SELECT pgmigrate.canary_report('busy', 'user-' || (random() * 100000)::int, true, 5);" > "$PGM_RESULTS/canary_report.pgbench"
\! cd "$PGM_RESULTS" && rm -f canary_done && { tick() { while [ ! -e canary_done ]; do "$PGM_BINDIR/psql" -qAtX -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pg_migrate_regress -c "SELECT pgmigrate.canary_step('busy')" >/dev/null || echo "a tick failed"; done; }; tick & tick & "$PGM_BINDIR/pgbench" -n -h 127.0.0.1 -p "$PGM_PORT" -U postgres -c 8 -j 2 -t 2000 -f canary_report.pgbench pg_migrate_regress > canary_reports.log 2>&1; echo "reporters exit status $?"; touch canary_done; wait; }
SELECT count(*) AS reports_kept FROM pgmigrate.canary_metrics m JOIN pgmigrate.canaries c USING (canary_id) WHERE c.name = 'busy';
SELECT state FROM pgmigrate.canaries WHERE name = 'busy';
-- Every change moved to the next step of the list: never twice in one window, never back.
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
