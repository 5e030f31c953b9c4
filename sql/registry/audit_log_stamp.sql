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

CREATE OR REPLACE TRIGGER audit_log_stamp BEFORE INSERT ON pgmigrate.audit_log
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.audit_log_stamp();
