-- However rows arrive (register_migration or a plain INSERT), the graph stays acyclic
-- and every dependency exists.

CREATE OR REPLACE FUNCTION pgmigrate.check_migration_graph() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM pgmigrate.migration_order(pgmigrate.migration_graph());
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER knowledge_migrations_graph AFTER INSERT OR UPDATE OF depends_on ON pgmigrate.knowledge_migrations
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.check_migration_graph();
