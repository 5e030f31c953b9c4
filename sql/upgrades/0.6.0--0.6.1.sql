-- pg_migrate 0.6.0 -> 0.6.1
-- run_pipeline and rollback_pipeline_batched run their batches at READ COMMITTED whatever
-- the session's default isolation (sessions and workers sharing a run under REPEATABLE
-- READ or SERIALIZABLE failed each other's batch claims and commits with 40001).
-- rollback_pipeline_batched: a NULL or unknown run id is refused with a hint that lists
-- runs; the "goes on from there" hint only when the run was left ROLLING_BACK; no empty
-- DETAIL line; a session whose concurrent rollback of the same run another session
-- finished ends with a NOTICE, not "already rolled back".
-- Two CALLs of one pipeline at once no longer start two runs (a start takes a lock per
-- pipeline); {"join": null} is refused. A cancel or statement_timeout while the caller
-- waits for its workers stops the run (CANCELLED) and fails the CALL once they have stopped.
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/rollback_pipeline.sql
