-- Custom metric queries of a canary. Each runs as the role that stored it (stored_by,
-- recorded by the database at canary_start), with the search_path it was written against.
CREATE TABLE pgmigrate.canary_custom_metrics (
    canary_id          bigint NOT NULL REFERENCES pgmigrate.canaries (canary_id),
    name               text NOT NULL,
    query              text NOT NULL,
    weight             double precision NOT NULL CHECK (weight >= 0),
    min_value          double precision,
    max_value          double precision,
    critical           boolean NOT NULL,
    stored_by          regrole NOT NULL,
    stored_search_path text NOT NULL,
    PRIMARY KEY (canary_id, name)
);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_custom_metrics', '');
