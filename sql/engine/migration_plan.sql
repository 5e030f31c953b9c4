-- PENDING migrations in execution order.

CREATE OR REPLACE FUNCTION pgmigrate.migration_plan()
RETURNS TABLE (step integer, migration_name text, priority integer, depends_on text[], status text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (row_number() OVER (ORDER BY o.ord))::int, m.migration_name, m.priority,
           ARRAY(SELECT d.migration_name FROM unnest(m.depends_on) dep JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep ORDER BY 1),
           m.status
      FROM unnest(pgmigrate.migration_order(pgmigrate.migration_graph())) WITH ORDINALITY AS o(name, ord)
      JOIN pgmigrate.knowledge_migrations m ON m.migration_name = o.name
     WHERE m.status = 'PENDING'
     ORDER BY o.ord
$$;
