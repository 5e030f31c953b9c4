-- The singleton row exists from CREATE EXTENSION on. A restore from pg_dump inserts
-- it again: turn that insert into an update instead of a key violation.

CREATE OR REPLACE FUNCTION pgmigrate.active_schema_version_upsert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pgmigrate.active_schema_version WHERE id = NEW.id) THEN
        UPDATE pgmigrate.active_schema_version
           SET current_schema_name = NEW.current_schema_name,
               migration_in_progress = NEW.migration_in_progress,
               migration_id = NEW.migration_id,
               switched_at = NEW.switched_at
         WHERE id = NEW.id;
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER active_schema_version_upsert
    BEFORE INSERT ON pgmigrate.active_schema_version FOR EACH ROW
    EXECUTE FUNCTION pgmigrate.active_schema_version_upsert();
