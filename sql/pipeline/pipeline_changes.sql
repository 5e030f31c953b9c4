-- What a run wrote: for each entity, the version it closed (NULL for a document the run
-- created) and the version it wrote. rollback_pipeline restores from it.
CREATE TABLE pgmigrate.pipeline_changes (
    run_id     uuid NOT NULL REFERENCES pgmigrate.pipeline_runs ON DELETE CASCADE,
    entity_id  uuid NOT NULL,
    old_row_id bigint,
    new_row_id bigint NOT NULL,
    PRIMARY KEY (run_id, entity_id)
);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipeline_changes', '');
