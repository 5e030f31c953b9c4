-- Foreign keys of the deployed tables, on the copies: among deployed tables they point at
-- the copies, otherwise at the same table as before. Added NOT VALID (the copy is read
-- table by table, so a child may be copied before its parent's row arrives by the log)
-- and validated once the colors are in sync (_bg_validate_fks).
CREATE OR REPLACE FUNCTION pgmigrate._bg_build_fks(d pgmigrate.blue_green_deployments) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fk record;
    reftgt text;
BEGIN
    FOR fk IN SELECT con.*, t.value AS tab
                FROM jsonb_array_elements(d.tables) t JOIN pg_constraint con ON con.conrelid = (t.value->>'src')::regclass
               WHERE con.contype = 'f' ORDER BY con.conname LOOP
        SELECT e->>'tgt' INTO reftgt FROM jsonb_array_elements(d.tables) e WHERE (e->>'src')::regclass = fk.confrelid;
        IF reftgt IS NULL THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', fk.tab->>'tgt', fk.conname, pg_get_constraintdef(fk.oid));
        ELSE
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s) MATCH %s ON UPDATE %s ON DELETE %s %s NOT VALID',
                fk.tab->>'tgt', fk.conname,
                (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY k.ord) FROM unnest(fk.conkey) WITH ORDINALITY k(n, ord)
                   JOIN pg_attribute a ON a.attrelid = fk.conrelid AND a.attnum = k.n),
                reftgt,
                (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY k.ord) FROM unnest(fk.confkey) WITH ORDINALITY k(n, ord)
                   JOIN pg_attribute a ON a.attrelid = fk.confrelid AND a.attnum = k.n),
                CASE fk.confmatchtype WHEN 'f' THEN 'FULL' ELSE 'SIMPLE' END,
                CASE fk.confupdtype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END,
                CASE fk.confdeltype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END,
                CASE WHEN fk.condeferrable THEN 'DEFERRABLE' || CASE WHEN fk.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
        END IF;
    END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_build_fks(pgmigrate.blue_green_deployments) FROM PUBLIC;
