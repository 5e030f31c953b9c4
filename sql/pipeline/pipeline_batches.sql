-- A run's batches, planned when it starts: the entity ids of each batch (NULL: every
-- current document of the type, for a pipeline that sees its whole input at once), and
-- for a run over a source query, the query's documents and the versions they replace. A
-- batch loads the current versions of its entities by id, through the entity store's
-- current-version index, whatever other entity types share the store.
-- Sessions claim PENDING batches with FOR UPDATE SKIP LOCKED and mark them DONE in the
-- batch's own transaction, so each batch is processed exactly once. The run's counters
-- are sums over its DONE batches (pipeline_runs holds a copy, refreshed as batches finish).
-- What a batch wrote is kept with it, as three parallel arrays (one row per batch, no row
-- or index entry per document): the entities changed, the versions closed (NULL for a
-- document the pipeline created) and the versions written. rollback_pipeline reads them
-- (through the pipeline_changes view). step_counts: per step, documents in, out, failed.
CREATE TABLE pgmigrate.pipeline_batches (
    run_id      uuid NOT NULL REFERENCES pgmigrate.pipeline_runs ON DELETE CASCADE,
    batch_no    integer NOT NULL,
    ids         uuid[],
    source_docs jsonb[],      -- a source query's documents for ids (NULL: read the entity store)
    source_rows bigint[],     -- the current version of each id when the query ran (NULL: none)
    source_xmins xid[],       -- and that version's xmin (an in-place UPDATE keeps row_id, not xmin)
    status      text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE')),
    docs_in     integer,
    docs_out    integer,
    docs_written integer,
    docs_failed integer,
    retries     integer,
    done_by     integer,
    done_at     timestamptz,
    changed_ids uuid[],
    old_row_ids bigint[],
    new_row_ids bigint[],
    step_counts jsonb,
    single_statement boolean,  -- done in one statement (built-in steps only), not via work tables
    docs_rolled_back integer,  -- set once rollback_pipeline has undone this batch
    new_row_xmins xid[],       -- the xmin of each version written: an in-place UPDATE since keeps
                               -- its row_id, not its xmin (NULL: written before 0.6.0)
    PRIMARY KEY (run_id, batch_no)
);
-- Id arrays are stored out of line uncompressed: uuids do not compress, and trying costs a
-- batch's commit more than the bytes saved (measured: 5% of a one-statement run).
ALTER TABLE pgmigrate.pipeline_batches ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN changed_ids SET STORAGE EXTERNAL,
    ALTER COLUMN old_row_ids SET STORAGE EXTERNAL, ALTER COLUMN new_row_ids SET STORAGE EXTERNAL,
    ALTER COLUMN new_row_xmins SET STORAGE EXTERNAL;
CREATE INDEX pipeline_batches_pending ON pgmigrate.pipeline_batches (run_id, batch_no) WHERE status = 'PENDING';
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipeline_batches', '');
