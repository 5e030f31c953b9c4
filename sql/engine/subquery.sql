-- A query or condition the engine wraps as a subquery: without trailing semicolons and
-- ending on a new line, so a trailing "-- comment" cannot swallow the closing parenthesis.

CREATE OR REPLACE FUNCTION pgmigrate._subquery(sql text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '(' || regexp_replace(sql, '[\s;]+$', '') || E'\n)'
$$;
