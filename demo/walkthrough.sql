-- pg_migrate walkthrough: evolving a small product catalogue without breaking anyone.
\pset footer off
\set ECHO queries
CREATE EXTENSION IF NOT EXISTS pg_migrate;
SET search_path = pgmigrate, public;

-- 1. Version 1.0.0 of the entity schema goes live (register_schema_version records who
--    published it, checks its shape, and activates it).
SELECT register_schema_version('1.0.0', '{
  "version": "1.0.0",
  "entities": {
    "Customer": {"fields": {"email": {"type": "varchar(120)", "nullable": true},
                            "loyalty_points": {"type": "integer", "nullable": true},
                            "legacy_code": {"type": "string", "nullable": true}}},
    "Order":    {"fields": {"id": {"type": "uuid", "nullable": false},
                            "total": {"type": "numeric(10,2)", "nullable": false},
                            "placed_at": {"type": "timestamp", "nullable": false}}},
    "Coupon":   {"fields": {"code": {"type": "text"}}}
  }}', 'first release', activate => true) IS NOT NULL AS registered;

-- 2. The team proposes 2.0.0. What would it break?
SELECT c->>'severity' AS severity, c->>'type' AS change, c->>'entity' AS entity, c->>'field' AS field, c->>'description' AS description
  FROM jsonb_array_elements(detect_breaking_changes(
         (SELECT schema_definition FROM schema_versions WHERE is_active),
         '{"version": "2.0.0",
           "entities": {
             "Customer": {"fields": {"id": {"type": "uuid", "nullable": false},
                                     "email": {"type": "text", "nullable": false},
                                     "loyalty_points": {"type": "bigint", "nullable": true},
                                     "tier": {"type": "string", "nullable": false}}},
             "Order":    {"fields": {"id": {"type": "uuid", "nullable": false},
                                     "total": {"type": "numeric(8,2)", "nullable": false},
                                     "placed_at": {"type": "timestamptz", "nullable": false},
                                     "currency": {"type": "string", "nullable": false, "default": "EUR"}}}}}')) AS c;

-- 3. Which column changes are safe, and which rewrite the table?
SELECT old_type, new_type, is_type_compatible(old_type, new_type) AS compatible, type_change_info(old_type, new_type) AS detail
  FROM (VALUES ('varchar(120)', 'text'), ('integer', 'bigint'), ('numeric(10,2)', 'numeric(8,2)'),
               ('numeric(10,2)', 'numeric(12,2)'), ('timestamp', 'timestamptz'), ('int4', 'number')) AS t(old_type, new_type);

-- 4. Entities live in the temporal store; documents evolve by deep merge.
INSERT INTO temporal_entities (entity_id, entity_type, content) VALUES
  ('6f1c1b9e-0000-4000-8000-000000000001', 'Customer', '{"email": "ada@example.com", "loyalty_points": 120, "prefs": {"newsletter": true, "locale": "en-GB"}}'),
  ('6f1c1b9e-0000-4000-8000-000000000002', 'Customer', '{"email": "alan@example.com", "legacy_code": "X-17", "prefs": {"newsletter": false}}');

-- A partial update touches one nested key and keeps the rest (|| would drop prefs.locale).
SELECT jsonb_deep_merge(content, '{"prefs": {"newsletter": false, "theme": "dark"}}') AS deep_merged,
       content || '{"prefs": {"newsletter": false, "theme": "dark"}}' AS shallow_concat
  FROM temporal_entities WHERE entity_id = '6f1c1b9e-0000-4000-8000-000000000001';

-- Writing a new version of an entity: close the current row, insert its successor.
WITH closed AS (
  UPDATE temporal_entities SET valid_to = now()
   WHERE entity_id = '6f1c1b9e-0000-4000-8000-000000000001' AND valid_to = 'infinity'
  RETURNING entity_id, entity_type, content)
INSERT INTO temporal_entities (entity_id, entity_type, content)
SELECT entity_id, entity_type, jsonb_deep_merge(content, '{"prefs": {"theme": "dark"}, "loyalty_points": 150}') FROM closed;

SELECT entity_id, content, valid_to = 'infinity' AS is_current
  FROM temporal_entities ORDER BY entity_id, valid_from;

-- 5. The database enforces the rules: one active version, published versions immutable.
--    (Only the extension's owner may write schema_versions directly at all; everyone
--    else goes through register_schema_version / activate_schema_version.)
SELECT version_number, is_active FROM schema_versions;
\set ON_ERROR_STOP 0
INSERT INTO schema_versions (version_number, schema_definition, is_active) VALUES ('2.0.0', '{"entities": {}}', true);
UPDATE schema_versions SET schema_definition = '{}' WHERE version_number = '1.0.0';
SELECT detect_breaking_changes('{"entities": {"Customer": {"fields": ["id"]}}}', '{}');
\set ON_ERROR_STOP 1

-- 6. Schema evolution through the registry (0.2.0): publish, add a field, deprecate one.
DELETE FROM temporal_entities;
DELETE FROM schema_versions;
SELECT register_schema_version('1.0.0', '{"entities": {"Customer": {"fields": {
    "email": {"type": "string", "nullable": false},
    "loyalty_points": {"type": "integer"},
    "legacy_code": {"type": "string"}}}}}', 'first release', activate => true) IS NOT NULL AS registered;
INSERT INTO temporal_entities (entity_type, content) VALUES
  ('Customer', '{"email": "ada@example.com", "loyalty_points": 120}'),
  ('Customer', '{"email": "alan@example.com", "legacy_code": "X-17"}');

-- Is a proposed version compatible with everything published so far?
SELECT check_compatibility('{"entities": {"Customer": {"fields": {"email": {"type": "string", "nullable": false}, "loyalty_points": {"type": "bigint"}}}}}');

-- Add a field without breaking old writers: existing documents get the default.
SELECT add_field_backward_compatible('Customer', 'tier', '{"type": "string", "nullable": false}', '"standard"') AS new_version;
SELECT content FROM temporal_entities ORDER BY row_id;
-- An old writer that does not know the field still works; the trigger fills it in.
INSERT INTO temporal_entities (entity_type, content) VALUES ('Customer', '{"email": "grace@example.com"}') RETURNING content;
-- A write that breaks the schema is refused.
\set ON_ERROR_STOP 0
INSERT INTO temporal_entities (entity_type, content) VALUES ('Customer', '{"email": 42}');
\set ON_ERROR_STOP 1

-- Retire a field: writers that still send it are warned and counted.
SELECT deprecate_field('Customer', 'legacy_code', 'use tier instead', '2.0.0') AS new_version;
INSERT INTO temporal_entities (entity_type, content) VALUES ('Customer', '{"email": "old-app@example.com", "legacy_code": "Y-2"}');
SELECT * FROM deprecated_field_usage;
SELECT version_number, is_active, backward_compatible_with FROM schema_versions ORDER BY created_at;
SELECT logged_at::date AS day, role_name, action, details->>'version' AS version FROM audit_log ORDER BY audit_id;

-- 7. The migration engine (0.3.0): register, check, run in order, roll back.
CREATE TABLE IF NOT EXISTS public.accounts (id int PRIMARY KEY, name text);
INSERT INTO public.accounts SELECT g, 'user' || g FROM generate_series(1, 5) g ON CONFLICT DO NOTHING;
SELECT migration_name FROM register_migrations('[
  {"name": "add_email", "forward": ["ALTER TABLE public.accounts ADD COLUMN email text"],
   "rollback": ["ALTER TABLE public.accounts DROP COLUMN email"]},
  {"name": "fill_email", "dependsOn": ["add_email"], "type": "DATA",
   "forward": [{"name": "fill", "script": "UPDATE public.accounts SET email = name || ''@example.com'' WHERE email IS NULL"},
               {"name": "check", "type": "VALIDATE", "script": "SELECT count(*) = 0 FROM public.accounts WHERE email IS NULL"}],
   "rollback": ["UPDATE public.accounts SET email = NULL"]},
  {"name": "index_email", "dependsOn": ["add_email"],
   "forward": ["CREATE INDEX accounts_email_idx ON public.accounts (email)"], "rollback": ["DROP INDEX public.accounts_email_idx"]}
]');
SELECT * FROM migration_plan();
-- What would each do to a live table?
SELECT i->>'severity' AS severity, i->>'code' AS code, i->>'message' AS message
  FROM jsonb_array_elements(validate_migration_safety('index_email')->'allResults') r, jsonb_array_elements(r->'issues') i;
SELECT r->>'migration' AS migration, r->'success' AS success, r->'affectedRows' AS rows
  FROM jsonb_array_elements(execute_pending_migrations()->'results') r;
SELECT * FROM public.accounts ORDER BY id LIMIT 3;
-- A failing migration changes nothing and says why.
SELECT register_migration('{"name": "oops", "forward": ["UPDATE public.accounts SET name = ''x''", "INSERT INTO public.accounts VALUES (1, ''dup'')"], "rollback": ["SELECT 1"]}') IS NOT NULL AS registered;
SELECT r->'success' AS success, r->'result'->1->>'error' AS error FROM execute_migration('oops') r;
SELECT count(*) FILTER (WHERE name = 'x') AS changed FROM public.accounts;
-- Roll back with everything that depends on it, latest first.
SELECT r->'success' AS success, (SELECT jsonb_agg(c->>'migration') FROM jsonb_array_elements(r->'cascaded') c) AS cascaded FROM rollback_migration('add_email', '{"cascade": true}') r;
SELECT migration_name, status FROM knowledge_migrations WHERE migration_name IN ('add_email', 'fill_email', 'index_email', 'oops') ORDER BY 1;

-- 8. Security (0.4.0): a migration runs with the privileges of the role that stored it,
--    whoever executes it, and pg_migrate's tables change only through its functions.
DO $$ BEGIN CREATE ROLE demo_deployer; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
SELECT grant_migration_admin('demo_deployer');
CREATE SCHEMA reporting AUTHORIZATION demo_deployer;
CREATE TABLE public.payroll (employee text, salary int);  -- only the superuser may read it
INSERT INTO public.payroll VALUES ('ada', 5200), ('alan', 4900);

SET ROLE demo_deployer;
SELECT migration_name FROM register_migrations('[
  {"name": "reporting_table", "forward": ["CREATE TABLE reporting.daily (day date PRIMARY KEY, orders int)"],
   "rollback": ["DROP TABLE reporting.daily"]},
  {"name": "copy_payroll", "dependsOn": ["reporting_table"],
   "forward": ["CREATE TABLE reporting.payroll_copy AS SELECT * FROM public.payroll"],
   "rollback": ["DROP TABLE reporting.payroll_copy"]}
]');
-- A granted role still cannot edit the registry behind pg_migrate's back.
\set ON_ERROR_STOP 0
UPDATE knowledge_migrations SET forward_script = 'ALTER ROLE demo_deployer SUPERUSER' WHERE migration_name = 'copy_payroll';
\set ON_ERROR_STOP 1
RESET ROLE;

-- The superuser runs what is pending. Each step runs as demo_deployer: the first creates a
-- table demo_deployer owns, the second cannot read the superuser's payroll table.
SELECT r->>'migration' AS migration, r->'success' AS success, r->'result'->0->>'error' AS error
  FROM jsonb_array_elements(execute_pending_migrations()->'results') r;
SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'reporting';
SELECT migration_name, stored_by, executed_by, status FROM knowledge_migrations
 WHERE migration_name IN ('reporting_table', 'copy_payroll') ORDER BY migration_name DESC;
-- The audit log names the role that asked for each change.
SELECT role_name, action, details->>'migration' AS migration FROM audit_log
 WHERE details->>'migration' IN ('reporting_table', 'copy_payroll') ORDER BY audit_id;

-- 9. Run a migration in phases: a CONCURRENTLY index build cannot run inside a transaction,
--    so run_migration commits before it and hands it to a background worker; each step
--    waits for locks only briefly and retries.
CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text, total numeric);
INSERT INTO public.orders SELECT g, 'c' || (g % 100), g FROM generate_series(1, 10000) g;
SELECT register_migration('{"name": "orders_by_customer",
  "forward":  ["ALTER TABLE public.orders ADD COLUMN note text",
               "CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer)"],
  "validation": ["SELECT count(*) = 10000 FROM public.orders"],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS public.orders_customer_idx",
               "ALTER TABLE public.orders DROP COLUMN IF EXISTS note"]}') IS NOT NULL AS registered;
SELECT c->>'checkName' AS check, i->>'code' AS code, i->>'severity' AS severity
  FROM jsonb_array_elements(validate_migration_safety('orders_by_customer')->'allResults') c,
       jsonb_array_elements(c->'issues') i;
CALL run_migration('orders_by_customer');
SELECT indexrelid::regclass AS index, indisvalid AS valid FROM pg_index WHERE indrelid = 'public.orders'::regclass ORDER BY indexrelid::regclass::text;

-- 10. Blue-green: the orders table is copied into migration_green, the migration runs
--     there, and both colors stay in sync both ways until the deployment finishes.
SELECT register_migration('{"name": "orders_total_cents",
  "forward": ["ALTER TABLE orders ADD COLUMN total_cents bigint"]}') IS NOT NULL AS registered;
CALL blue_green_prepare('orders_total_cents', $${"tables": ["orders"],
  "mapping": {"orders": {"up": {"total_cents": "(total * 100)::bigint"}}}}$$);
INSERT INTO public.orders VALUES (10001, 'c1', 12.50);                -- a write to the live color ...
SELECT id, total_cents FROM migration_green.orders WHERE id = 10001;  -- ... is in the new one too

-- 11. Canary: a stable, growing share of tenants is served by the new color; promoting the
--     canary is the blue-green switch (one short transaction, pg_notify('schema_switched')).
SELECT canary_start('orders_canary', '{"steps": [10, 50, 100]}')->>'percentage' AS percentage;
SELECT k AS tenant, canary_bucket(c.salt, k) AS bucket, canary_route('orders_canary', k) AS served_by
  FROM canaries c, (VALUES ('tenant-1'), ('tenant-2'), ('tenant-3'), ('tenant-4')) AS t(k)
 WHERE c.name = 'orders_canary';
SELECT canary_set_percentage('orders_canary', 50)->>'percentage' AS percentage;
-- Raising the share only ever moves tenants to the new color, never back.
SELECT k AS tenant, canary_route('orders_canary', k) AS served_by
  FROM (VALUES ('tenant-1'), ('tenant-2'), ('tenant-3'), ('tenant-4')) AS t(k);
SELECT canary_promote('orders_canary')->>'state' AS canary;
SELECT active_schema();
SELECT blue_green_finish('{"keep_old": true}') IS NOT NULL AS finished;

-- 12. A transformation pipeline over the entity store: normalise a field of every current
--     Customer document, writing new temporal versions (undoable with rollback_pipeline).
SELECT register_pipeline('{"name": "normalise_customers", "entityType": "Customer", "batchSize": 500,
  "steps": [{"name": "map", "type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "upper"}]}}]}') IS NOT NULL AS registered;
SELECT before->'email' AS before, after->'email' AS after FROM pipeline_preview('normalise_customers', 3);
CALL run_pipeline('normalise_customers');
SELECT content->'email' AS email FROM temporal_entities
 WHERE entity_type = 'Customer' AND valid_to = 'infinity' ORDER BY row_id LIMIT 3;

-- 13. A pipeline over a SQL query: import a table's rows into the entity store as Lead
--     entities (new ids become entities; a second run writes only what changed), with
--     documents in / out per step, then undo the import.
CREATE TABLE public.leads (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text, email text, consent boolean);
INSERT INTO public.leads (name, email, consent)
SELECT 'Lead ' || g, 'Lead' || g || '@Example.COM', g % 4 <> 0 FROM generate_series(1, 40) g;
SELECT register_pipeline($${"name": "import_leads", "entityType": "Lead", "batchSize": 16,
  "query": "SELECT l.id, to_jsonb(l) - 'id' FROM public.leads l",
  "steps": [{"name": "consented", "type": "FILTER", "config": {"condition": "$.consent == true"}},
            {"name": "clean", "type": "MAP", "config": {"mappingRules": [
              {"type": "FIELD_TRANSFORM", "field": "email", "transformation": "lower"},
              {"type": "FIELD_RENAME", "source": "name", "target": "displayName"}]}}]}$$) IS NOT NULL AS registered;
CALL run_pipeline('import_leads');
SELECT s.step, s.docs_in, s.docs_out, s.docs_failed FROM pipeline_steps s JOIN pipeline_runs r USING (run_id)
 WHERE r.pipeline_name = 'import_leads' ORDER BY s.step_no;
SELECT content FROM temporal_entities WHERE entity_type = 'Lead' AND valid_to = 'infinity' ORDER BY content->>'displayName' LIMIT 2;
SELECT rollback_pipeline(run_id) AS closed FROM pipeline_runs WHERE pipeline_name = 'import_leads';
SELECT count(*) AS current_leads FROM temporal_entities WHERE entity_type = 'Lead' AND valid_to = 'infinity';

-- 14. A parallel pipeline worked by this session and a background worker: 20,000 documents,
--     batches shared between the two processes (each done once), the CALL returning when
--     both are finished. Then rolled back one committed batch at a time.
INSERT INTO temporal_entities (entity_type, content)
SELECT 'Event', jsonb_build_object('Kind', CASE WHEN g % 3 = 0 THEN 'Click' ELSE 'View' END, 'at', g) FROM generate_series(1, 20000) g;
SELECT register_pipeline('{"name": "events_v2", "entityType": "Event", "batchSize": 1000, "parallel": true,
  "steps": [{"type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_RENAME", "source": "Kind", "target": "kind"},
    {"type": "FIELD_TRANSFORM", "field": "kind", "transformation": "lower"}]}}]}') IS NOT NULL AS registered;
SET client_min_messages = warning;
CALL run_pipeline('events_v2', '{"workers": 2}');
RESET client_min_messages;
SELECT r.status, r.docs_written, count(DISTINCT b.done_by) AS processes, count(*) AS batches
  FROM pipeline_runs r JOIN pipeline_batches b USING (run_id) WHERE r.pipeline_name = 'events_v2' GROUP BY 1, 2;
SELECT content->>'kind' AS kind, count(*) FROM temporal_entities WHERE entity_type = 'Event' AND valid_to = 'infinity' GROUP BY 1 ORDER BY 1;
SELECT run_id AS events_run FROM pipeline_runs WHERE pipeline_name = 'events_v2' \gset
SET client_min_messages = warning;
CALL rollback_pipeline_batched(:'events_run');
RESET client_min_messages;
SELECT status, (SELECT sum(docs_rolled_back) FROM pipeline_batches b WHERE b.run_id = r.run_id) AS rolled_back
  FROM pipeline_runs r WHERE run_id = :'events_run';
SELECT content->>'Kind' AS "Kind", count(*) FROM temporal_entities WHERE entity_type = 'Event' AND valid_to = 'infinity' GROUP BY 1 ORDER BY 1;
