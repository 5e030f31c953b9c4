-- PLACEHOLDER until helper C's native restoring_copy lands: remove at merge.
CREATE FUNCTION pgmigrate.restoring_copy(rel regclass) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT false';
