-- Deleting a migration that others (still) depend on would wedge every reader of the graph.

CREATE OR REPLACE FUNCTION pgmigrate.knowledge_migrations_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    offending text;
BEGIN
    SELECT string_agg(format('%s (needed by %s)', g.migration_name, k.migration_name), ', ' ORDER BY g.migration_name, k.migration_name)
      INTO offending
      FROM gone g JOIN pgmigrate.knowledge_migrations k ON g.migration_id = ANY (k.depends_on);
    IF offending IS NOT NULL THEN
        RAISE EXCEPTION 'cannot delete migrations others depend on: %', offending
            USING ERRCODE = 'dependent_objects_still_exist', HINT = 'Delete the dependent migrations first, or with them.';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER knowledge_migrations_deleted AFTER DELETE ON pgmigrate.knowledge_migrations
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.knowledge_migrations_deleted();
