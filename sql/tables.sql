-- pg_migrate tables. Everything lives in schema pgmigrate (created by CREATE EXTENSION
-- from the control file). Actors are role names; every table is dumped by pg_dump.

-- Migrations: scripts, dependencies, ordering, status and an append-only execution log.
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
    CONSTRAINT completed_after_started CHECK (completed_at >= started_at)
);
CREATE INDEX knowledge_migrations_status_idx ON pgmigrate.knowledge_migrations (status, priority, migration_name);

-- Per-step state of migration runs. entity_id is not unique across temporal rows,
-- so it is a plain column, not a foreign key.
CREATE TABLE pgmigrate.migration_execution_state (
    execution_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    migration_id           uuid NOT NULL REFERENCES pgmigrate.knowledge_migrations (migration_id) ON DELETE CASCADE,
    entity_id              uuid,
    step_number            integer NOT NULL CHECK (step_number >= 0),
    step_name              text NOT NULL,
    step_status            text NOT NULL DEFAULT 'PENDING'
                           CONSTRAINT valid_step_status CHECK (step_status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED')),
    old_value              jsonb,
    new_value              jsonb,
    transformation_applied text,
    started_at             timestamptz DEFAULT now(),
    completed_at           timestamptz,
    error_message          text,
    retry_count            integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0)
);
CREATE INDEX migration_execution_state_migration_idx ON pgmigrate.migration_execution_state (migration_id, step_number);

-- Entity schema versions. At most one is active (a partial unique index, so the
-- database itself enforces it); a published definition is never edited in place.
CREATE TABLE pgmigrate.schema_versions (
    version_id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_number           text NOT NULL UNIQUE CHECK (version_number <> ''),
    schema_definition        jsonb NOT NULL
                             CONSTRAINT schema_definition_is_object CHECK (jsonb_typeof(schema_definition) = 'object'),
    is_active                boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now(),
    created_by               text NOT NULL DEFAULT current_user,
    backward_compatible_with text[] NOT NULL DEFAULT '{}',
    forward_compatible_with  text[] NOT NULL DEFAULT '{}',
    breaking_changes         jsonb NOT NULL DEFAULT '[]'
                             CONSTRAINT breaking_changes_is_array CHECK (jsonb_typeof(breaking_changes) = 'array'),
    description              text,
    changelog                text
);
CREATE UNIQUE INDEX schema_versions_single_active ON pgmigrate.schema_versions ((true)) WHERE is_active;

CREATE FUNCTION pgmigrate.forbid_published_edit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'schema version % is published and cannot be edited', OLD.version_number
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Publish the change as a new schema version instead.';
END $$;

CREATE TRIGGER schema_versions_immutable
    BEFORE UPDATE ON pgmigrate.schema_versions FOR EACH ROW
    WHEN (OLD.schema_definition IS DISTINCT FROM NEW.schema_definition
          OR OLD.version_number IS DISTINCT FROM NEW.version_number)
    EXECUTE FUNCTION pgmigrate.forbid_published_edit();

-- Which physical schema serves reads (blue-green switching). A singleton row.
CREATE TABLE pgmigrate.active_schema_version (
    id                    integer PRIMARY KEY DEFAULT 1 CONSTRAINT single_active_record CHECK (id = 1),
    current_schema_name   text NOT NULL DEFAULT 'public',
    migration_in_progress boolean NOT NULL DEFAULT false,
    migration_id          uuid REFERENCES pgmigrate.knowledge_migrations (migration_id) ON DELETE SET NULL,
    switched_at           timestamptz
);

-- The singleton row exists from CREATE EXTENSION on. A restore from pg_dump inserts
-- it again: turn that insert into an update instead of a key violation.
CREATE FUNCTION pgmigrate.active_schema_version_upsert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pgmigrate.active_schema_version WHERE id = NEW.id) THEN
        UPDATE pgmigrate.active_schema_version
           SET current_schema_name = NEW.current_schema_name,
               migration_in_progress = NEW.migration_in_progress,
               migration_id = NEW.migration_id,
               switched_at = NEW.switched_at
         WHERE id = NEW.id;
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION pgmigrate.active_schema_version_keep() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the active_schema_version row cannot be removed'
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Update current_schema_name instead.';
END $$;

CREATE TRIGGER active_schema_version_upsert
    BEFORE INSERT ON pgmigrate.active_schema_version FOR EACH ROW
    EXECUTE FUNCTION pgmigrate.active_schema_version_upsert();
CREATE TRIGGER active_schema_version_keep
    BEFORE DELETE ON pgmigrate.active_schema_version FOR EACH ROW
    EXECUTE FUNCTION pgmigrate.active_schema_version_keep();
CREATE TRIGGER active_schema_version_keep_truncate
    BEFORE TRUNCATE ON pgmigrate.active_schema_version FOR EACH STATEMENT
    EXECUTE FUNCTION pgmigrate.active_schema_version_keep();

INSERT INTO pgmigrate.active_schema_version (id) VALUES (1);

-- The entity store, versioned in time: the current version of an entity has
-- valid_to = 'infinity', and there is at most one current row per entity_id.
CREATE TABLE pgmigrate.temporal_entities (
    row_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    entity_type text NOT NULL CHECK (entity_type <> ''),
    content     jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT content_is_object CHECK (jsonb_typeof(content) = 'object'),
    metadata    jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz NOT NULL DEFAULT 'infinity',
    is_deleted  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT current_user,
    CONSTRAINT valid_interval CHECK (valid_from < valid_to)
);
-- One current row per entity; also the index for "current version of X".
CREATE UNIQUE INDEX temporal_entities_current ON pgmigrate.temporal_entities (entity_id)
    WHERE valid_to = 'infinity';
-- Current, live entities of a type: backfills, validation, deprecation scans.
CREATE INDEX temporal_entities_live_by_type ON pgmigrate.temporal_entities (entity_type)
    WHERE valid_to = 'infinity' AND NOT is_deleted;
-- History of an entity ("as of" queries).
CREATE INDEX temporal_entities_history ON pgmigrate.temporal_entities (entity_id, valid_from, valid_to);

SELECT pg_catalog.pg_extension_config_dump('pgmigrate.knowledge_migrations', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_execution_state', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.schema_versions', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.active_schema_version', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.temporal_entities', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.temporal_entities_row_id_seq', '');

GRANT USAGE ON SCHEMA pgmigrate TO PUBLIC;
