-- Outcomes applications report (canary_report): append-only, one row per report, so
-- concurrent reporters never update a shared row. `canary` says which side the key was
-- routed to when reported; window_no is the canary's check window at the time. No
-- foreign key: the insert stays one index entry; canaries are never deleted.
CREATE TABLE pgmigrate.canary_metrics (
    canary_id    bigint NOT NULL,
    window_no    integer NOT NULL,
    canary       boolean NOT NULL,
    ok           boolean NOT NULL,
    duration_ms  double precision NOT NULL,
    reported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX canary_metrics_window_idx ON pgmigrate.canary_metrics (canary_id, window_no);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_metrics', '');
