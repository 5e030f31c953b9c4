-- A prepare interrupted by a server restart in the middle of its copy continues where it
-- stopped when called again, and the colors end up equal.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pgm_bluegreen_restart WITH (FORCE);
CREATE DATABASE pgm_bluegreen_restart;
\c pgm_bluegreen_restart
SET client_min_messages = warning;
CREATE EXTENSION pg_migrate;
CREATE TABLE public.events (id bigint PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL DEFAULT '2026-01-01');
INSERT INTO public.events (id, kind) SELECT g, 'k' || g % 7 FROM generate_series(1, 50000) g;
SELECT pgmigrate.register_migration('{"name": "events_v2", "version": "2", "forward": ["CREATE INDEX events_kind_idx ON events (kind)"]}') IS NOT NULL AS registered;
\! PGAPPNAME=bg_restart "$PGM_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PGM_PORT" -U postgres -d pgm_bluegreen_restart -c "CALL pgmigrate.blue_green_prepare('events_v2', '{\"batch_size\": 1000, \"pause_ms\": 20}')" > /dev/null 2>&1 &
DO $$ DECLARE give_up timestamptz := clock_timestamp() + interval '60 s'; BEGIN
    WHILE coalesce((SELECT rows_copied FROM pgmigrate.blue_green_deployments), 0) < 5000 AND clock_timestamp() < give_up LOOP
        PERFORM pg_sleep(0.02);
    END LOOP;
END $$;
\! scripts/cluster.sh restart > /dev/null 2>&1
\c pgm_bluegreen_restart
SET client_min_messages = warning;
SELECT state, rows_copied >= 5000 AND rows_copied < 50000 AS stopped_mid_copy FROM pgmigrate.blue_green_deployments;
CALL pgmigrate.blue_green_prepare('events_v2');
SELECT state, rows_copied FROM pgmigrate.blue_green_deployments;
SELECT v->'ok' AS ok, v->'tables'->0->'target_rows' AS target_rows FROM pgmigrate.blue_green_validate() v;
SELECT pgmigrate.blue_green_abort()->'aborted' AS aborted;
\c pg_migrate_regress
SET client_min_messages = warning;
DROP DATABASE pgm_bluegreen_restart WITH (FORCE);
