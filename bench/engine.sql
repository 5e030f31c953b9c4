-- Migration engine overhead per step, and the safety report on a 200-statement script.
\pset footer off
SET client_min_messages = warning;
CREATE TABLE public.bench_t (id int PRIMARY KEY, v int);
INSERT INTO public.bench_t VALUES (1, 0);
-- Five identical migrations of 200 single-row UPDATE steps each.
SELECT count(pgmigrate.register_migration(jsonb_build_object('name', 'steps_' || m,
         'forward', (SELECT jsonb_agg('UPDATE public.bench_t SET v = v + 1 WHERE id = 1'::text) FROM generate_series(1, 200)),
         'rollback', jsonb_build_array('SELECT 1'))))
  FROM generate_series(1, 5) m;

CREATE TEMP TABLE engine_results (impl text, ms float8);
DO $$
DECLARE t0 timestamptz; m int;
BEGIN
    FOR m IN 1..5 LOOP
        t0 := clock_timestamp();
        PERFORM pgmigrate.execute_migration('steps_' || m, '{"force": true}');
        INSERT INTO engine_results VALUES ('execute_migration, 200 steps', extract(epoch FROM clock_timestamp() - t0) * 1000);
        t0 := clock_timestamp();
        FOR i IN 1..200 LOOP
            EXECUTE 'UPDATE public.bench_t SET v = v + 1 WHERE id = 1';
        END LOOP;
        INSERT INTO engine_results VALUES ('the same 200 statements directly', extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END $$;
\echo 'engine overhead (target: under 1 ms per step)'
WITH r AS (SELECT impl, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM engine_results GROUP BY impl)
SELECT (SELECT round(ms::numeric, 2) FROM r WHERE impl LIKE 'execute%') AS engine_ms_per_200,
       (SELECT round(ms::numeric, 2) FROM r WHERE impl LIKE 'the same%') AS direct_ms_per_200,
       round((((SELECT ms FROM r WHERE impl LIKE 'execute%') - (SELECT ms FROM r WHERE impl LIKE 'the same%')) / 200)::numeric, 3) AS overhead_ms_per_step;

-- A 200-statement script mixing safe and dangerous statements.
SELECT pgmigrate.register_migration(jsonb_build_object('name', 'big_script',
         'forward', jsonb_build_array((SELECT string_agg(s, '; ') FROM (
             SELECT (ARRAY['ALTER TABLE public.bench_t ADD COLUMN c' || i || ' int',
                           'CREATE INDEX ON public.bench_t (v)',
                           'UPDATE public.bench_t SET v = 0',
                           'ALTER TABLE public.bench_t ALTER COLUMN v TYPE bigint'])[1 + i % 4] AS s
               FROM generate_series(1, 200) i) q)),
         'rollback', jsonb_build_array('SELECT 1'))) IS NOT NULL AS registered;
CREATE TEMP TABLE safety_results (ms float8);
DO $$
DECLARE t0 timestamptz;
BEGIN
    FOR i IN 1..5 LOOP
        t0 := clock_timestamp();
        PERFORM pgmigrate.validate_migration_safety('big_script');
        INSERT INTO safety_results VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END $$;
SELECT 'validate_migration_safety, 200 statements' AS bench,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS median_ms,
       jsonb_array_length(pgmigrate.validate_migration_safety('big_script')->'allResults'->1->'issues') AS issues_found
  FROM safety_results;
DELETE FROM pgmigrate.knowledge_migrations;
DROP TABLE public.bench_t;
