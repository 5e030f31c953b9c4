-- Status moves through a state machine; RUNNING only ever exists inside the running
-- transaction, so a crash or cancel leaves the previous status.

CREATE OR REPLACE FUNCTION pgmigrate.migration_status_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF OLD.status = NEW.status
       OR (NEW.status = 'RUNNING' AND OLD.status IN ('PENDING', 'FAILED', 'ROLLED_BACK', 'COMPLETED'))
       OR (OLD.status = 'RUNNING' AND NEW.status IN ('COMPLETED', 'FAILED', 'ROLLED_BACK')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'migration "%" cannot go from % to %', OLD.migration_name, OLD.status, NEW.status
        USING ERRCODE = 'check_violation', HINT = 'Use pgmigrate.execute_migration and pgmigrate.rollback_migration.';
END $$;

CREATE OR REPLACE TRIGGER knowledge_migrations_status BEFORE UPDATE OF status ON pgmigrate.knowledge_migrations
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.migration_status_guard();
