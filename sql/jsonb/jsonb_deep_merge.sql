-- Objects merge recursively; on a key in both, b wins unless both values are objects.
-- Native (src/jsonb, src/merge.rs): untouched subtrees are copied as raw jsonb bytes.
CREATE OR REPLACE FUNCTION pgmigrate."jsonb_deep_merge"(
	"a" jsonb,
	"b" jsonb
) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'jsonb_deep_merge_wrapper';
