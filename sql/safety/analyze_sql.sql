CREATE OR REPLACE FUNCTION pgmigrate.analyze_sql(script text) RETURNS jsonb STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'analyze_sql_wrapper';
