-- pg_migrate 0.6.1 -> 0.6.2
-- A document the application gives a new version (closes the current row, inserts the
-- next) while a pipeline batch waits for its row lock is transformed in that batch (it
-- dropped out, untransformed and unrecorded, and the run completed without it).
\ir ../pipeline/pipeline_load.sql
\ir ../pipeline/pipeline_fused.sql
