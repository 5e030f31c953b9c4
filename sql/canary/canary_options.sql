-- canary_start's options checked and completed with defaults (src/canary/options.rs):
-- an unknown or mistyped option is 22023 naming it.
CREATE OR REPLACE FUNCTION pgmigrate._canary_options(options jsonb) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', '_canary_options_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_options(jsonb) FROM PUBLIC;
