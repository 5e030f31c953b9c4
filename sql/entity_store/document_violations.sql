CREATE OR REPLACE FUNCTION pgmigrate.document_violations(entity_type text, content jsonb) RETURNS text[] STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'document_violations_wrapper';
