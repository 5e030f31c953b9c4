#!/usr/bin/env bash
# pgbench: single-row INSERTs into temporal_entities with the entity-store trigger
# (defaults + validation + deprecation) against the same table with it disabled.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGM_PORT:-54329}
bindir=$(scripts/pg_config.sh --bindir)
psql="$bindir/psql -X -q -h 127.0.0.1 -p $port -U postgres -d pg_migrate_bench -v ON_ERROR_STOP=1"
export seconds=${PGM_BENCH_SECONDS:-8}

$psql <<'SQL'
DELETE FROM pgmigrate.temporal_entities;
DELETE FROM pgmigrate.schema_versions;
SELECT pgmigrate.register_schema_version('bench', '{"entities": {"Order": {"additional_fields": false, "fields": {
  "customer": {"type": "uuid", "nullable": false}, "total": {"type": "numeric(12,2)", "nullable": false},
  "currency": {"type": "string", "nullable": false, "default": "EUR"}, "status": {"type": "string", "enum": ["new", "paid"]},
  "items": {"type": "array"}, "shipping": {"type": "object"}, "notes": {"type": "string"}, "gift": {"type": "boolean"},
  "placed_at": {"type": "timestamptz"}, "coupon": {"type": "string", "deprecated": true}}}}}', activate => true) IS NOT NULL AS registered;
SQL
cat > /tmp/pg_migrate_bench_insert.sql <<'SQL'
INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Order',
  jsonb_build_object('customer', gen_random_uuid(), 'total', 99.5, 'status', 'new', 'items', '[{"sku": "A-1", "qty": 2}]'::jsonb,
                     'shipping', '{"city": "Lyon", "zip": "69001"}'::jsonb, 'notes', 'leave at door', 'gift', false,
                     'placed_at', now()));
SQL
# Each run starts from an empty table, alternating without and with the trigger.
run() {
    $psql -c "ALTER TABLE pgmigrate.temporal_entities $1 TRIGGER temporal_entities_evolve" \
          -c 'TRUNCATE pgmigrate.temporal_entities' -c 'CHECKPOINT'
    "$bindir/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 1 -T "$seconds" -f /tmp/pg_migrate_bench_insert.sql pg_migrate_bench 2>/dev/null \
        | awk '/^tps/ {print $3}'
}
off=(); on=()
for _ in 1 2 3 4 5; do
    off+=("$(run DISABLE)")
    on+=("$(run ENABLE)")
done
# Medians, and best runs (the least disturbed by anything else on a shared machine).
summary() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%s %s", v[int((NR + 1) / 2)], v[NR] }'; }
read -r off_med off_best <<<"$(summary "${off[@]}")"
read -r on_med on_best <<<"$(summary "${on[@]}")"
awk -v a="$off_med" -v b="$on_med" -v c="$off_best" -v d="$on_best" 'BEGIN {
    printf "single-row INSERT, 1 client, 5 alternating runs of %s s each\n", ENVIRON["seconds"];
    printf "  no trigger:   median %6.0f tps, best %6.0f tps\n", a, c;
    printf "  with trigger: median %6.0f tps, best %6.0f tps\n", b, d;
    printf "  trigger overhead: %.1f%% (medians), %.1f%% (best runs); target: at most 15%%\n", (a / b - 1) * 100, (c / d - 1) * 100;
}'
echo "  runs without: ${off[*]}; with: ${on[*]}"
# The trigger's own cost per row, without client round trips: 20,000 rows per INSERT,
# five runs each way, best run (the least disturbed by anything else on the machine).
$psql <<'SQL'
CREATE TEMP TABLE bulk (trigger_on boolean, ms float8);
DO $$
DECLARE t0 timestamptz;
BEGIN
    FOR i IN 1..10 LOOP
        TRUNCATE pgmigrate.temporal_entities;
        EXECUTE format('ALTER TABLE pgmigrate.temporal_entities %s TRIGGER temporal_entities_evolve', CASE WHEN i % 2 = 0 THEN 'ENABLE' ELSE 'DISABLE' END);
        t0 := clock_timestamp();
        INSERT INTO pgmigrate.temporal_entities (entity_type, content)
        SELECT 'Order', jsonb_build_object('customer', gen_random_uuid(), 'total', 99.5, 'status', 'new',
                   'items', '[{"sku": "A-1", "qty": 2}]'::jsonb, 'shipping', '{"city": "Lyon", "zip": "69001"}'::jsonb,
                   'notes', 'leave at door', 'gift', false, 'placed_at', now())
          FROM generate_series(1, 20000);
        INSERT INTO bulk VALUES (i % 2 = 0, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END $$;
SELECT round((min(ms) FILTER (WHERE NOT trigger_on) / 20)::numeric, 2) AS us_per_row_without,
       round((min(ms) FILTER (WHERE trigger_on) / 20)::numeric, 2) AS us_per_row_with,
       round(((min(ms) FILTER (WHERE trigger_on) - min(ms) FILTER (WHERE NOT trigger_on)) / 20)::numeric, 2) AS trigger_us_per_row,
       round(((min(ms) FILTER (WHERE trigger_on) / min(ms) FILTER (WHERE NOT trigger_on) - 1) * 100)::numeric, 1) AS overhead_pct
  FROM bulk;
SQL
$psql -c "SELECT count(*) AS rows_written, count(*) FILTER (WHERE content->>'currency' = 'EUR') AS defaults_filled FROM pgmigrate.temporal_entities"
