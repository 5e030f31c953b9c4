-- A run's batches, planned when it starts: the entity ids of each batch (NULL: every
-- current document of the type, for a pipeline that sees its whole input at once). A
-- batch loads the current versions of its entities by id, through the entity store's
-- current-version index, whatever other entity types share the store.
-- Sessions claim PENDING batches with FOR UPDATE SKIP LOCKED and mark them DONE in the
-- batch's own transaction, so each batch is processed exactly once. The run's counters
-- are sums over its DONE batches (pipeline_runs holds a copy, refreshed as batches finish).
CREATE TABLE pgmigrate.pipeline_batches (
    run_id      uuid NOT NULL REFERENCES pgmigrate.pipeline_runs ON DELETE CASCADE,
    batch_no    integer NOT NULL,
    ids         uuid[],
    status      text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE')),
    docs_in     integer,
    docs_out    integer,
    docs_written integer,
    docs_failed integer,
    retries     integer,
    done_by     integer,
    done_at     timestamptz,
    PRIMARY KEY (run_id, batch_no)
);
CREATE INDEX pipeline_batches_pending ON pgmigrate.pipeline_batches (run_id, batch_no) WHERE status = 'PENDING';
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipeline_batches', '');
