-- SELECT pgmigrate.use_active_schema(local boolean DEFAULT false): points the caller's
-- search_path at the live schema (replacing whichever color or source schema it names,
-- else putting it first); for the transaction only when local. Returns the new path.
-- (SECURITY INVOKER, no SET clause: it changes the caller's own setting.)
CREATE OR REPLACE FUNCTION pgmigrate.use_active_schema(local boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    live text := pgmigrate.active_schema();
    colors text[];
    parts text[];
    path text;
BEGIN
    colors := ARRAY['migration_blue', 'migration_green', live]
              || ARRAY(SELECT d.source_schema FROM pgmigrate.blue_green_deployments d
                        WHERE d.state NOT IN ('finished', 'aborted'));
    parts := ARRAY(SELECT pg_catalog.btrim(p) FROM pg_catalog.regexp_split_to_table(pg_catalog.current_setting('search_path'), ',') p
                    WHERE pg_catalog.btrim(p) <> '');
    SELECT pg_catalog.string_agg(x, ', ' ORDER BY o) INTO path
      FROM (SELECT pg_catalog.quote_ident(live) AS x, 0 AS o
            UNION ALL
            SELECT p, o FROM unnest(parts) WITH ORDINALITY u(p, o)
             WHERE NOT (CASE WHEN p LIKE '"%"' THEN pg_catalog.replace(pg_catalog.substr(p, 2, pg_catalog.length(p) - 2), '""', '"') ELSE p END
                        OPERATOR(pg_catalog.=) ANY (colors))) s;
    RETURN pg_catalog.set_config('search_path', path, local);
END $$;
