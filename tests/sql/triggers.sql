-- The entity-store trigger: defaults, validation, deprecation, and its schema cache.
SET search_path = pgmigrate, public;

-- No active version: writes pass untouched.
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"anything": [1, 2]}') RETURNING content;

SELECT register_schema_version('1.0.0', '{"entities": {
  "Product": {"additional_fields": false, "fields": {
      "sku": {"type": "string", "nullable": false},
      "price": {"type": "numeric(10,2)", "nullable": false},
      "tags": {"type": "array"}, "active": {"type": "boolean", "default": true},
      "dims": {"type": "object", "default": {"w": 1, "h": 1}},
      "legacy_code": {"type": "string", "deprecated": true, "deprecation_message": "use sku"}}},
  "Note": {"fields": {"text": {"type": "string"}}}}}', activate => true) IS NOT NULL AS registered;

-- Defaults fill what writers that predate a field leave out; present values are kept.
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "A-1", "price": 9.99}') RETURNING content;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "A-2", "price": 5, "active": false}') RETURNING content;
UPDATE temporal_entities SET content = content - 'active' WHERE content->>'sku' = 'A-2' RETURNING content;

-- Validation (enforce, the default): 23514 naming entity, field and expected type.
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": 42, "price": 1}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"price": 1}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "x", "price": null}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "x", "price": 1, "colour": "red"}')$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "x", "price": 1, "tags": "a,b"}')$$);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.temporal_entities SET content = content || '{"price": "free"}' WHERE content->>'sku' = 'A-1'$$);
-- Open entities accept unknown fields; undeclared entity types are not checked.
INSERT INTO temporal_entities (entity_type, content) VALUES ('Note', '{"text": "hi", "extra": 1}'), ('Unknown', '{"x": 1}');
-- History rows and deleted rows are not checked: closing an old version always works.
INSERT INTO temporal_entities (entity_type, content, valid_from, valid_to) VALUES ('Product', '{"sku": 1}', '2020-01-01', '2020-02-01');
INSERT INTO temporal_entities (entity_type, content, is_deleted) VALUES ('Product', '{"sku": 1}', true);
-- warn and off.
SET pg_migrate.validation = warn;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": 7}') RETURNING content;
SET pg_migrate.validation = off;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": 8}') RETURNING content;
RESET pg_migrate.validation;
SELECT pgm_test.expect_error($$SET pg_migrate.validation = 'strict'$$);
-- An update that leaves content alone is not re-validated (legacy rows can still be closed or tagged).
UPDATE temporal_entities SET metadata = '{"reviewed": true}' WHERE content->>'sku' = '8' RETURNING metadata;

-- Deprecated fields: a WARNING and a count per write; error refuses; off ignores.
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "D-1", "price": 1, "legacy_code": "L1"}');
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "D-2", "price": 1, "legacy_code": "L2"}');
SELECT entity_type, field_name, writes, last_seen IS NOT NULL AS seen FROM deprecated_field_usage;
SET pg_migrate.deprecated_field_policy = error;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "D-3", "price": 1, "legacy_code": "L3"}')$$);
SET pg_migrate.deprecated_field_policy = off;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "D-4", "price": 1, "legacy_code": "L4"}');
RESET pg_migrate.deprecated_field_policy;
SELECT writes FROM deprecated_field_usage;

-- The cache follows the active version: in the same session, the same transaction, and a rollback.
SELECT register_schema_version('2.0.0', jsonb_deep_merge(active_schema_definition(),
    '{"entities": {"Product": {"fields": {"currency": {"type": "string", "default": "EUR"}}}}}'), activate => true) IS NOT NULL AS registered;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "C-1", "price": 1}') RETURNING content->'currency' AS currency;
BEGIN;
SELECT activate_schema_version('1.0.0', force => true);
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "C-2", "price": 1}') RETURNING content ? 'currency' AS has_currency;
ROLLBACK;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "C-3", "price": 1}') RETURNING content->'currency' AS currency;
-- A plain UPDATE of schema_versions (not through the functions) is seen too.
BEGIN;
UPDATE schema_versions SET is_active = false WHERE is_active;
UPDATE schema_versions SET is_active = true WHERE version_number = '1.0.0';
COMMIT;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "C-4", "price": 1}') RETURNING content ? 'currency' AS has_currency;

-- Through the application's own trigger-driven path: a write from a PL/pgSQL function.
CREATE FUNCTION pg_temp.save_product(sku text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c jsonb;
BEGIN
    INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', jsonb_build_object('sku', sku, 'price', 3)) RETURNING content INTO c;
    RETURN c;
END $$;
SELECT pg_temp.save_product('F-1');

DELETE FROM temporal_entities;
DELETE FROM schema_versions;
DELETE FROM deprecated_field_usage;
