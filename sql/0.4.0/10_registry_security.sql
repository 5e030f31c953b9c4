-- Registry security. Only pg_migrate's own functions change a migration's status, logs,
-- execution state, schema activation and published fields; each change is audited under
-- the role that asked. State-changing entry points are C trampolines
-- (src/engine/owner_call.rs): they note the calling role, become the extension's owner
-- and call the internal function pgmigrate._<name>(<arguments>, caller, caller_search_path),
-- which nobody else may execute. Stored SQL runs as the role that stored it.

-- Who stored each migration, recorded by the database (never a column the caller fills
-- in), and the search_path its SQL was written against. Rows from before 0.4.0 have no
-- recorded author: they do not run until an admin adopts them (pgmigrate.adopt_migration).
ALTER TABLE pgmigrate.knowledge_migrations
    ADD COLUMN stored_by regrole,
    ADD COLUMN stored_search_path text,
    ADD CONSTRAINT depends_on_has_no_nulls CHECK (array_position(depends_on, NULL) IS NULL);

-- 0.3.0's grant helpers handed out write access to the registry and EXECUTE on its
-- internals. Take back everything but SELECT from every role but the owner.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, a.privilege_type,
               CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = 'pgmigrate'::regnamespace
           AND c.relname IN ('knowledge_migrations', 'migration_execution_state', 'schema_versions', 'audit_log',
                             'active_schema_version')
           AND a.grantee <> c.relowner AND a.privilege_type <> 'SELECT'
    LOOP
        EXECUTE format('REVOKE %s ON %s FROM %s', r.privilege_type, r.rel, r.who);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn,
               CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who
          FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.pronamespace = 'pgmigrate'::regnamespace AND a.grantee <> p.proowner
           AND p.proname IN ('audit', 'publish_next_version', 'lock_active_version', 'set_step_timeout')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM %s', r.fn, r.who);
    END LOOP;
END $$;

-- Audit rows carry the role that asked: the stamp keeps a role_name the extension's own
-- (owner-privileged) code supplies, and stamps everyone else's rows with current_user.
-- A restore (COPY by the owner) keeps rows exactly as they were dumped.
CREATE OR REPLACE FUNCTION pgmigrate.audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pgmigrate.restoring_copy(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF NEW.role_name IS NULL OR NOT pg_has_role(current_user,
            (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        NEW.role_name := current_user;
    END IF;
    NEW.logged_at := clock_timestamp();
    RETURN NEW;
END $$;

CREATE FUNCTION pgmigrate._audit(action text, details jsonb, caller regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgmigrate.audit_log (action, details, role_name) VALUES (action, coalesce(details, '{}'), caller::text);
$$;

-- Direct writes to the registry are the owner's alone (everyone else goes through the
-- functions). Even so: rows keep a true author, a well-formed definition, and a graph
-- that the next reader can still order.
CREATE FUNCTION pgmigrate.knowledge_migrations_guard() RETURNS trigger
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
CREATE TRIGGER knowledge_migrations_guard BEFORE INSERT OR UPDATE ON pgmigrate.knowledge_migrations
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.knowledge_migrations_guard();

-- Deleting a migration that others (still) depend on would wedge every reader of the graph.
CREATE FUNCTION pgmigrate.knowledge_migrations_deleted() RETURNS trigger
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
CREATE TRIGGER knowledge_migrations_deleted AFTER DELETE ON pgmigrate.knowledge_migrations
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.knowledge_migrations_deleted();

-- A step may not drop pg_migrate from under the migration that runs it.
CREATE FUNCTION pgmigrate.refuse_drop_while_running() RETURNS event_trigger
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
CREATE EVENT TRIGGER pgmigrate_refuse_drop_while_running ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION pgmigrate.refuse_drop_while_running();

-- Native pieces (src/engine/): run stored SQL as its author, the step timer.
CREATE FUNCTION pgmigrate._exec_as(author oid, search_path text, sql text) RETURNS bigint VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', '_exec_as_wrapper';
CREATE FUNCTION pgmigrate._query_as(author oid, search_path text, sql text) RETURNS text VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', '_query_as_wrapper';
CREATE FUNCTION pgmigrate.step_timeout_fired() RETURNS boolean VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', 'step_timeout_fired_wrapper';
REVOKE EXECUTE ON FUNCTION pgmigrate._exec_as(oid, text, text), pgmigrate._query_as(oid, text, text),
    pgmigrate.step_timeout_fired() FROM PUBLIC;

-- A query or condition the engine wraps as a subquery: without trailing semicolons and
-- ending on a new line, so a trailing "-- comment" cannot swallow the closing parenthesis.
CREATE FUNCTION pgmigrate._subquery(sql text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '(' || regexp_replace(sql, '[\s;]+$', '') || E'\n)'
$$;
