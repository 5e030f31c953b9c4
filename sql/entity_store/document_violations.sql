CREATE OR REPLACE FUNCTION pgmigrate.document_violations(entity_type text, content jsonb) RETURNS text[] STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'document_violations_wrapper';

-- The same against a given schema definition (pipelines validating against a named version).
CREATE OR REPLACE FUNCTION pgmigrate._document_violations_in(schema_definition jsonb, entity_type text, content jsonb) RETURNS text[]
IMMUTABLE STRICT LANGUAGE c AS 'MODULE_PATHNAME', 'document_violations_in_wrapper';
