-- The runs of CALL pgmigrate.run_migration: each run's phase plan, where it stands (next_phase),
-- and how it ended. Written only by pg_migrate's functions.
CREATE TABLE pgmigrate.migration_runs (
    run_id       uuid PRIMARY KEY,
    migration_id uuid NOT NULL REFERENCES pgmigrate.knowledge_migrations (migration_id) ON DELETE CASCADE,
    direction    text NOT NULL CONSTRAINT valid_direction CHECK (direction IN ('forward', 'rollback')),
    phases       jsonb NOT NULL,
    options      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL CONSTRAINT valid_run_status CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'ROLLED_BACK')),
    next_phase   integer NOT NULL DEFAULT 1,
    started_by   text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    resumed_at   timestamptz,
    finished_at  timestamptz,
    error        jsonb,
    undoes       uuid  -- the failed run this one rolls back (rollbackOnFailure)
);
CREATE INDEX migration_runs_migration_idx ON pgmigrate.migration_runs (migration_id, started_at);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_runs', '');
