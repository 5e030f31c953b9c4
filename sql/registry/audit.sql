CREATE OR REPLACE FUNCTION pgmigrate._audit(action text, details jsonb, caller regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgmigrate.audit_log (action, details, role_name) VALUES (action, coalesce(details, '{}'), caller::text);
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._audit(text, jsonb, regrole) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.audit(action text, details jsonb) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgmigrate.audit_log (action, details) VALUES (action, coalesce(details, '{}'));
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate.audit(text, jsonb) FROM PUBLIC;
