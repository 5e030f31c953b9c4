-- pg_migrate 0.6.2 -> 0.6.3
-- A migration run's session-level lock goes with a transaction of the run that fails
-- (CALL run_migration inside a transaction block, an error before the run starts or
-- escaping a phase): the session kept it, and every other session was refused "being run
-- by another session" until it disconnected.
-- A session sharing a parallel pipeline run that another session restarts ({"restart":
-- true}) ends with the 55000 saying so (it could end quietly, as if others were finishing
-- the last batches); the message names the pipeline, the run is in its DETAIL.
-- A migration step's error DETAIL reaches the caller (execute_migration / rollback_migration
-- with {"raise": true}, CALL run_migration) and the step's result, as its HINT did; a step
-- run by the background worker (CREATE INDEX CONCURRENTLY, ...) keeps both too, in new
-- columns of migration_jobs (the duplicated key of a unique index that could not be built).
-- A TRANSFORM step refused because its pipeline has a run going names that run and says
-- how to finish it.

ALTER TABLE pgmigrate.migration_jobs ADD COLUMN detail text, ADD COLUMN hint text;

\ir ../engine/unlock_on_abort.sql
\ir ../engine/run_migration_phase.sql
\ir ../engine/raise_failure.sql
\ir ../engine/run_step.sql
\ir ../engine/execute_migration.sql
\ir ../engine/rollback_migration.sql
\ir ../engine/run_migration.sql
\ir ../engine/run_phase_work.sql
\ir ../pipeline/pipeline_batch.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/pipeline_run_inline.sql
