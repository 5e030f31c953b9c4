-- A step may not drop pg_migrate from under the migration that runs it.

CREATE OR REPLACE FUNCTION pgmigrate.refuse_drop_while_running() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    running text;
BEGIN
    SELECT string_agg(migration_name, ', ') INTO running FROM pgmigrate.knowledge_migrations WHERE status = 'RUNNING';
    IF running IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop an extension while migration % is running', running
            USING ERRCODE = 'object_in_use', HINT = 'Drop extensions outside migration steps.';
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate.refuse_drop_while_running() FROM PUBLIC;

DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'pgmigrate_refuse_drop_while_running') THEN
        CREATE EVENT TRIGGER pgmigrate_refuse_drop_while_running ON ddl_command_start
            WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION pgmigrate.refuse_drop_while_running();
    END IF;
END $do$;
