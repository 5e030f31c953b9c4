-- Which physical schema serves reads (blue-green switching). A singleton row that exists
-- from CREATE EXTENSION on (registry/active_schema_version_upsert.sql and _keep.sql).
CREATE TABLE pgmigrate.active_schema_version (
    id                    integer PRIMARY KEY DEFAULT 1 CONSTRAINT single_active_record CHECK (id = 1),
    current_schema_name   text NOT NULL DEFAULT 'public',
    migration_in_progress boolean NOT NULL DEFAULT false,
    migration_id          uuid REFERENCES pgmigrate.knowledge_migrations (migration_id) ON DELETE SET NULL,
    switched_at           timestamptz
);
INSERT INTO pgmigrate.active_schema_version (id) VALUES (1);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.active_schema_version', '');
