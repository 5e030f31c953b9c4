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
