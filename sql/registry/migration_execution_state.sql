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
    retry_count            integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    run_id                 uuid,
    phase                  text NOT NULL DEFAULT 'forward' CONSTRAINT valid_phase CHECK (phase IN ('forward', 'rollback', 'validation')),
    rows_affected          bigint,
    duration_ms            numeric,
    phase_number           integer
);
CREATE INDEX migration_execution_state_migration_idx ON pgmigrate.migration_execution_state (migration_id, step_number);
CREATE INDEX migration_execution_state_run_idx ON pgmigrate.migration_execution_state (run_id);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_execution_state', '');
