-- After the copy: the live table's indexes on the copy, and the constraints they back
-- (primary key, unique, exclusion). Returns the table's entry, updated.
CREATE OR REPLACE FUNCTION pgmigrate._bg_build_indexes(d pgmigrate.blue_green_deployments, tab jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src regclass := (tab->>'src')::regclass;
    ix record;
    def text;
    prefix text;
BEGIN
    FOR ix IN SELECT i.indexrelid, i.indisunique, c.relname, con.conname, con.contype, con.condeferrable, con.condeferred
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = src AND con.contype IN ('p', 'u', 'x')
               WHERE i.indrelid = src ORDER BY i.indisprimary DESC, c.relname LOOP
        IF ix.contype = 'x' THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', tab->>'tgt', ix.conname,
                           pg_get_constraintdef((SELECT oid FROM pg_constraint WHERE conindid = ix.indexrelid AND conrelid = src)));
            CONTINUE;
        END IF;
        def := pg_get_indexdef(ix.indexrelid);
        prefix := format('CREATE %sINDEX %I ON %s USING ', CASE WHEN ix.indisunique THEN 'UNIQUE ' ELSE '' END, ix.relname, src);
        IF left(def, length(prefix)) <> prefix THEN
            RAISE EXCEPTION 'cannot copy index % of %: unexpected definition %', ix.relname, src, def
                USING ERRCODE = 'feature_not_supported';
        END IF;
        EXECUTE format('CREATE %sINDEX %I ON %s USING %s', CASE WHEN ix.indisunique THEN 'UNIQUE ' ELSE '' END, ix.relname,
                       tab->>'tgt', substr(def, length(prefix) + 1));
        IF ix.contype IN ('p', 'u') THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I %s', tab->>'tgt', ix.conname,
                           CASE ix.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, ix.relname,
                           CASE WHEN ix.condeferrable THEN 'DEFERRABLE' || CASE WHEN ix.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END ELSE '' END);
        END IF;
    END LOOP;
    RETURN tab || jsonb_build_object('indexed', true);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_build_indexes(pgmigrate.blue_green_deployments, jsonb) FROM PUBLIC;

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
