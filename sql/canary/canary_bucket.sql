-- Unleash's normalized hash: MurmurHash3 x86 32-bit, seed 0, over the UTF-8 bytes of
-- salt || ':' || key, then % 100 + 1 (src/canary/hash.rs). Stable across PostgreSQL
-- versions, unlike hashtext().
CREATE OR REPLACE FUNCTION pgmigrate.canary_bucket(salt text, key text) RETURNS integer
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'canary_bucket';
