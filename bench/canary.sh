#!/usr/bin/env bash
# Canary routing: canary_route per call against the hashtext(key) floor and a SQL lookup
# baseline over 1,000,000 keys; canary_report calls/s from 8 clients against an empty
# function call floor. Medians of 3 runs; ratios in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGM_PORT:-54329}
bindir=$(scripts/pg_config.sh --bindir)
psql="$bindir/psql -X -q -h 127.0.0.1 -p $port -U postgres -d pg_migrate_bench -v ON_ERROR_STOP=1"
tmp=$(mktemp -d)
cleanup() {
    rm -rf "$tmp"
    $psql -c "SELECT pgmigrate.canary_rollback('bench')" -c "SELECT pgmigrate.blue_green_abort()" >/dev/null 2>&1 || true
}
trap cleanup EXIT
$psql <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_canary_app CASCADE;
CREATE SCHEMA bench_canary_app;
CREATE TABLE bench_canary_app.accounts (id int PRIMARY KEY, tenant text NOT NULL);
INSERT INTO bench_canary_app.accounts SELECT g, 'tenant-' || g FROM generate_series(1, 1000) g;
SELECT pgmigrate.register_migration('{"name": "bench_canary", "version": "1", "forward": [{"type": "SQL", "script": "ALTER TABLE accounts ADD COLUMN x int"}]}') IS NOT NULL AS registered \gset
CALL pgmigrate.blue_green_prepare('bench_canary', '{"source_schema": "bench_canary_app"}');
SELECT pgmigrate.canary_start('bench', '{"steps": [50, 100], "minSamples": 1000000000}') IS NOT NULL AS started \gset
-- Baseline: the routing rule as a SQL function reading the canary row on every call.
CREATE OR REPLACE FUNCTION public.bench_route_sql(canary text, key text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pgmigrate.canary_bucket(c.salt, key) <= c.percentage THEN c.canary_schema ELSE c.baseline_schema END::text
      FROM pgmigrate.canaries c WHERE c.name = canary
$$;
DROP TABLE IF EXISTS public.bench_sink;
CREATE TABLE public.bench_sink (canary_id bigint, window_no int, canary boolean, ok boolean, duration_ms float8, reported_at timestamptz DEFAULT now());
CREATE OR REPLACE FUNCTION public.bench_empty(canary text, key text, ok boolean, duration_ms double precision) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN END $$;
SQL
$psql <<'SQL'
\pset footer off
CREATE TEMP TABLE route_results (impl text, ms float8);
DO $$
DECLARE t0 timestamptz; q record;
BEGIN
    FOR i IN 1..3 LOOP
        FOR q IN SELECT * FROM (VALUES
            ('hashtext(key) (floor)', 'SELECT count(*) FROM generate_series(1, 1000000) g WHERE hashtext(''user-'' || g) = 0'),
            ('canary_bucket(salt, key)', 'SELECT count(*) FROM generate_series(1, 1000000) g WHERE pgmigrate.canary_bucket(''bench'', ''user-'' || g) = 0'),
            ('canary_route(name, key)', 'SELECT count(*) FROM generate_series(1, 1000000) g WHERE pgmigrate.canary_route(''bench'', ''user-'' || g) = ''x'''),
            ('SQL lookup per call (baseline)', 'SELECT count(*) FROM generate_series(1, 1000000) g WHERE public.bench_route_sql(''bench'', ''user-'' || g) = ''x''')) v(impl, sql)
        LOOP
            t0 := clock_timestamp();
            EXECUTE q.sql;
            INSERT INTO route_results VALUES (q.impl, extract(epoch FROM clock_timestamp() - t0) * 1000);
        END LOOP;
    END LOOP;
END $$;
\echo 'canary_route over 1,000,000 keys (target: within 2x of hashtext)'
WITH r AS (SELECT impl, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM route_results GROUP BY impl)
SELECT impl, round(ms::numeric, 1) AS median_ms, round((ms * 1000 / 1000000)::numeric, 3) AS us_per_key,
       round((ms / (SELECT ms FROM r WHERE impl LIKE 'hashtext%'))::numeric, 2) AS x_hashtext
  FROM r ORDER BY ms;
SQL
echo "SELECT pgmigrate.canary_report('bench', 'user-' || (random() * 100000)::int, true, 5);" > "$tmp/report.sql"
echo "SELECT public.bench_empty('bench', 'user-' || (random() * 100000)::int, true, 5);" > "$tmp/empty.sql"
echo "INSERT INTO public.bench_sink (canary_id, window_no, canary, ok, duration_ms) VALUES (1, 1, random() < 0.5, true, 5);" > "$tmp/insert.sql"
tps() { "$bindir/pgbench" -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -c 8 -j 2 -T 5 -f "$1" pg_migrate_bench 2>/dev/null \
        | sed -nE 's/^tps = ([0-9.]+).*/\1/p'; }
declare -a rep emp ins
for i in 1 2 3; do rep+=("$(tps "$tmp/report.sql")"); emp+=("$(tps "$tmp/empty.sql")"); ins+=("$(tps "$tmp/insert.sql")"); done
med() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
r=$(med "${rep[@]}"); e=$(med "${emp[@]}"); n=$(med "${ins[@]}")
echo "calls/s from 8 clients (pgbench -M prepared, 5 s, median of 3):"
printf '  %-44s %10.0f  %5s\n' "empty plpgsql function (floor)" "$e" "1.00x" \
    "plain INSERT of a report row (write floor)" "$n" "$(awk -v a="$e" -v b="$n" 'BEGIN { printf "%.2fx", a / b }')" \
    "canary_report" "$r" "$(awk -v a="$e" -v b="$r" 'BEGIN { printf "%.2fx", a / b }')"
$psql -c "SELECT count(*) AS reports_recorded FROM pgmigrate.canary_metrics"
