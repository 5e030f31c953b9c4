-- SELECT pgmigrate.blue_green_validate(): the migration's validation rules, run in the
-- target color as the migration's author; per table, row counts and a checksum of the
-- mapped columns of both colors, read in one snapshot (the mapping's expressions run as
-- the deployment's author). Records the result; the switch refuses a failing one.
CREATE OR REPLACE FUNCTION pgmigrate._blue_green_validate(caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    m pgmigrate.knowledge_migrations;
    tab jsonb;
    srcx text;
    tgtx text;
    r jsonb;
    tabs jsonb := '[]';
    rules jsonb;
    ok boolean := true;
    res jsonb;
BEGIN
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND OR d.state NOT IN ('ready', 'switched', 'rolled_back') THEN
        RAISE EXCEPTION 'no prepared blue-green deployment to validate' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'CALL pgmigrate.blue_green_prepare(migration) until it reports ready.';
    END IF;
    SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_id = d.migration_id;
    BEGIN
        PERFORM pgmigrate._bg_run_steps(m, 'validation', d.target_schema);
        rules := jsonb_build_object('ok', true);
    EXCEPTION WHEN query_canceled THEN
        RAISE;
    WHEN others THEN
        rules := jsonb_build_object('ok', false, 'error', SQLERRM);
        ok := false;
    END;
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        SELECT string_agg(c.expr, ', ' ORDER BY c.attnum), string_agg(format('t.%I', c.col), ', ' ORDER BY c.attnum) INTO srcx, tgtx
          FROM pgmigrate._bg_column_map((tab->>'src')::regclass, (tab->>'tgt')::regclass, d.options #> ARRAY['mapping', tab->>'name', 'up']) c;
        r := pgmigrate._query_as(d.author, 'pg_catalog, pg_temp', format(
            'SELECT jsonb_build_object(''source_rows'', a.n, ''target_rows'', b.n, ''checksums_equal'', a.h = b.h)::text
               FROM (SELECT count(*) AS n, coalesce(sum((''x'' || left(md5(ROW(%s)::text), 15))::bit(60)::bigint), 0) AS h FROM %s AS s) a,
                    (SELECT count(*) AS n, coalesce(sum((''x'' || left(md5(ROW(%s)::text), 15))::bit(60)::bigint), 0) AS h FROM %s AS t) b',
            srcx, tab->>'src', tgtx, tab->>'tgt'))::jsonb;
        r := jsonb_build_object('table', tab->>'name') || r
             || jsonb_build_object('ok', (r->>'source_rows') = (r->>'target_rows') AND (r->>'checksums_equal')::boolean);
        ok := ok AND (r->>'ok')::boolean;
        tabs := tabs || jsonb_build_array(r);
    END LOOP;
    res := jsonb_build_object('deployment', d.deployment_id, 'ok', ok, 'rules', rules, 'tables', tabs);
    UPDATE pgmigrate.blue_green_deployments SET validation = res || jsonb_build_object('at', now()) WHERE deployment_id = d.deployment_id;
    PERFORM pgmigrate._audit('blue_green.validated', res, caller);
    RETURN res;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._blue_green_validate(regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.blue_green_validate() RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_validate() FROM PUBLIC;
