CREATE OR REPLACE FUNCTION pgmigrate.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'pgmigrate.audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON pgmigrate.audit_log
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.audit_log_append_only();

CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmigrate.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.audit_log_append_only();
