-- One table of a deployment, step 1 (pg_repack's order): the change-capture trigger on
-- the live table, installed under a short, retried lock and committed before the copy
-- reads a row; the empty copy in the target color (same owner and grants, defaults,
-- checks, identity; indexes come after the copy). Identity and serial columns of the two
-- colors draw interleaved values (same increment doubled, opposite phase), so values
-- generated in either color never collide. Returns the table's entry, updated.
CREATE OR REPLACE FUNCTION pgmigrate._bg_create_target(d pgmigrate.blue_green_deployments, tab jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src regclass := (tab->>'src')::regclass;
    tgt text := tab->>'tgt';
    owner text;
    c record;
    seq regclass;
    inc bigint;
    last bigint;
    seqs jsonb := '[]';
    newseq text;
    lk jsonb;
BEGIN
    lk := pgmigrate._bg_lock(ARRAY[src], 'SHARE ROW EXCLUSIVE', pgmigrate._bg_int_option(d.options, 'lock_timeout_ms', 200, 1, 600000),
                             pgmigrate._bg_int_option(d.options, 'lock_attempts', 10, 1, 1000));
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION pgmigrate._bg_capture(%L)',
                   'pgmigrate_bg_capture_' || d.deployment_id, src, d.deployment_id);
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED
                    INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION INCLUDING STATISTICS)', tgt, src);
    SELECT r.rolname INTO owner FROM pg_class cl JOIN pg_roles r ON r.oid = cl.relowner WHERE cl.oid = src;
    EXECUTE format('ALTER TABLE %s OWNER TO %I', tgt, owner);
    EXECUTE coalesce((SELECT string_agg(format('GRANT %s ON TABLE %s TO %s', a.privilege_type, tgt,
                                               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END), '; ')
                        FROM pg_class cl, aclexplode(cl.relacl) a WHERE cl.oid = src AND a.grantee <> cl.relowner), 'SELECT');
    FOR c IN SELECT a.attname, a.attidentity, format_type(a.atttypid, NULL) AS typ
               FROM pg_attribute a WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum LOOP
        seq := pg_get_serial_sequence(src::text, c.attname)::regclass;
        CONTINUE WHEN seq IS NULL;
        SELECT s.seqincrement INTO inc FROM pg_sequence s WHERE s.seqrelid = seq;
        IF inc <= 0 THEN
            RAISE EXCEPTION 'column "%" of % draws from descending sequence %', c.attname, src, seq
                USING ERRCODE = 'feature_not_supported';
        END IF;
        EXECUTE format('ALTER SEQUENCE %s INCREMENT BY %s', seq, inc * 2);
        EXECUTE format('SELECT last_value FROM %s', seq) INTO last;
        IF c.attidentity <> '' THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET INCREMENT BY %s RESTART WITH %s', tgt, c.attname, inc * 2, last + inc);
            newseq := pg_get_serial_sequence(tgt, c.attname);
        ELSE
            newseq := format('%I.%I', d.target_schema, (SELECT relname FROM pg_class WHERE oid = seq));
            EXECUTE format('CREATE SEQUENCE %s AS %s INCREMENT BY %s START WITH %s OWNED BY %s.%I',
                           newseq, (SELECT format_type(s.seqtypid, NULL) FROM pg_sequence s WHERE s.seqrelid = seq),
                           inc * 2, last + inc, tgt, c.attname);
            EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', newseq, owner);
            EXECUTE coalesce((SELECT string_agg(format('GRANT %s ON SEQUENCE %s TO %s', a.privilege_type, newseq,
                                                       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END), '; ')
                                FROM pg_class cl, aclexplode(cl.relacl) a WHERE cl.oid = seq AND a.grantee <> cl.relowner), 'SELECT');
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT nextval(%L::regclass)', tgt, c.attname, newseq);
        END IF;
        seqs := seqs || jsonb_build_array(jsonb_build_object('col', c.attname, 'src_seq', seq::text, 'tgt_seq', newseq,
                                                             'inc', inc, 'identity', c.attidentity <> ''));
    END LOOP;
    RETURN tab || jsonb_build_object('created', true, 'seqs', seqs, 'capture_lock', lk);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_create_target(pgmigrate.blue_green_deployments, jsonb) FROM PUBLIC;
