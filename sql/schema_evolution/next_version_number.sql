-- Next version number: MAJOR.MINOR.PATCH bumps MINOR (and resets PATCH); anything else
-- gets the sketch's "_patch" suffix, then "_patch2", "_patch3", ... until unused.

CREATE OR REPLACE FUNCTION pgmigrate.next_version_number(current text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    parts text[] := regexp_match(current, '^(\d+)\.(\d+)\.(\d+)$');
    candidate text;
    n int := 1;
BEGIN
    LOOP
        IF parts IS NOT NULL THEN
            candidate := parts[1] || '.' || (parts[2]::numeric + n) || '.0';
        ELSE
            candidate := current || '_patch' || CASE WHEN n = 1 THEN '' ELSE n::text END;
        END IF;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pgmigrate.schema_versions WHERE version_number = candidate);
        n := n + 1;
    END LOOP;
    RETURN candidate;
END $$;
