-- Blue-green deployments: one row per deployment, its state (a state machine enforced by
-- bluegreen/blue_green_state_guard.sql), its tables and its progress. At most one
-- deployment is in progress at a time (partial unique index). Written only by
-- pg_migrate's functions; admins get SELECT (grant_blue_green_admin).
CREATE TABLE pgmigrate.blue_green_deployments (
    deployment_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id   uuid NOT NULL REFERENCES pgmigrate.knowledge_migrations (migration_id),
    migration_name text NOT NULL,
    source_schema  text NOT NULL,
    target_schema  text NOT NULL CHECK (target_schema IN ('migration_blue', 'migration_green')),
    live_schema    text NOT NULL,
    state          text NOT NULL DEFAULT 'capturing'
                   CONSTRAINT valid_state CHECK (state IN ('capturing', 'copying', 'indexing', 'migrating', 'replaying', 'ready',
                                                         'switched', 'rolled_back', 'failed', 'finished', 'aborted')),
    failed_state   text,
    error          text,
    author         regrole NOT NULL,
    options        jsonb NOT NULL DEFAULT '{}',
    tables         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tables) = 'array'),
    rows_copied    bigint NOT NULL DEFAULT 0,
    copy_started   timestamptz,
    handover       jsonb,
    validation     jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    switched_at    timestamptz,
    ended_at       timestamptz,
    CONSTRAINT source_is_not_target CHECK (source_schema <> target_schema),
    CONSTRAINT live_is_a_color CHECK (live_schema IN (source_schema, target_schema))
);
CREATE UNIQUE INDEX blue_green_one_in_progress ON pgmigrate.blue_green_deployments ((true))
    WHERE state NOT IN ('finished', 'aborted');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.blue_green_deployments', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.blue_green_deployments_deployment_id_seq', '');
