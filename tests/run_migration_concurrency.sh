#!/usr/bin/env bash
# run_migration under concurrent sessions (run from tests/sql/run_migration_locks.sql).
# Prints only facts that do not depend on timing; the waits other sessions saw (pgbench
# per-transaction latencies) go to $PGM_RESULTS/run_migration_figures.txt.
set -u
bin=${PGM_BINDIR:?} port=${PGM_PORT:?}
db=pg_migrate_regress
psql() { "$bin/psql" -X -q -t -A -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
figures=${PGM_RESULTS:-/tmp}/run_migration_figures.txt
tmp=$(mktemp -d)
: >"$figures"

psql -c "CREATE TABLE public.lk (id int PRIMARY KEY, v int); INSERT INTO public.lk SELECT g, 0 FROM generate_series(1, 1000) g;"
cat >"$tmp/bench.sql" <<'B'
\set id random(1, 1000)
UPDATE public.lk SET v = v + 1 WHERE id = :id;
SELECT v FROM public.lk WHERE id = :id;
B
# pgbench: 2 clients reading and writing public.lk for $1 seconds, latencies logged.
bench() {
    "$bin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 2 -T "$1" -f "$tmp/bench.sql" -l --log-prefix="$tmp/$2" "$db" \
        >"$tmp/$2.out" 2>&1
}
# The longest transaction of a pgbench run, in ms.
longest() { cat "$tmp/$1".[0-9]* 2>/dev/null | awk '{ if ($3 + 0 > m + 0) m = $3 + 0 } END { printf "%.1f", m / 1000 }'; }
# A session holding a lock in $2 mode on public.lk for $1 seconds.
hold() {
    PGAPPNAME=pgm_holder psql -c "BEGIN; LOCK TABLE public.lk IN $2 MODE; SELECT pg_sleep($1); COMMIT;" >/dev/null 2>&1 &
    for _ in $(seq 600); do
        [ "$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgm_holder' AND query LIKE '%pg_sleep%' AND wait_event = 'PgSleep'")" = 1 ] && break
        sleep 0.05
    done
}
register() { psql -c "SELECT pgmigrate.register_migration('$1')" >/dev/null; }
run() { psql -c "CALL pgmigrate.run_migration('$1', '$2')" 2>&1 | grep -v '^NOTICE'; }
attempts() { psql -c "SELECT string_agg(s.step_name || ':' || s.step_status || ':' || (s.retry_count > 0)::text, ', ' ORDER BY s.step_number)
                      FROM pgmigrate.migration_execution_state s JOIN pgmigrate.knowledge_migrations m USING (migration_id)
                     WHERE m.migration_name = '$1' AND s.phase = 'forward'"; }

echo "== CREATE INDEX CONCURRENTLY while pgbench writes"
bench 5 cic & b=$!
sleep 1
register '{"name": "lk_cic", "forward": [{"name": "new table", "script": "CREATE TABLE public.lk_new (id int)"},
  {"name": "index v", "script": "CREATE INDEX CONCURRENTLY lk_v_idx ON public.lk (v)"}],
  "validation": [{"name": "valid", "query": "SELECT indisvalid FROM pg_index WHERE indexrelid = (SELECT oid FROM pg_class WHERE relname = $$lk_v_idx$$)"}],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.lk_v_idx", "DROP TABLE IF EXISTS public.lk_new"]}'
run lk_cic '{"force": true}'
wait $b; echo "pgbench exit status: $?"
psql -c "SELECT 'status: ' || status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'lk_cic'"
psql -c "SELECT 'index valid: ' || indisvalid FROM pg_index WHERE indexrelid = 'public.lk_v_idx'::regclass"
echo "CREATE INDEX CONCURRENTLY under pgbench: longest pgbench transaction $(longest cic) ms" >>"$figures"

echo "== ALTER TABLE blocked by a 3 s reader, run_migration, lockTimeout 200 ms"
register '{"name": "lk_alter", "lockTimeout": 200, "lockRetries": 30,
  "forward": [{"name": "add c", "script": "ALTER TABLE public.lk ADD COLUMN c int"}], "rollback": ["ALTER TABLE public.lk DROP COLUMN c"]}'
bench 6 alter & b=$!
sleep 0.5
hold 3 'ACCESS SHARE'
run lk_alter '{"force": true}'
wait $b; echo "pgbench exit status: $?"
wait
psql -c "SELECT 'status: ' || status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'lk_alter'"
echo "steps (name:status:retried): $(attempts lk_alter)"
echo "ALTER TABLE behind a 3 s lock holder, run_migration (lockTimeout 200 ms): longest pgbench transaction $(longest alter) ms, attempts $(psql -c "SELECT retry_count + 1 FROM pgmigrate.migration_execution_state s JOIN pgmigrate.knowledge_migrations m USING (migration_id) WHERE m.migration_name = 'lk_alter'")" >>"$figures"

echo "== the same in execute_migration (retried in a subtransaction)"
register '{"name": "lk_alter2", "lockTimeout": 200, "lockRetries": 30,
  "forward": [{"name": "add d", "script": "ALTER TABLE public.lk ADD COLUMN d int"}], "rollback": ["ALTER TABLE public.lk DROP COLUMN d"]}'
bench 5 alter2 & b=$!
sleep 0.5
hold 2 'ACCESS SHARE'
psql -c "SELECT 'success: ' || (r->>'success') || ', retried: ' || ((r->'result'->0->>'attempts')::int > 1) FROM pgmigrate.execute_migration('lk_alter2', '{\"force\": true}') r"
wait $b; echo "pgbench exit status: $?"
wait
echo "ALTER TABLE behind a 2 s lock holder, execute_migration (lockTimeout 200 ms): longest pgbench transaction $(longest alter2) ms" >>"$figures"

echo "== CREATE INDEX CONCURRENTLY blocked by a SHARE UPDATE EXCLUSIVE holder for 2 s (worker retries)"
register '{"name": "lk_cic2", "lockTimeout": 200, "lockRetries": 30,
  "forward": [{"name": "index id v", "script": "CREATE INDEX CONCURRENTLY lk_id_v_idx ON public.lk (id, v)"}],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.lk_id_v_idx"]}'
hold 2 'SHARE UPDATE EXCLUSIVE'
run lk_cic2 '{"force": true}'
wait
psql -c "SELECT 'status: ' || status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'lk_cic2'"
echo "steps (name:status:retried): $(attempts lk_cic2)"
psql -c "SELECT 'invalid indexes left: ' || count(*) FROM pg_index WHERE indrelid = 'public.lk'::regclass AND NOT indisvalid"

echo "== ALTER TABLE behind a holder that never ends: fails cleanly with 55P03"
register '{"name": "lk_never", "forward": [{"name": "add e", "script": "ALTER TABLE public.lk ADD COLUMN e int", "lockTimeout": 200, "lockRetries": 3}],
  "rollback": ["ALTER TABLE public.lk DROP COLUMN e"]}'
bench 4 never & b=$!
sleep 0.5
hold 30 'ACCESS SHARE'
holder=$(psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgm_holder'")
"$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$db" -c "CALL pgmigrate.run_migration('lk_never', '{\"force\": true}')" 2>&1 \
    | grep -v '^NOTICE' | sed 's/^psql:[^ ]* //'
wait $b; echo "pgbench exit status: $?"
psql -c "SELECT pg_terminate_backend($holder)" >/dev/null
wait
psql -c "SELECT 'status: ' || status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'lk_never'"
psql -c "SELECT 'column e exists: ' || EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'public.lk'::regclass AND attname = 'e')"
echo "steps (name:status:retried): $(attempts lk_never)"
echo "ALTER TABLE behind a lock holder that never ends (4 attempts of 200 ms): longest pgbench transaction $(longest never) ms" >>"$figures"

echo "== the caller is canceled while the build waits for an old snapshot: the worker is terminated, the run is FAILED;"
echo "   resuming drops the INVALID index it left and builds it again"
register '{"name": "lk_cancel", "forward": [{"name": "index v2", "script": "CREATE INDEX CONCURRENTLY lk_v2_idx ON public.lk (v, id)", "lockTimeout": 0}],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.lk_v2_idx"]}'
PGAPPNAME=pgm_holder psql -c "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class; SELECT pg_sleep(60); COMMIT;" >/dev/null 2>&1 &
for _ in $(seq 600); do
    [ "$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgm_holder' AND wait_event = 'PgSleep'")" = 1 ] && break
    sleep 0.05
done
holder=$(psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgm_holder'")
PGAPPNAME=pgm_runner "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$db" \
    -c "CALL pgmigrate.run_migration('lk_cancel', '{\"force\": true}')" >"$tmp/cancel.out" 2>&1 & r=$!
for _ in $(seq 1200); do
    [ "$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND wait_event = 'virtualxid'")" = 1 ] && break
    sleep 0.05
done
psql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgm_runner'" >/dev/null
wait $r
grep -E '^(ERROR|HINT)' "$tmp/cancel.out"
for _ in $(seq 600); do
    [ "$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'")" = 0 ] && break
    sleep 0.05
done
psql -c "SELECT 'workers left: ' || count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"
psql -c "SELECT 'status: ' || k.status || ', job: ' || j.status || ', left behind: ' || j.cleanup::text FROM pgmigrate.knowledge_migrations k
         JOIN pgmigrate.migration_runs r USING (migration_id) JOIN pgmigrate.migration_jobs j USING (run_id) WHERE k.migration_name = 'lk_cancel'"
psql -c "SELECT 'index valid: ' || indisvalid FROM pg_index WHERE indexrelid = 'public.lk_v2_idx'::regclass"
psql -c "SELECT pg_terminate_backend($holder)" >/dev/null
wait
run lk_cancel '{}'
psql -c "SELECT 'status: ' || status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'lk_cancel'"
psql -c "SELECT string_agg(j.purpose || ':' || j.status, ', ' ORDER BY j.job_id) FROM pgmigrate.migration_jobs j
         JOIN pgmigrate.migration_runs r USING (run_id) JOIN pgmigrate.knowledge_migrations k USING (migration_id) WHERE k.migration_name = 'lk_cancel'"
psql -c "SELECT 'index valid: ' || indisvalid FROM pg_index WHERE indexrelid = 'public.lk_v2_idx'::regclass"

echo "== the caller's session dies while the worker waits: a new CALL resumes the run and waits for that same worker"
register '{"name": "lk_orphan", "forward": [{"name": "index v3", "script": "CREATE INDEX CONCURRENTLY lk_v3_idx ON public.lk (id, v)", "lockTimeout": 0}],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.lk_v3_idx"]}'
hold 60 'SHARE UPDATE EXCLUSIVE'
holder=$(psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgm_holder'")
PGAPPNAME=pgm_runner "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$db" \
    -c "CALL pgmigrate.run_migration('lk_orphan', '{\"force\": true}')" >/dev/null 2>&1 & r=$!
for _ in $(seq 1200); do
    [ "$(psql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND wait_event_type = 'Lock'")" = 1 ] && break
    sleep 0.05
done
psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgm_runner'" >/dev/null
wait $r
psql -c "SELECT 'status: ' || status FROM pgmigrate.knowledge_migrations WHERE migration_name = 'lk_orphan'"
(sleep 1; psql -c "SELECT pg_terminate_backend($holder)" >/dev/null) &
run lk_orphan '{}'
wait
psql -c "SELECT 'status: ' || k.status || ', runs: ' || count(DISTINCT r.run_id) || ', jobs: ' || count(j.job_id)
           FROM pgmigrate.knowledge_migrations k JOIN pgmigrate.migration_runs r USING (migration_id)
           JOIN pgmigrate.migration_jobs j USING (run_id) WHERE k.migration_name = 'lk_orphan' GROUP BY k.status"
psql -c "SELECT 'index valid: ' || indisvalid FROM pg_index WHERE indexrelid = 'public.lk_v3_idx'::regclass"

echo "== baseline (not asserted): the same ALTER without a lock timeout queues every session behind it"
bench 5 baseline & b=$!
sleep 0.5
hold 3 'ACCESS SHARE'
psql -c "SET lock_timeout = 0; ALTER TABLE public.lk ADD COLUMN f int" >/dev/null
wait $b; wait
echo "baseline: plain ALTER TABLE behind a 3 s lock holder, no lock_timeout: longest pgbench transaction $(longest baseline) ms" >>"$figures"
psql -c "DROP TABLE public.lk, public.lk_new"
rm -rf "$tmp"
echo "== done"
