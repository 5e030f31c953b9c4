-- A migration stored before 0.4.0 (no recorded author), or one whose author is gone,
-- runs only once an admin takes it over: from then on it runs with the adopter's privileges.

CREATE OR REPLACE FUNCTION pgmigrate._adopt_migration(name text, caller regrole, caller_path text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
BEGIN
    m := pgmigrate._lock_migration(name);
    UPDATE pgmigrate.knowledge_migrations SET stored_by = caller, stored_search_path = caller_path
     WHERE migration_id = m.migration_id;
    PERFORM pgmigrate._audit('migration.adopted', jsonb_build_object('migration', name,
        'previous_author', m.stored_by::text, 'stored_by', caller::text), caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._adopt_migration(text, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.adopt_migration(name text) RETURNS void
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.adopt_migration(text) FROM PUBLIC;
