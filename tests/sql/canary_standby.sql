-- Routing reads only: a hot standby (pg_basebackup -R, streaming) routes every key as the
-- primary does (tests/canary_standby.sh).
SELECT pgmigrate.canary_start('replica', '{"steps": [70, 100]}')->>'percentage' AS percentage;
SELECT string_agg(k || '->' || pgmigrate.canary_route('replica', k), ' ' ORDER BY k) AS fixed_keys_on_primary
  FROM unnest(ARRAY['tenant-1', 'tenant-2', 'tenant-3', 'tenant-4', 'tenant-5']) k;
-- Buckets by Python's mmh3: 63, 68, 46, 82, 58.
SELECT k, pgmigrate.canary_bucket('replica', k) AS bucket FROM unnest(ARRAY['tenant-1', 'tenant-2', 'tenant-3', 'tenant-4', 'tenant-5']) k ORDER BY k;
\! tests/canary_standby.sh
SELECT pgmigrate.canary_rollback('replica')->>'state' AS state;
