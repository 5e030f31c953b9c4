-- Each metric of each evaluation: its value, the baseline's, its score and weight.
CREATE TABLE pgmigrate.canary_evaluation_metrics (
    evaluation_id  bigint NOT NULL REFERENCES pgmigrate.canary_evaluations (evaluation_id),
    metric         text NOT NULL,
    value          double precision NOT NULL,
    baseline       double precision,
    score          double precision NOT NULL,
    weight         double precision NOT NULL,
    critical       boolean NOT NULL,
    note           text,
    PRIMARY KEY (evaluation_id, metric)
);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_evaluation_metrics', '');
