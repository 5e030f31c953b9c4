-- The INVALID indexes a CREATE INDEX CONCURRENTLY job left on its table (a worker that
-- failed records them itself; one that was terminated cannot).

CREATE OR REPLACE FUNCTION pgmigrate._leftover_indexes(j pgmigrate.migration_jobs) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY c.oid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE j.target_rel IS NOT NULL AND i.indrelid = j.target_rel AND NOT i.indisvalid
       AND i.indexrelid <> ALL (coalesce(j.indexes_before, '{}'))
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._leftover_indexes(pgmigrate.migration_jobs) FROM PUBLIC;
