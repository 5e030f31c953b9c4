-- The migration row, locked against concurrent runners (55P03 for the second).

CREATE OR REPLACE FUNCTION pgmigrate._lock_migration(name text) RETURNS pgmigrate.knowledge_migrations
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
BEGIN
    BEGIN
        -- (NO KEY UPDATE: a registration naming it in dependsOn, or a foreign key, holds KEY
        -- SHARE on the row; runners still exclude each other.)
        SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_name = name FOR NO KEY UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'migration "%" is being run or rolled back by another session', name
            USING ERRCODE = 'lock_not_available', HINT = 'Wait for the other session to finish, then try again.';
    END;
    IF m.migration_id IS NULL THEN
        RAISE EXCEPTION 'migration "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN m;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._lock_migration(text) FROM PUBLIC;
