-- Validates the NOT VALID foreign keys of the copies (once both colors are in sync).
CREATE OR REPLACE FUNCTION pgmigrate._bg_validate_fks(d pgmigrate.blue_green_deployments) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fk record;
BEGIN
    FOR fk IN SELECT con.conrelid::regclass AS rel, con.conname
                FROM jsonb_array_elements(d.tables) t JOIN pg_constraint con ON con.conrelid = to_regclass(t.value->>'tgt')
               WHERE con.contype = 'f' AND NOT con.convalidated LOOP
        EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', fk.rel, fk.conname);
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_validate_fks(pgmigrate.blue_green_deployments) FROM PUBLIC;
