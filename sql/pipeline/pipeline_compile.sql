-- Parse a pipeline definition (serde, unknown fields refused naming their JSON path) and
-- compile it to SQL; and check run options. Native: src/pipeline.
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_compile(definition jsonb) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_pipeline_compile_wrapper';

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_options(options jsonb) RETURNS jsonb
IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_pipeline_options_wrapper';
