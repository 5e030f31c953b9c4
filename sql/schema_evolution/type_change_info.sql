-- The detail behind a type change: backward, forward, rewrite. (src/types.rs)
CREATE OR REPLACE FUNCTION pgmigrate."type_change_info"(
	"old_type" TEXT,
	"new_type" TEXT
) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'type_change_info_wrapper';
