-- Can every value of old_type be held by new_type without loss? (src/types.rs)
CREATE OR REPLACE FUNCTION pgmigrate."is_type_compatible"(
	"old_type" TEXT,
	"new_type" TEXT
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'is_type_compatible_wrapper';
