-- The schema that serves `key`: the canary's new color when the key's bucket is at most
-- the percentage, else the baseline. Reads only (works on a hot standby); the canary row
-- is read once per snapshot (src/canary/pg.rs). Clients need SELECT on pgmigrate.canaries
-- (grant_canary_client).
CREATE OR REPLACE FUNCTION pgmigrate.canary_route(name text, key text) RETURNS text
STABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'canary_route';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_route(text, text) FROM PUBLIC;
