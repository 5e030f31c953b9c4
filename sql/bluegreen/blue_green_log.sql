-- The change log of a deployment in preparation: one row per write to a live table,
-- old and new row as their text form (exact for every type). Replayed in log_id order
-- and removed by log_id (never by the table's key or a range of ids).
CREATE TABLE pgmigrate.blue_green_log (
    log_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint NOT NULL,
    rel           oid NOT NULL,
    op            text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    old_row       text,
    new_row       text
);
CREATE INDEX blue_green_log_deployment_idx ON pgmigrate.blue_green_log (deployment_id, log_id);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.blue_green_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.blue_green_log_log_id_seq', '');
