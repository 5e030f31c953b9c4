-- Every state and percentage change of every canary (written by trigger, append-only).
CREATE TABLE pgmigrate.canary_history (
    history_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    canary_id       bigint NOT NULL REFERENCES pgmigrate.canaries (canary_id),
    changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    old_state       text,
    new_state       text NOT NULL,
    old_percentage  integer,
    new_percentage  integer NOT NULL,
    reason          text,
    role_name       text NOT NULL
);
CREATE INDEX canary_history_canary_idx ON pgmigrate.canary_history (canary_id, history_id);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_history', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_history_history_id_seq', '');
