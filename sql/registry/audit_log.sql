-- Append-only audit trail of every state change: who, when, what. Written by
-- pg_migrate's functions, which name the role that asked (registry/audit_log_stamp.sql).
CREATE TABLE pgmigrate.audit_log (
    audit_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    role_name text NOT NULL DEFAULT current_user,
    action    text NOT NULL CHECK (action <> ''),
    details   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_action_idx ON pgmigrate.audit_log (action, logged_at);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.audit_log_audit_id_seq', '');
