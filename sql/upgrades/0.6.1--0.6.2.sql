-- pg_migrate 0.6.1 -> 0.6.2
-- A document the application gives a new version (closes the current row, inserts the
-- next) while a pipeline batch waits for its row lock is transformed in that batch (it
-- dropped out, untransformed and unrecorded, and the run completed without it).
\ir ../pipeline/pipeline_load.sql
\ir ../pipeline/pipeline_fused.sql
-- A run is not rolled back while another run of its pipeline is RUNNING (55000).
-- pipeline_workers starts 0 to 63 workers, only for a RUNNING run.
\ir ../pipeline/rollback_pipeline.sql
\ir ../pipeline/pipeline_workers.sql
