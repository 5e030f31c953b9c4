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
    hint                 text    -- the failed statement's HINT (0.6.3; its DETAIL: migration_job_details)
);
CREATE INDEX migration_jobs_run_idx ON pgmigrate.migration_jobs (run_id, phase_number, job_id);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.migration_jobs_job_id_seq', '');

-- A failed worker statement's DETAIL, on its way to the session driving the run (which
-- reads and deletes it). A DETAIL can show values of the author's tables (a duplicated
-- key), so it lives where only the extension's owner reads: migration admins, who may read
-- migration_jobs, may not read this. Not dumped: nothing in it outlives a run's next step.
CREATE TABLE pgmigrate.migration_job_details (
    job_id bigint PRIMARY KEY REFERENCES pgmigrate.migration_jobs (job_id) ON DELETE CASCADE,
    detail text NOT NULL
);
