-- Writes that still carry deprecated fields, per (entity type, field): the usage log
-- summed on read, so no writer ever waits on a shared counter row.
CREATE OR REPLACE VIEW pgmigrate.deprecated_field_usage AS
SELECT entity_type, field_name, sum(writes)::bigint AS writes, max(logged_at) AS last_seen
  FROM pgmigrate.deprecated_field_usage_log
 GROUP BY entity_type, field_name;
GRANT SELECT ON pgmigrate.deprecated_field_usage TO PUBLIC;
