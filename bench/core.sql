-- jsonb_deep_merge and detect_breaking_changes against their baselines.
\pset footer off
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS pgm_bench;

-- Milliseconds per evaluation of `expr` over the rows of `source`: the median of five
-- passes of n / 5 repetitions each (n passes when n < 5), so a burst of background work
-- (a checkpoint writing out an earlier bench) moves one pass, not the figure. Arguments
-- come from table columns, so immutable functions are not folded away.
CREATE OR REPLACE FUNCTION pgm_bench.ms(expr text, source text, n int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    rows bigint;
    q text := format('SELECT count(%s) FROM %s, generate_series(1, $1)', expr, source);
    passes float8[] := '{}';
    k int := least(5, n);
BEGIN
    EXECUTE q INTO rows USING 1;                       -- warm-up: detoast, caches
    FOR i IN 1..k LOOP
        t0 := clock_timestamp();
        EXECUTE q INTO rows USING n / k;
        passes := passes || extract(epoch FROM clock_timestamp() - t0) * 1000 / rows;
    END LOOP;
    RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY p) FROM unnest(passes) p);
END $$;

CREATE TEMP TABLE results (bench text, impl text, ms float8);

-- ~1 KB documents: 40 keys, 3 levels, half of them overlapping.
CREATE TEMP TABLE small_docs AS
SELECT (SELECT jsonb_object_agg('key' || i, CASE WHEN i % 4 = 0 THEN jsonb_build_object('x', i, 'y', jsonb_build_object('deep', i, 'tag', 'v' || i)) ELSE to_jsonb(i) END)
          FROM generate_series(1, 40) i) AS a,
       (SELECT jsonb_object_agg('key' || (i * 2), CASE WHEN i % 2 = 0 THEN jsonb_build_object('y', jsonb_build_object('deep', -i, 'more', true)) ELSE to_jsonb('s' || i) END)
          FROM generate_series(1, 40) i) AS b;
-- ~400 KB documents.
CREATE TEMP TABLE big_docs AS
SELECT (SELECT jsonb_object_agg('key' || i, jsonb_build_object('n', i, 's', md5(i::text), 'nested', jsonb_build_object('a', i, 'b', md5((i * 7)::text))))
          FROM generate_series(1, 4000) i) AS a,
       (SELECT jsonb_object_agg('key' || (i * 2), jsonb_build_object('n', -i, 'nested', jsonb_build_object('c', i)))
          FROM generate_series(1, 4000) i) AS b;
SELECT 'merge documents' AS what, octet_length(a::text) AS small_bytes, (SELECT octet_length(a::text) FROM big_docs) AS big_bytes FROM small_docs;

INSERT INTO results VALUES
    ('merge ~1KB',   'native jsonb_deep_merge', pgm_bench.ms('pgmigrate.jsonb_deep_merge(a, b)', 'small_docs', 20000)),
    ('merge ~1KB',   'SQL recursive merge',     pgm_bench.ms('pgm_ref.jsonb_deep_merge(a, b)', 'small_docs', 500)),
    ('merge ~1KB',   'built-in || (shallow)',   pgm_bench.ms('a || b', 'small_docs', 20000)),
    ('merge ~400KB', 'native jsonb_deep_merge', pgm_bench.ms('pgmigrate.jsonb_deep_merge(a, b)', 'big_docs', 50)),
    ('merge ~400KB', 'SQL recursive merge',     pgm_bench.ms('pgm_ref.jsonb_deep_merge(a, b)', 'big_docs', 3)),
    ('merge ~400KB', 'built-in || (shallow)',   pgm_bench.ms('a || b', 'big_docs', 50));

-- Entity schemas of N entities x 40 fields; the new version retypes, tightens, drops and adds.
CREATE OR REPLACE FUNCTION pgm_bench.schema(n int, variant int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('version', variant, 'entities', jsonb_object_agg('Entity' || e, jsonb_build_object('fields',
        (SELECT jsonb_object_agg('field' || f, jsonb_build_object(
                    'type', CASE WHEN variant = 2 AND f % 10 = 0 THEN 'bigint' WHEN variant = 2 AND f % 10 = 1 THEN 'integer' ELSE (ARRAY['integer','text','varchar(20)','timestamp'])[1 + f % 4] END,
                    'nullable', NOT (variant = 2 AND f % 13 = 0)))
           FROM generate_series(1, 40) f WHERE NOT (variant = 2 AND f = 40 AND e % 5 = 0)))))
      FROM generate_series(1, n) e WHERE NOT (variant = 2 AND e % 50 = 0)
$$;
CREATE TEMP TABLE schemas_200 AS SELECT pgm_bench.schema(200, 1) AS o, pgm_bench.schema(200, 2) AS n;
CREATE TEMP TABLE schemas_800 AS SELECT pgm_bench.schema(800, 1) AS o, pgm_bench.schema(800, 2) AS n;
SELECT 'detect inputs' AS what,
       (SELECT jsonb_array_length(pgmigrate.detect_breaking_changes(o, n)) FROM schemas_200) AS changes_200,
       (SELECT jsonb_array_length(pgmigrate.detect_breaking_changes(o, n)) FROM schemas_800) AS changes_800,
       (SELECT pgmigrate.detect_breaking_changes(o, n) = pgm_ref.detect_breaking_changes(o, n) FROM schemas_200) AS same_result_200;

INSERT INTO results VALUES
    ('detect 200x40', 'native detect_breaking_changes', pgm_bench.ms('pgmigrate.detect_breaking_changes(o, n)', 'schemas_200', 100)),
    ('detect 200x40', 'PL/pgSQL reference',             pgm_bench.ms('pgm_ref.detect_breaking_changes(o, n)', 'schemas_200', 1)),
    ('detect 800x40', 'native detect_breaking_changes', pgm_bench.ms('pgmigrate.detect_breaking_changes(o, n)', 'schemas_800', 25)),
    ('detect 800x40', 'PL/pgSQL reference',             pgm_bench.ms('pgm_ref.detect_breaking_changes(o, n)', 'schemas_800', 1));

\echo
\echo 'per-call times (ms)'
SELECT bench, impl, round(ms::numeric, 4) AS ms_per_call FROM results ORDER BY bench, ms;

\echo 'ratios (targets: merge >= 50x the SQL merge and within 2x of ||; detect >= 500x the reference, linear growth)'
WITH r AS (SELECT bench, max(ms) FILTER (WHERE impl LIKE 'native%') AS native,
                  max(ms) FILTER (WHERE impl LIKE 'SQL%' OR impl LIKE 'PL/pgSQL%') AS baseline,
                  max(ms) FILTER (WHERE impl LIKE 'built-in%') AS floor
             FROM results GROUP BY bench)
SELECT bench,
       round((baseline / native)::numeric, 1) AS "native speedup vs baseline",
       round((native / floor)::numeric, 2) AS "native / built-in floor"
  FROM r ORDER BY bench;
SELECT round(((SELECT ms FROM results WHERE bench = 'detect 800x40' AND impl LIKE 'native%')
            / (SELECT ms FROM results WHERE bench = 'detect 200x40' AND impl LIKE 'native%'))::numeric, 2) AS "native detect 800/200 time ratio (4 = linear)",
       round(((SELECT ms FROM results WHERE bench = 'detect 800x40' AND impl LIKE 'PL/pgSQL%')
            / (SELECT ms FROM results WHERE bench = 'detect 200x40' AND impl LIKE 'PL/pgSQL%'))::numeric, 2) AS "reference 800/200 time ratio";
