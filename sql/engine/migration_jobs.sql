-- Statements the background worker runs (one attempt each), and their outcome.
CREATE TABLE pgmigrate.migration_jobs (
    job_id               bigserial PRIMARY KEY,
    run_id               uuid NOT NULL REFERENCES pgmigrate.migration_runs (run_id) ON DELETE CASCADE,
    phase_number         integer NOT NULL,
    step_name            text NOT NULL,
    purpose              text NOT NULL CONSTRAINT valid_purpose CHECK (purpose IN ('step', 'cleanup')),
    attempt              integer NOT NULL DEFAULT 1,
    sql                  text NOT NULL,
    author               regrole NOT NULL,
    search_path          text,
    lock_timeout_ms      integer,
    statement_timeout_ms integer,
    status               text NOT NULL DEFAULT 'PENDING'
                         CONSTRAINT valid_job_status CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED')),
    pid                  integer,
    error                text,
    sqlstate             text,
    cleanup              text[],
    target_rel           oid,    -- CREATE INDEX CONCURRENTLY: its table, and the indexes it had
    indexes_before       oid[],
    retry_at             timestamptz,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at           timestamptz,
    finished_at          timestamptz,
    detail               text,   -- the failed statement's DETAIL and HINT (0.6.3)
    hint                 text
);
CREATE INDEX migration_jobs_run_idx ON pgmigrate.migration_jobs (run_id, phase_number, job_id);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_jobs_job_id_seq', '');
