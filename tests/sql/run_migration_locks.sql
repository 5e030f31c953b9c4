-- run_migration and execute_migration under concurrent sessions: pgbench reads and writes
-- while CREATE INDEX CONCURRENTLY runs, DDL blocked by a lock holder retries with a short
-- lock_timeout (succeeding once the holder ends, failing cleanly when it never does).
-- The waits other sessions saw are written to $PGM_RESULTS/run_migration_figures.txt.
\! tests/run_migration_concurrency.sh
