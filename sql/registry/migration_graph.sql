-- The dependency graph of every registered migration, by name.

CREATE OR REPLACE FUNCTION pgmigrate.migration_graph() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', m.migration_name, 'priority', m.priority,
               'depends_on', (SELECT coalesce(jsonb_agg(coalesce(d.migration_name, dep::text)), '[]')
                                FROM unnest(m.depends_on) AS dep
                                LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep))), '[]')
      FROM pgmigrate.knowledge_migrations m
$$;
