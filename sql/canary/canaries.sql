-- Canaries: one row per canary, routing a share of keys (tenants, users, accounts) to the
-- new color of a blue-green deployment. Its state moves only along the state machine in
-- canary/canary_state_guard.sql; every state or percentage change lands in canary_history
-- (by trigger), migration_execution_state (SetCanaryPercentage<N>) and the audit log.
-- Written only by pg_migrate's functions; admins and clients get SELECT (routing reads it).
CREATE TABLE pgmigrate.canaries (
    canary_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               text NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 200),
    migration_id       uuid NOT NULL REFERENCES pgmigrate.knowledge_migrations (migration_id),
    deployment_id      bigint NOT NULL REFERENCES pgmigrate.blue_green_deployments (deployment_id),
    baseline_schema    name NOT NULL,
    canary_schema      name NOT NULL,
    salt               text NOT NULL CHECK (salt <> ''),
    percentage         integer NOT NULL DEFAULT 0 CHECK (percentage BETWEEN 0 AND 100),
    steps              integer[] NOT NULL,
    step_interval      interval NOT NULL,
    success_threshold  double precision NOT NULL,
    marginal_threshold double precision NOT NULL,
    weights            jsonb NOT NULL,
    options            jsonb NOT NULL,
    state              text NOT NULL DEFAULT 'RUNNING'
                       CONSTRAINT valid_state CHECK (state IN ('RUNNING', 'PAUSED', 'PROMOTED', 'ROLLED_BACK', 'TIMED_OUT')),
    window_no          integer NOT NULL DEFAULT 1,
    window_started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    step_started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    deadline_at        timestamptz NOT NULL,
    paused_at          timestamptz,
    finished_at        timestamptz,
    failed_checks      integer NOT NULL DEFAULT 0 CHECK (failed_checks >= 0),
    reason             text,
    started_by         regrole NOT NULL,
    CONSTRAINT schemas_differ CHECK (baseline_schema <> canary_schema),
    CONSTRAINT promoted_is_all CHECK (state <> 'PROMOTED' OR percentage = 100),
    CONSTRAINT rolled_back_is_none CHECK (state <> 'ROLLED_BACK' OR percentage = 0)
);
-- At most one live canary per deployment (a TIMED_OUT canary kept at its percentage for
-- review is live; one rolled back on timeout is over).
CREATE UNIQUE INDEX canaries_one_live_per_deployment ON pgmigrate.canaries (deployment_id)
    WHERE state IN ('RUNNING', 'PAUSED') OR (state = 'TIMED_OUT' AND percentage > 0);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canaries', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canaries_canary_id_seq', '');
