-- CALL pgmigrate.blue_green_prepare(migration, options): prepares the other color, in
-- pg_repack's order, committing after every step so a cancelled or crashed prepare
-- continues where it stopped when called again. Options: tables, mapping, batch_size
-- (10000), pause_ms between batches (0), max_batches (stop after that many batches; call
-- again to continue), source_schema, reset, lock_timeout_ms (200), lock_attempts (10).
-- (No SET clause: PostgreSQL forbids COMMIT in procedures that have one; it pins
-- search_path for its own statements and restores the caller's.)
CREATE OR REPLACE PROCEDURE pgmigrate.blue_green_prepare(migration text, options jsonb DEFAULT '{}')
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    r jsonb;
    batches integer := 0;
    pause_ms integer;
    max_batches integer;
    last_notice timestamptz := pg_catalog.clock_timestamp() - interval '1 hour';
BEGIN
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        r := pgmigrate.blue_green_prepare_step(migration, options);
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF r ? 'error' THEN
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            RAISE EXCEPTION '%', r->>'error' USING ERRCODE = r->>'sqlstate',
                HINT = 'The live schema is untouched. Fix the migration and CALL blue_green_prepare again to resume, or SELECT pgmigrate.blue_green_abort().';
        END IF;
        IF r ? 'notice' AND (NOT (r ? 'batch') OR pg_catalog.clock_timestamp() - last_notice > interval '1 second') THEN
            RAISE NOTICE '%', r->>'notice';
            last_notice := pg_catalog.clock_timestamp();
        END IF;
        EXIT WHEN (r->>'done')::boolean;
        IF r ? 'batch' THEN
            batches := batches + 1;
            pause_ms := (options->>'pause_ms')::int;
            max_batches := (options->>'max_batches')::int;
            IF max_batches IS NOT NULL AND batches >= max_batches THEN
                RAISE NOTICE 'blue_green_prepare %: stopped after % batches (max_batches); CALL it again to continue', migration, batches;
                EXIT;
            END IF;
            IF pause_ms > 0 THEN
                PERFORM pg_catalog.pg_sleep(pause_ms / 1000.0);
            END IF;
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END $$;

REVOKE EXECUTE ON PROCEDURE pgmigrate.blue_green_prepare(text, jsonb) FROM PUBLIC;
