#!/usr/bin/env bash
# Blue-green: copy rate of blue_green_prepare on 1,000,000 rows of ~100 bytes against a
# plain INSERT INTO copy SELECT * FROM live (the floor); pgbench TPS of single-row
# updates with two-way sync on versus off; lock held by the hand-over and by 20 switches
# back and forth under 8 writing clients (p50 and max).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGM_PORT:-54329}
bindir=$(scripts/pg_config.sh --bindir)
db=pg_migrate_bench_bg
psql="$bindir/psql -X -q -h 127.0.0.1 -p $port -U postgres -d $db -v ON_ERROR_STOP=1"
rows=${PGM_BENCH_ROWS:-1000000}
seconds=${PGM_BENCH_SECONDS:-8}
scripts/cluster.sh start >/dev/null
$bindir/psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
$psql <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_migrate;
CREATE SCHEMA bgb;
CREATE TABLE bgb.live (id bigint PRIMARY KEY, n integer NOT NULL, payload text);
INSERT INTO bgb.live SELECT g, g, repeat(md5(g::text), 2) || 'abcdefghijklmnopqrstuvwx' FROM generate_series(1, $rows) g;
VACUUM ANALYZE bgb.live;
SELECT pgmigrate.register_migration('{"name": "bench", "version": "1", "forward": ["ALTER TABLE live ADD COLUMN extra int DEFAULT 0"]}') IS NOT NULL;
SQL
now_ms() { date +%s%3N; }

# Copy: the floor, then prepare (whose NOTICE reports the copy phase's rows and seconds).
t0=$(now_ms)
$psql -c 'CREATE TABLE bgb.floor (LIKE bgb.live)' -c 'INSERT INTO bgb.floor SELECT * FROM bgb.live'
floor_ms=$(( $(now_ms) - t0 ))
$psql -c 'DROP TABLE bgb.floor' -c 'CHECKPOINT'
t0=$(now_ms)
notice=$($psql -c "CALL pgmigrate.blue_green_prepare('bench', '{\"source_schema\": \"bgb\", \"batch_size\": 50000}')" 2>&1 | grep 'copy done')
prepare_ms=$(( $(now_ms) - t0 ))
copy_s=$(sed -E 's/.* rows in ([0-9.]+) s.*/\1/' <<<"$notice")
awk -v r="$rows" -v f="$floor_ms" -v c="$copy_s" -v p="$prepare_ms" 'BEGIN {
    fr = r / (f / 1000); cr = r / c;
    printf "copy %d rows: INSERT..SELECT floor %.0f rows/s | prepare copy phase %.0f rows/s (%.2fx of floor) | whole prepare %.1f s\n", r, fr, cr, cr / fr, p / 1000 }'
$psql -At -c "SELECT 'hand-over: lock held ' || (handover->>'lockHeldMs') || ' ms, waited ' || (handover->>'lockWaitMs') || ' ms, attempts ' || (handover->>'attempts') FROM pgmigrate.blue_green_deployments WHERE state = 'ready'"

# Sync on versus off: single-row updates on random keys, on the live table (synced) and
# on a twin of it outside the deployment (no trigger), alternately.
$psql -c 'CREATE TABLE bgb_twin AS SELECT * FROM bgb.live' -c 'ALTER TABLE bgb_twin ADD PRIMARY KEY (id)' -c 'VACUUM ANALYZE bgb_twin'
for t in bgb.live bgb_twin; do
    cat > /tmp/pgm_bg_bench_update_${t#*.}.sql <<SQL
\set id random(1, $rows)
UPDATE $t SET n = n + 1, payload = md5(random()::text) WHERE id = :id;
SQL
done
tps() { "$bindir/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -T "$seconds" -f "/tmp/pgm_bg_bench_update_$1.sql" $db 2>/dev/null | awk '/^tps/ {print $3}'; }
on=(); off=()
for _ in 1 2 3; do
    $psql -c CHECKPOINT
    off+=("$(tps bgb_twin)")
    $psql -c CHECKPOINT
    on+=("$(tps live)")
done
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
awk -v off="$(med "${off[@]}")" -v on="$(med "${on[@]}")" 'BEGIN {
    printf "sync: pgbench update TPS sync off %.0f | sync on %.0f | %.2fx slower\n", off, on, off / on }'

# Switches back and forth under 8 writing clients.
$psql -At -c "SELECT 'validate (counts + checksums of both colors, 1 snapshot): ' || (v->>'ok') FROM pgmigrate.blue_green_validate() v"
"$bindir/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 8 -j 2 -T 30 -f /tmp/pgm_bg_bench_update_live.sql $db >/dev/null 2>&1 &
writers=$!
sleep 1
held=()
for i in $(seq 1 10); do
    held+=("$($psql -At -c "SELECT pgmigrate.blue_green_switch()->>'lockHeldMs'")")
    held+=("$($psql -At -c "SELECT pgmigrate.blue_green_rollback()->>'lockHeldMs'")")
done
wait $writers || true
printf '%s\n' "${held[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    printf "switch: lock held over %d switches under 8 writers: p50 %.3f ms, max %.3f ms\n", NR, v[int((NR + 1) / 2)], v[NR] }'
$psql -c "SELECT pgmigrate.blue_green_abort()" >/dev/null

# The hand-over under 8 writing clients: prepare again while they write.
"$bindir/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 8 -j 2 -T 60 -f /tmp/pgm_bg_bench_update_live.sql $db >/dev/null 2>&1 &
writers=$!
sleep 1
$psql -c "CALL pgmigrate.blue_green_prepare('bench', '{\"batch_size\": 50000}')" >/dev/null 2>&1
$psql -At -c "SELECT 'hand-over under 8 writers: lock held ' || (handover->>'lockHeldMs') || ' ms (replayed ' || (handover->>'replayed') || ' writes under it), waited ' || (handover->>'lockWaitMs') || ' ms, attempts ' || (handover->>'attempts') FROM pgmigrate.blue_green_deployments WHERE state = 'ready'"
kill "$writers" 2>/dev/null || true
wait "$writers" 2>/dev/null || true
$psql -c "SELECT pgmigrate.blue_green_abort()" >/dev/null
$bindir/psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "DROP DATABASE $db WITH (FORCE)"
