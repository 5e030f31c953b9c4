#!/usr/bin/env bash
# Run the SQL suite (pg_regress) against the installed extension in the throwaway cluster.
#   scripts/sql_tests.sh [--accept]   --accept copies results over the expected files
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGM_PORT:-54329}
pkglib=$(scripts/pg_config.sh --pkglibdir)
out=${PGM_RESULTS:-/tmp/pg_migrate_regress}
tests=(setup merge types breaking tables registry evolution triggers privileges upgrade drop)

scripts/cluster.sh start >/dev/null
rm -rf "$out" && mkdir -p "$out"
status=0
"$pkglib/pgxs/src/test/regress/pg_regress" --host=127.0.0.1 --port="$port" --user=postgres \
    --inputdir=tests --outputdir="$out" --dbname=pg_migrate_regress "${tests[@]}" || status=$?
if [ "${1:-}" = "--accept" ]; then
    cp "$out"/results/*.out tests/expected/
    echo "accepted results into tests/expected/"
elif [ $status -ne 0 ]; then
    cat "$out/regression.diffs" 2>/dev/null | head -200
fi
exit $status
