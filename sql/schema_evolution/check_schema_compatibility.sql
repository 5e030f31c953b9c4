-- Native functions added in 0.2.0.

CREATE OR REPLACE FUNCTION pgmigrate.check_schema_compatibility(
    old_schema jsonb, new_schema jsonb, mode text DEFAULT 'BACKWARD', history jsonb DEFAULT '[]'
) RETURNS jsonb IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'check_schema_compatibility_wrapper';
