-- Every change between two entity schemas, with its kind and severity. (src/breaking.rs)
CREATE OR REPLACE FUNCTION pgmigrate."detect_breaking_changes"(
	"old_schema" jsonb,
	"new_schema" jsonb
) RETURNS jsonb
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'detect_breaking_changes_wrapper';
