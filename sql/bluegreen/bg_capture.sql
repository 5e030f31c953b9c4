-- The change-capture trigger on a live table while a deployment is prepared: every write
-- goes into the deployment's log (TG_ARGV[0] = deployment id), old and new row as text.
-- Owner-run so writers need no access to the log; revoked from PUBLIC, so nobody else can
-- attach it to a table.
CREATE OR REPLACE FUNCTION pgmigrate._bg_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO pgmigrate.blue_green_log (deployment_id, rel, op, old_row, new_row)
    VALUES (TG_ARGV[0]::bigint, TG_RELID, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD::text END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW::text END);
    RETURN NULL;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_capture() FROM PUBLIC;
