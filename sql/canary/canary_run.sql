-- Tick a canary until it reaches a final state (or pauses for review), committing between
-- ticks so reporters see each new percentage and nothing is held while it waits.
-- (No SET clause: PostgreSQL forbids COMMIT in procedures that have one.) The alternative
-- is scheduling SELECT pgmigrate.canary_step('<name>') with pg_cron (docs/canary.md).
CREATE OR REPLACE PROCEDURE pgmigrate.canary_run(name text)
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    r jsonb;
BEGIN
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        r := pgmigrate.canary_step(name);
        RAISE NOTICE 'canary %: % at %%% (%)', name, r->>'action', r->>'percentage', coalesce(r->>'reason', '');
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        COMMIT;
        EXIT WHEN r->>'state' IN ('PROMOTED', 'ROLLED_BACK', 'TIMED_OUT', 'PAUSED');
        PERFORM pg_catalog.pg_sleep(coalesce((r->>'next_tick_in')::double precision, 1));
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END $$;

REVOKE EXECUTE ON PROCEDURE pgmigrate.canary_run(text) FROM PUBLIC;
