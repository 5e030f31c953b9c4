-- Nothing lost (pg-osc's proof): 8 pgbench writers (inserts, deletes, updates to NULL,
-- primary-key changes) write to the live table and, in the same transaction, to a plain
-- mirror table, while prepare, switch, rollback and switch run. Four stay on the color
-- they started on, four follow the switch (use_active_schema per transaction). The
-- migration renames a column (mapping both ways) and widens integer -> bigint.
-- Afterwards the symmetric difference between the mirror and each color is empty.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pgm_bluegreen_load WITH (FORCE);
CREATE DATABASE pgm_bluegreen_load;
\c pgm_bluegreen_load
SET client_min_messages = warning;
CREATE EXTENSION pg_migrate;
CREATE TABLE public.items (id bigint PRIMARY KEY, k integer NOT NULL, val text, note text);
CREATE SCHEMA mirror;
CREATE TABLE mirror.items (id bigint PRIMARY KEY, k bigint NOT NULL, val text, note text);
CREATE SEQUENCE mirror.new_ids START 1000000;
INSERT INTO public.items SELECT g, g, md5(g::text), CASE WHEN g % 3 = 0 THEN 'n' END FROM generate_series(1, 100000) g;
INSERT INTO mirror.items SELECT * FROM public.items;
SELECT pgmigrate.register_migration('{"name": "rename_val", "version": "1",
  "forward": ["ALTER TABLE items RENAME COLUMN val TO value", "ALTER TABLE items ALTER COLUMN k TYPE bigint"]}') IS NOT NULL AS registered;
\! for f in fixed follow; do "$PGM_BINDIR/pgbench" -n -h 127.0.0.1 -p "$PGM_PORT" -U postgres -c 4 -j 2 -T 20 --max-tries=50 -f tests/pgbench/bluegreen_$f.sql pgm_bluegreen_load > "$PGM_RESULTS/bluegreen_load_$f.log" 2>&1 & done
DO $$ BEGIN
    WHILE (SELECT count(*) FROM pg_stat_activity WHERE datname = 'pgm_bluegreen_load' AND application_name = 'pgbench') < 8 LOOP
        PERFORM pg_sleep(0.05), pg_stat_clear_snapshot();
    END LOOP;
END $$;
CALL pgmigrate.blue_green_prepare('rename_val', $j${"tables": ["items"], "batch_size": 5000,
  "mapping": {"items": {"up": {"value": "val"}, "down": {"val": "value"}}}}$j$);
SELECT state FROM pgmigrate.blue_green_deployments;
SELECT pgmigrate.blue_green_validate()->'ok' AS valid_under_load;
SELECT pgmigrate.blue_green_switch()->'to' AS switched_to;
SELECT pg_sleep(1);
SELECT pgmigrate.blue_green_rollback()->'to' AS rolled_back_to;
SELECT pg_sleep(1);
SELECT pgmigrate.blue_green_switch()->'to' AS switched_to;
-- Wait for the writers to end.
DO $$ BEGIN
    WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = 'pgm_bluegreen_load' AND application_name = 'pgbench') LOOP
        PERFORM pg_sleep(0.1), pg_stat_clear_snapshot();
    END LOOP;
END $$;
\! cat "$PGM_RESULTS"/bluegreen_load_*.log | grep -q "aborted" && echo "a writer aborted" || echo "no writer aborted"
SELECT (SELECT count(*) FROM mirror.items WHERE note IS NULL) > 0 AS nulls_written,
       (SELECT count(*) FROM mirror.items WHERE id >= 1000000) > 0 AS keys_changed,
       (SELECT count(*) FROM mirror.items WHERE note = 'follow') > 0 AS followers_wrote,
       (SELECT count(*) FROM mirror.items) >= 90000 AS rows_kept;
-- The symmetric differences: empty.
SELECT count(*) AS mirror_vs_public FROM (
    (SELECT id, k, val, note FROM mirror.items EXCEPT SELECT id, k, val, note FROM public.items)
    UNION ALL
    (SELECT id, k, val, note FROM public.items EXCEPT SELECT id, k, val, note FROM mirror.items)) x;
SELECT count(*) AS mirror_vs_green FROM (
    (SELECT id, k, val, note FROM mirror.items EXCEPT SELECT id, k, value, note FROM migration_green.items)
    UNION ALL
    (SELECT id, k, value, note FROM migration_green.items EXCEPT SELECT id, k, val, note FROM mirror.items)) x;
SELECT pgmigrate.blue_green_validate()->'ok' AS valid_after;
SELECT pgmigrate.blue_green_finish()->'finished' AS finished;
\c pg_migrate_regress
SET client_min_messages = warning;
DROP DATABASE pgm_bluegreen_load WITH (FORCE);
