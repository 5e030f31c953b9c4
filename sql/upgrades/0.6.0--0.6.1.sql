-- pg_migrate 0.6.0 -> 0.6.1
-- rollback_pipeline_batched: a NULL or unknown run id is refused with a hint that lists
-- runs; the "goes on from there" hint only when the run was left ROLLING_BACK; no empty
-- DETAIL line.
\ir ../pipeline/rollback_pipeline.sql
