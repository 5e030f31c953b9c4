#!/usr/bin/env bash
# Routing on a hot standby: a streaming replica made with pg_basebackup -R from the test
# cluster routes every key as the primary does, and refuses writes (canary_report).
# Run by tests/sql/canary_standby.sql (PGM_BINDIR, PGM_PORT, PGM_RESULTS set by
# scripts/sql_tests.sh). Prints only stable facts.
set -uo pipefail
db=pg_migrate_regress
sport=$((PGM_PORT + 100))
sdata="$PGM_RESULTS/standby"
as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"
    elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
    else sudo -u postgres "$@"; fi
}
q() { "$PGM_BINDIR/psql" -X -qAt -h 127.0.0.1 -p "$1" -U postgres -d $db -c "$2"; }
rm -rf "$sdata"; mkdir -p "$sdata"; chown postgres: "$sdata" 2>/dev/null || sudo chown postgres: "$sdata"; chmod 700 "$sdata"
as_postgres "$PGM_BINDIR/pg_basebackup" -h 127.0.0.1 -p "$PGM_PORT" -U postgres -D "$sdata" -R -X stream -c fast >/dev/null 2>&1 \
    || { echo "pg_basebackup failed"; exit 1; }
as_postgres "$PGM_BINDIR/pg_ctl" -D "$sdata" -l "$sdata/server.log" -o "-p $sport -c hot_standby=on" -w start >/dev/null 2>&1 \
    || { echo "standby did not start"; exit 1; }
trap 'as_postgres "$PGM_BINDIR/pg_ctl" -D "$sdata" -m immediate -w stop >/dev/null 2>&1; rm -rf "$sdata"' EXIT
echo "standby in recovery: $(q $sport 'SELECT pg_is_in_recovery()')"
# Wait until the standby has replayed everything the primary wrote so far.
target=$(q "$PGM_PORT" 'SELECT pg_current_wal_lsn()')
for _ in $(seq 1 300); do
    [ "$(q $sport "SELECT pg_last_wal_replay_lsn() >= '$target'")" = t ] && break
    sleep 0.1
done
keys="SELECT string_agg(k || '=' || pgmigrate.canary_route('replica', k), ',' ORDER BY g) FROM generate_series(1, 20000) g, LATERAL (SELECT 'tenant-' || g AS k) x"
p=$(q "$PGM_PORT" "$keys"); s=$(q $sport "$keys")
echo "keys routed on the standby as on the primary: $([ -n "$p" ] && [ "$p" = "$s" ] && echo yes || echo no)"
echo "fixed keys on the standby: $(q $sport "SELECT string_agg(k || '->' || pgmigrate.canary_route('replica', k), ' ' ORDER BY k) FROM unnest(ARRAY['tenant-1', 'tenant-2', 'tenant-3', 'tenant-4', 'tenant-5']) k")"
echo "canary_use on the standby: $(q $sport "BEGIN; SELECT pgmigrate.canary_use('replica', 'tenant-3'); SELECT current_setting('search_path'); COMMIT;" | tail -1)"
echo "canary_report on the standby fails: $(q $sport "SELECT pgmigrate.canary_report('replica', 'tenant-1', true, 1)" >/dev/null 2>&1 && echo no || echo yes)"
