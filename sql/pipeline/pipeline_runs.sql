-- One row per run of a pipeline: status, counts and checkpoint, visible while it runs.
CREATE TABLE pgmigrate.pipeline_runs (
    run_id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_id        uuid REFERENCES pgmigrate.pipelines ON DELETE CASCADE,  -- NULL: an inline pipeline (TRANSFORM step)
    pipeline_name      text NOT NULL,
    status             text NOT NULL DEFAULT 'RUNNING'
                       CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'ABANDONED', 'ROLLING_BACK', 'ROLLED_BACK')),
    entity_type        text NOT NULL,                 -- read, or (with a source query) written
    source_query       text,                          -- NULL: the current documents of entity_type
    query_author       regrole,                       -- the query runs as the role that stored it
    query_search_path  text,
    output_entity_type text,
    options            jsonb NOT NULL DEFAULT '{}',
    compiled           jsonb NOT NULL,
    batch_size         integer NOT NULL,
    batches_total      integer NOT NULL DEFAULT 0,
    batches_done       integer NOT NULL DEFAULT 0,
    docs_in            bigint NOT NULL DEFAULT 0,
    docs_out           bigint NOT NULL DEFAULT 0,
    docs_written       bigint NOT NULL DEFAULT 0,
    docs_failed        bigint NOT NULL DEFAULT 0,
    retries            bigint NOT NULL DEFAULT 0,
    checkpoint         integer,
    last_error         text,
    last_sqlstate      text,
    author             regrole NOT NULL,
    author_search_path text NOT NULL,
    started_by         regrole NOT NULL,
    started_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at        timestamptz,
    duration           interval GENERATED ALWAYS AS (coalesce(finished_at, updated_at) - started_at) STORED
);
CREATE INDEX pipeline_runs_by_pipeline ON pgmigrate.pipeline_runs (pipeline_id, started_at);
-- At most one run of a pipeline going (RUNNING) or being undone (ROLLING_BACK) at a time.
-- The start lock keeps sessions at READ COMMITTED apart; this also holds for a session whose
-- REPEATABLE READ snapshot predates another's start, and for a migration's TRANSFORM step.
CREATE UNIQUE INDEX pipeline_runs_one_active ON pgmigrate.pipeline_runs (pipeline_id)
    WHERE status IN ('RUNNING', 'ROLLING_BACK');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipeline_runs', '');
