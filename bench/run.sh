#!/usr/bin/env bash
# Benchmarks: native functions against the reference PL/pgSQL/SQL and the built-in floors,
# in one cluster and one run. Prints per-call times and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
# A cluster of its own, sized like a database server's on this 24 GB machine (a sixth of
# memory as shared buffers, room for the WAL of a million-document run between
# checkpoints); fsync stays off, as in the test cluster. Every implementation compared
# runs on it.
export PGM_PGDATA=${PGM_BENCH_PGDATA:-/tmp/pg_migrate_bench_cluster} PGM_PORT=${PGM_BENCH_PORT:-54339}
export PGM_EXTRA_CONF=$'shared_buffers = 4GB\nwal_buffers = 64MB\nmax_wal_size = 8GB'
port=$PGM_PORT
psql="$(scripts/pg_config.sh --bindir)/psql -X -q -h 127.0.0.1 -p $port -U postgres"
scripts/cluster.sh start >/dev/null
$psql -d postgres -c 'DROP DATABASE IF EXISTS pg_migrate_bench' -c 'CREATE DATABASE pg_migrate_bench'
$psql -d pg_migrate_bench -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pg_migrate' -f tests/reference/reference.sql
for f in bench/core.sql bench/engine.sql bench/triggers.sh bench/bluegreen.sh bench/canary.sh; do
    echo "==> $f"
    case "$f" in *.sql) $psql -d pg_migrate_bench -v ON_ERROR_STOP=1 -f "$f" ;; *) "$f" ;; esac
done
# The pipeline bench writes 10 GB of versions: a database of its own, so the earlier
# benches' rows and dead tuples are not in the table whose writes it compares.
echo "==> bench/pipeline.sql"
$psql -d postgres -c 'DROP DATABASE IF EXISTS pg_migrate_bench_pipeline' -c 'CREATE DATABASE pg_migrate_bench_pipeline'
$psql -d pg_migrate_bench_pipeline -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pg_migrate' -f bench/pipeline.sql
