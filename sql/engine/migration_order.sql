-- Native helpers added in 0.3.0.

CREATE OR REPLACE FUNCTION pgmigrate.migration_order(graph jsonb) RETURNS text[] IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'migration_order_wrapper';
