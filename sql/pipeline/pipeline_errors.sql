-- Items a run skipped (errorHandling SKIP) or failed on: the document as it was read.
CREATE TABLE pgmigrate.pipeline_errors (
    error_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      uuid NOT NULL REFERENCES pgmigrate.pipeline_runs ON DELETE CASCADE,
    entity_id   uuid,
    step        text NOT NULL,
    error       text NOT NULL,
    sqlstate    text NOT NULL,
    original    jsonb,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX pipeline_errors_by_run ON pgmigrate.pipeline_errors (run_id, step);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipeline_errors', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipeline_errors_error_id_seq', '');
