-- Once the migration has run in the target: the sync functions of each table, compiled
-- from the mapping. They are SECURITY DEFINER functions owned by the deployment's
-- author (the role that prepared it and wrote the mapping), with a pinned search_path:
-- mapping expressions run with that role's privileges, never with pg_migrate's, and a
-- writer's search_path cannot redirect them. Their SET clause marks the session as
-- syncing while they run, and the sync triggers' WHEN clause skips a write made by a
-- sync function, so the two directions never fire each other.
--   _bg_<deployment>_<n>_up(op, old, new)  replays one logged write (live -> target)
--   _bg_<deployment>_<n>_up_tg()           trigger on the live table  (live -> target)
--   _bg_<deployment>_<n>_down_tg()         trigger on the target table (target -> live)
--   _bg_<deployment>_replay(rel, op, old, new)  dispatches a log row to its table's _up
CREATE OR REPLACE FUNCTION pgmigrate._bg_compile(d pgmigrate.blue_green_deployments) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab jsonb;
    i integer := 0;
    out jsonb := '[]';
    src regclass;
    tgt regclass;
    keycols text[];
    up text;
    down text;
    tag text;
    fname text;
    head text := E'\n#variable_conflict use_column\n';
    attrs text := 'SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET pgmigrate_bg.syncing = on';
    dispatch text := '';
BEGIN
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        i := i + 1;
        src := (tab->>'src')::regclass;
        tgt := to_regclass(tab->>'tgt');
        IF tgt IS NULL THEN
            RAISE EXCEPTION 'the migration dropped or renamed table % in %', tab->>'name', d.target_schema
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Every deployed table must exist in both colors; leave it out with the "tables" option.';
        END IF;
        keycols := ARRAY(SELECT jsonb_array_elements_text(tab->'key'));
        up := pgmigrate._bg_sync_body(src, tgt, keycols, d.options #> ARRAY['mapping', tab->>'name', 'up']);
        down := pgmigrate._bg_sync_body(tgt, src, keycols, d.options #> ARRAY['mapping', tab->>'name', 'down']);
        tag := '$bg' || substr(md5(up || down), 1, 12) || '$';
        fname := format('pgmigrate.%I', format('_bg_%s_%s_up', d.deployment_id, i));
        EXECUTE format('CREATE OR REPLACE FUNCTION %s(_bg_op text, _bg_o %s, _bg_n %s) RETURNS void LANGUAGE plpgsql %s AS %s%sBEGIN%sEND%s',
                       fname, src, src, attrs, tag, head, up, tag);
        EXECUTE format('ALTER FUNCTION %s(text, %s, %s) OWNER TO %s', fname, src, src, d.author);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s(text, %s, %s) FROM PUBLIC', fname, src, src);
        dispatch := dispatch || format(E'    IF rel = %s THEN PERFORM %s(op, o::%s, n::%s); RETURN 1; END IF;\n', src::oid, fname, src, src);
        tab := tab || jsonb_build_object('up_fn', format('%s(text, %s, %s)', fname, src, src));
        fname := format('pgmigrate.%I', format('_bg_%s_%s_up_tg', d.deployment_id, i));
        EXECUTE format('CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql %s AS %s%sDECLARE _bg_op text := TG_OP; _bg_o %s; _bg_n %s;
BEGIN
    IF _bg_op <> ''INSERT'' THEN _bg_o := OLD; END IF;
    IF _bg_op <> ''DELETE'' THEN _bg_n := NEW; END IF;%s    RETURN NULL;
END%s', fname, attrs, tag, head, src, src, up, tag);
        EXECUTE format('ALTER FUNCTION %s() OWNER TO %s', fname, d.author);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s() FROM PUBLIC', fname);
        tab := tab || jsonb_build_object('up_tg', fname);
        fname := format('pgmigrate.%I', format('_bg_%s_%s_down_tg', d.deployment_id, i));
        EXECUTE format('CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql %s AS %s%sDECLARE _bg_op text := TG_OP; _bg_o %s; _bg_n %s;
BEGIN
    IF _bg_op <> ''INSERT'' THEN _bg_o := OLD; END IF;
    IF _bg_op <> ''DELETE'' THEN _bg_n := NEW; END IF;%s    RETURN NULL;
END%s', fname, attrs, tag, head, tgt, tgt, down, tag);
        EXECUTE format('ALTER FUNCTION %s() OWNER TO %s', fname, d.author);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s() FROM PUBLIC', fname);
        tab := tab || jsonb_build_object('down_tg', fname);
        out := out || jsonb_build_array(tab);
    END LOOP;
    fname := format('pgmigrate.%I', format('_bg_%s_replay', d.deployment_id));
    EXECUTE format(E'CREATE OR REPLACE FUNCTION %s(rel oid, op text, o text, n text) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $bgd$\nBEGIN\n%s    RETURN 0;\nEND$bgd$',
                   fname, dispatch);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s(oid, text, text, text) FROM PUBLIC', fname);
    RETURN out;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_compile(pgmigrate.blue_green_deployments) FROM PUBLIC;
