-- Entity store: deprecated-field usage, validation when a row becomes current, restore.

-- Is the running statement a restore (COPY FROM by a role with the owner's privileges)
-- into rel? Triggers use it to keep restored rows verbatim. It only reads.

CREATE OR REPLACE FUNCTION pgmigrate.restoring_copy(rel regclass) RETURNS boolean STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'restoring_copy_wrapper';
