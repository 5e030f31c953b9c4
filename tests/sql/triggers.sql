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

-- A row is validated whenever it becomes current and live, whatever made it so.
-- (Closing the entity breaks BACKWARD compatibility, hence force.)
SELECT register_schema_version('3.0.0', '{"entities": {"Product": {"additional_fields": false, "fields": {
  "sku": {"type": "string", "nullable": false}, "price": {"type": "number", "nullable": false},
  "legacy_code": {"type": "string", "deprecated": true}}}}}', activate => true, force => true) IS NOT NULL AS registered;
INSERT INTO temporal_entities (entity_id, entity_type, content, is_deleted) VALUES ('00000000-0000-0000-0000-0000000000b1', 'Product', '{"sku": 1}', true);
SELECT pgm_test.expect_error($$UPDATE pgmigrate.temporal_entities SET is_deleted = false WHERE entity_id = '00000000-0000-0000-0000-0000000000b1'$$);
INSERT INTO temporal_entities (entity_id, entity_type, content, valid_from, valid_to) VALUES ('00000000-0000-0000-0000-0000000000b2', 'Product', '{"sku": 2}', '2020-01-01', '2020-02-01');
SELECT pgm_test.expect_error($$UPDATE pgmigrate.temporal_entities SET valid_to = 'infinity' WHERE entity_id = '00000000-0000-0000-0000-0000000000b2'$$);
INSERT INTO temporal_entities (entity_id, entity_type, content) VALUES ('00000000-0000-0000-0000-0000000000b3', 'Draft', '{"sku": 3}');
SELECT pgm_test.expect_error($$UPDATE pgmigrate.temporal_entities SET entity_type = 'Product' WHERE entity_id = '00000000-0000-0000-0000-0000000000b3'$$);
SELECT count(*) AS live_invalid FROM temporal_entities
 WHERE entity_id IN ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000b3')
   AND valid_to = 'infinity' AND NOT is_deleted AND entity_type = 'Product';

-- Settings that weaken enforcement are for superusers and roles granted SET ON PARAMETER.
SET client_min_messages = warning;
DROP ROLE IF EXISTS pgm_plain;
DROP ROLE IF EXISTS pgm_trusted;
RESET client_min_messages;
CREATE ROLE pgm_plain;
CREATE ROLE pgm_trusted;
GRANT SET ON PARAMETER pg_migrate.validation TO pgm_trusted;
SET ROLE pgm_plain;
SELECT pgm_test.expect_error($$SET pg_migrate.validation = off$$);
SELECT pgm_test.expect_error($$SET pg_migrate.deprecated_field_policy = off$$);
SELECT pgm_test.expect_error($$SET pg_migrate.compatibility_mode = 'NONE'$$);
SELECT pgm_test.expect_error($$SELECT set_config('pg_migrate.validation', 'off', false)$$);
SHOW pg_migrate.validation;
RESET ROLE;
SET ROLE pgm_trusted;
SET pg_migrate.validation = warn;
SHOW pg_migrate.validation;
SELECT pgm_test.expect_error($$SET pg_migrate.deprecated_field_policy = off$$);
RESET pg_migrate.validation;
RESET ROLE;

-- Usage is only counted from real document writes: no function writes it, the log
-- and the trigger functions are not for PUBLIC.
SELECT to_regprocedure('pgmigrate.record_deprecated_use(text, text[])') AS record_deprecated_use;
SET ROLE pgm_plain;
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.deprecated_field_usage_log (entity_type, field_name, writes) VALUES ('Product', 'legacy_code', 100000)$$);
SELECT pgm_test.expect_error($$DELETE FROM pgmigrate.deprecated_field_usage$$);
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.deprecated_field_usage VALUES ('Product', 'legacy_code', 1, now())$$);
CREATE TEMP TABLE fake (valid_to timestamptz DEFAULT 'infinity', is_deleted boolean DEFAULT false, entity_type text, content jsonb);
SELECT pgm_test.expect_error($$CREATE TRIGGER fake BEFORE INSERT ON fake FOR EACH ROW EXECUTE FUNCTION pgmigrate.temporal_entities_evolve()$$);
SELECT pgm_test.expect_error($$CREATE TRIGGER fake AFTER INSERT ON fake FOR EACH STATEMENT EXECUTE FUNCTION pgmigrate.temporal_entities_usage()$$);
SELECT entity_type, field_name, writes FROM pgmigrate.deprecated_field_usage ORDER BY 1, 2;
RESET ROLE;
-- A real write by a role with INSERT on the table counts; one row per field per statement.
GRANT INSERT ON temporal_entities TO pgm_plain;
SET ROLE pgm_plain;
INSERT INTO pgmigrate.temporal_entities (entity_type, content)
  SELECT 'Product', jsonb_build_object('sku', 'U-' || i, 'price', i, 'legacy_code', 'x') FROM generate_series(1, 3) i;
RESET ROLE;
SELECT entity_type, field_name, writes FROM deprecated_field_usage WHERE field_name = 'legacy_code' ORDER BY 1, 2;
SELECT count(*) AS log_rows FROM deprecated_field_usage_log WHERE field_name = 'legacy_code';
-- Counts of a rolled-back subtransaction are dropped; those of a committed one are kept.
DO $$
BEGIN
    INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "S-1", "price": 1, "legacy_code": "x"}');
    BEGIN
        INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "S-2", "price": 1, "legacy_code": "x"}');
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
END $$;
BEGIN;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "S-3", "price": 1, "legacy_code": "x"}');
ROLLBACK;
SELECT writes FROM deprecated_field_usage WHERE field_name = 'legacy_code';
DROP TABLE pg_temp.fake;
REVOKE ALL ON temporal_entities FROM pgm_plain;
DROP ROLE pgm_plain;
REVOKE SET ON PARAMETER pg_migrate.validation FROM pgm_trusted;
DROP ROLE pgm_trusted;

-- The cached column positions follow ALTER TABLE (a column before content dropped and re-added).
BEGIN;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Product', '{"sku": "T-1", "price": 1}');
ALTER TABLE temporal_entities DROP COLUMN entity_type;
ALTER TABLE temporal_entities ADD COLUMN entity_type text NOT NULL DEFAULT 'Product';
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', '{"sku": 5}')$$);
ROLLBACK;

-- Hostile documents: many problems are summarised, long and control-character keys are
-- shortened and escaped, unicode keys and 63-byte-plus names work, deep nesting is fine.
SELECT pgm_test.expect_error($$INSERT INTO pgmigrate.temporal_entities (entity_type, content)
  SELECT 'Product', jsonb_object_agg('k' || i, i) || '{"sku": "H", "price": 1}' FROM generate_series(1, 100000) i$$) AS many;
SELECT pgm_test.expect_error(format($$INSERT INTO pgmigrate.temporal_entities (entity_type, content) VALUES ('Product', %L)$$,
  jsonb_build_object('sku', 'H', 'price', 1, repeat('x', 5000) || E'\nFORGED LINE', 1))) AS long_key;
SELECT register_schema_version('4.0.0', jsonb_build_object('entities', jsonb_build_object(
  repeat('É', 40), jsonb_build_object('fields', jsonb_build_object(
    'naïve_ключ_🙂', jsonb_build_object('type', 'string', 'default', 'ü'),
    repeat('f', 70), jsonb_build_object('type', 'string', 'deprecated', true))))), activate => true) IS NOT NULL AS registered;
INSERT INTO temporal_entities (entity_type, content) VALUES (repeat('É', 40), jsonb_build_object(repeat('f', 70), 'v', 'b', 1)) RETURNING content ? 'naïve_ключ_🙂' AS filled, content->>'naïve_ключ_🙂' AS value;
SELECT length(entity_type) AS entity_chars, length(field_name) AS field_chars, writes FROM deprecated_field_usage WHERE field_name = repeat('f', 70);
INSERT INTO temporal_entities (entity_type, content) VALUES (repeat('É', 40), ('{"deep": ' || repeat('[', 5000) || repeat(']', 5000) || '}')::jsonb) RETURNING content ? 'naïve_ключ_🙂' AS filled;

DELETE FROM temporal_entities;
DELETE FROM schema_versions;
DELETE FROM deprecated_field_usage;
