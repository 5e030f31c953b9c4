-- Removes a deployment's machinery: capture and sync triggers (dropping a trigger takes
-- an ACCESS EXCLUSIVE lock: short lock_timeout, retried), the compiled functions, the
-- log rows; drops the tables of color `drop_color` (NULL: none); puts the sequences of
-- the color that stays back to their own increment.
CREATE OR REPLACE FUNCTION pgmigrate._bg_teardown(d pgmigrate.blue_green_deployments, drop_color text, options jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tab jsonb;
    s jsonb;
    rels regclass[];
    lk jsonb;
    f record;
    side text;
BEGIN
    rels := ARRAY(SELECT r FROM (SELECT to_regclass(t->>'src') AS r FROM jsonb_array_elements(d.tables) t
                                 UNION ALL SELECT to_regclass(t->>'tgt') FROM jsonb_array_elements(d.tables) t) x WHERE r IS NOT NULL);
    lk := pgmigrate._bg_lock(rels, 'ACCESS EXCLUSIVE', pgmigrate._bg_int_option(options, 'lock_timeout_ms', 200, 1, 600000),
                             pgmigrate._bg_int_option(options, 'lock_attempts', 10, 1, 1000));
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        IF to_regclass(tab->>'src') IS NOT NULL THEN
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'pgmigrate_bg_capture_' || d.deployment_id, tab->>'src');
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'pgmigrate_bg_sync_' || d.deployment_id, tab->>'src');
        END IF;
        IF to_regclass(tab->>'tgt') IS NOT NULL THEN
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'pgmigrate_bg_sync_' || d.deployment_id, tab->>'tgt');
        END IF;
        FOR s IN SELECT x FROM jsonb_array_elements(coalesce(tab->'seqs', '[]')) x LOOP
            -- The color that stays takes back its own increment, past every value either color drew.
            FOREACH side IN ARRAY ARRAY['src_seq', 'tgt_seq'] LOOP
                CONTINUE WHEN to_regclass(s->>side) IS NULL
                           OR drop_color IS NOT DISTINCT FROM CASE side WHEN 'src_seq' THEN d.source_schema ELSE d.target_schema END;
                EXECUTE format('ALTER SEQUENCE %s INCREMENT BY %s', s->>side, s->>'inc');
                IF to_regclass(s->>'src_seq') IS NOT NULL AND to_regclass(s->>'tgt_seq') IS NOT NULL THEN
                    EXECUTE format('SELECT pg_catalog.setval(%L::regclass, greatest((SELECT last_value FROM %s), (SELECT last_value FROM %s)))',
                                   s->>side, s->>'src_seq', s->>'tgt_seq');
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
    FOR f IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
              WHERE p.pronamespace = 'pgmigrate'::regnamespace AND p.proname LIKE '\_bg\_' || d.deployment_id || '\_%' LOOP
        EXECUTE format('DROP FUNCTION %s', f.fn);
    END LOOP;
    IF drop_color IS NOT NULL THEN
        -- One statement, so foreign keys among them do not matter; CASCADE only for the
        -- color pg_migrate made (anything else depending on the old live tables stops the drop).
        EXECUTE (SELECT 'DROP TABLE ' || string_agg(r::text, ', ') || CASE WHEN drop_color = d.target_schema THEN ' CASCADE' ELSE '' END
                   FROM (SELECT to_regclass(t->>CASE WHEN drop_color = d.source_schema THEN 'src' ELSE 'tgt' END) AS r
                           FROM jsonb_array_elements(d.tables) t) x WHERE r IS NOT NULL HAVING count(*) > 0);
    END IF;
    DELETE FROM pgmigrate.blue_green_log WHERE deployment_id = d.deployment_id;
    RETURN lk;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_teardown(pgmigrate.blue_green_deployments, text, jsonb) FROM PUBLIC;
