-- Direct writes to the registry are the owner's alone (everyone else goes through the
-- functions). Even so: rows keep a true author, a well-formed definition, and a graph
-- that the next reader can still order.

CREATE OR REPLACE FUNCTION pgmigrate.knowledge_migrations_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pgmigrate.restoring_copy(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.stored_by := coalesce(NEW.stored_by, current_user::regrole);
        NEW.stored_search_path := coalesce(NEW.stored_search_path, current_setting('search_path'));
    ELSIF NEW.depends_on IS DISTINCT FROM OLD.depends_on THEN
        -- Edges only ever point from a new migration to existing ones, so the graph
        -- stays acyclic whatever sessions do at once.
        RAISE EXCEPTION 'the dependencies of migration "%" cannot change once it is registered', OLD.migration_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register a new migration with the dependencies you need.';
    END IF;
    IF NEW.definition IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.definition IS DISTINCT FROM OLD.definition) THEN
        NEW.definition := jsonb_build_object(
            'forward', pgmigrate.normalize_steps(NEW.definition->'forward', 'definition.forward'),
            'rollback', pgmigrate.normalize_steps(NEW.definition->'rollback', 'definition.rollback'),
            'validation', pgmigrate.normalize_steps(NEW.definition->'validation', 'definition.validation'));
        IF jsonb_array_length(NEW.definition->'forward') = 0 THEN
            RAISE EXCEPTION 'migration "%": definition.forward has no steps', NEW.migration_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER knowledge_migrations_guard BEFORE INSERT OR UPDATE ON pgmigrate.knowledge_migrations
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.knowledge_migrations_guard();
