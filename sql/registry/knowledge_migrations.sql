-- Migrations: scripts, dependencies, ordering, status and an append-only execution log.
-- Written only by pg_migrate's own functions (as the extension owner); readable by the
-- roles the grant_* helpers name. stored_by / stored_search_path: who stored the
-- migration and the search_path its SQL was written against, recorded by the database.
CREATE TABLE pgmigrate.knowledge_migrations (
    migration_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    migration_name    text NOT NULL UNIQUE CHECK (migration_name <> ''),
    version           text NOT NULL,
    description       text,
    migration_type    text NOT NULL DEFAULT 'SCHEMA'
                      CONSTRAINT valid_migration_type CHECK (migration_type IN ('SCHEMA', 'DATA', 'HYBRID')),
    status            text NOT NULL DEFAULT 'PENDING'
                      CONSTRAINT valid_status CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'ROLLED_BACK')),
    started_at        timestamptz,
    completed_at      timestamptz,
    forward_script    text NOT NULL,
    rollback_script   text,
    validation_script text,
    depends_on        uuid[] NOT NULL DEFAULT '{}',
    priority          integer NOT NULL DEFAULT 100,
    executed_by       text DEFAULT current_user,
    execution_log     jsonb NOT NULL DEFAULT '[]'
                      CONSTRAINT execution_log_is_array CHECK (jsonb_typeof(execution_log) = 'array'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    metadata          jsonb NOT NULL DEFAULT '{}'
                      CONSTRAINT metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    definition        jsonb
                      CONSTRAINT definition_is_object CHECK (definition IS NULL OR jsonb_typeof(definition) = 'object'),
    stored_by         regrole,
    stored_search_path text,
    CONSTRAINT completed_after_started CHECK (completed_at >= started_at),
    CONSTRAINT depends_on_has_no_nulls CHECK (array_position(depends_on, NULL) IS NULL)
);
CREATE INDEX knowledge_migrations_status_idx ON pgmigrate.knowledge_migrations (status, priority, migration_name);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.knowledge_migrations', '');
