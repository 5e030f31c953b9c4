#!/usr/bin/env bash
# Run the SQL suite (pg_regress) against the installed extension in the throwaway cluster.
#   scripts/sql_tests.sh [--accept]   --accept copies results over the expected files
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGM_PORT:-54329}
pkglib=$(scripts/pg_config.sh --pkglibdir)
out=${PGM_RESULTS:-/tmp/pg_migrate_regress}
tests=(setup merge hostile_jsonb types breaking tables registry hostile_schema evolution triggers privileges security engine safety safety_corpus safety_steps restore pipeline pipeline_sources pipeline_workers pipeline_rollback pipeline_restart pipeline_shapes canary canary_standby canary_concurrency run_migration run_migration_locks upgrade drop bluegreen bluegreen_load bluegreen_restart)
iso_tests=(concurrent_add_field concurrent_activation concurrent_execute dependency_races usage_opposite_order schema_cache_read_committed schema_cache_repeatable_read bluegreen_switch_notify bluegreen_prepare_race canary_ticks pipeline_parallel pipeline_concurrent_write pipeline_start_race)

scripts/cluster.sh start >/dev/null
# tests/sql/restore.sql runs pg_dump and pg_restore through psql's \!.
export PGM_BINDIR=$(scripts/pg_config.sh --bindir) PGM_PORT=$port PGM_RESULTS=$out
rm -rf "$out" && mkdir -p "$out"
status=0
"$pkglib/pgxs/src/test/regress/pg_regress" --host=127.0.0.1 --port="$port" --user=postgres \
    --inputdir=tests --outputdir="$out" --dbname=pg_migrate_regress "${tests[@]}" || status=$?
# Concurrent sessions: PostgreSQL's isolation tester.
iso_out="$out/isolation" && mkdir -p "$iso_out"
iso_status=0
"$pkglib/pgxs/src/test/isolation/pg_isolation_regress" --host=127.0.0.1 --port="$port" --user=postgres \
    --inputdir=tests/isolation --outputdir="$iso_out" --dbname=pg_migrate_isolation "${iso_tests[@]}" || iso_status=$?
if [ "${1:-}" = "--accept" ]; then
    cp "$out"/results/*.out tests/expected/
    cp "$iso_out"/results/*.out tests/isolation/expected/
    echo "accepted results into tests/expected/ and tests/isolation/expected/"
    exit 0
fi
for diffs in "$out/regression.diffs" "$iso_out/regression.diffs"; do
    [ -s "$diffs" ] && head -200 "$diffs"
done
[ $status -eq 0 ] && [ $iso_status -eq 0 ]
