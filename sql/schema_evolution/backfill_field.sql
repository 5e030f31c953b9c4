-- Writes a field's default into current documents that lack it, committing every batch:
-- resumable after an interruption, and it terminates under concurrent inserts (keyset
-- over row_id; new rows get the default from the trigger).
-- (No SET clause: PostgreSQL forbids COMMIT in procedures that have one.)

CREATE OR REPLACE PROCEDURE pgmigrate.backfill_field(entity_type text, field_name text, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    last_row bigint := 0;
    batch bigint[];
    total bigint := 0;
BEGIN
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        batch := pgmigrate.backfill_field_batch(entity_type, field_name, last_row, batch_size, total);
        EXIT WHEN batch[1] = 0;
        total := total + batch[1];
        last_row := batch[2];
        RAISE NOTICE 'backfill_field %.%: % documents filled so far', entity_type, field_name, total;
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        COMMIT;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    RAISE NOTICE 'backfill_field %.%: done, % documents filled', entity_type, field_name, total;
END $$;

REVOKE EXECUTE ON PROCEDURE pgmigrate.backfill_field(text, text, integer) FROM PUBLIC;
