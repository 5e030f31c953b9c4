-- TRUNCATE of a deployed table (either color) while a deployment is in progress would
-- empty one color only: refused (55000). TG_ARGV[0] = deployment id.
CREATE OR REPLACE FUNCTION pgmigrate._bg_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'cannot truncate % during blue-green deployment %', format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), TG_ARGV[0]
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'DELETE the rows instead (they are synced to the other color), or finish or abort the deployment first.';
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_refuse_truncate() FROM PUBLIC;
