-- Replays up to batch_size logged writes in log order, then removes exactly those log
-- rows by their log_id (never by key or id range: a transaction still open may hold a
-- lower id). Idempotent: replaying a write the copy already saw gives the same row.
-- Returns the number replayed.
CREATE OR REPLACE FUNCTION pgmigrate._bg_replay_batch(d pgmigrate.blue_green_deployments, batch_size integer) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
BEGIN
    EXECUTE format('SELECT array_agg(l.log_id) FILTER (WHERE l.r IS NOT NULL) FROM (SELECT b.log_id, %s(b.rel, b.op, b.old_row, b.new_row) AS r
                      FROM (SELECT * FROM pgmigrate.blue_green_log WHERE deployment_id = $1 ORDER BY log_id LIMIT $2) b) l',
                   format('pgmigrate.%I', format('_bg_%s_replay', d.deployment_id)))
       INTO ids USING d.deployment_id, batch_size;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM pgmigrate.blue_green_log WHERE log_id = ANY (ids);
    RETURN cardinality(ids);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_replay_batch(pgmigrate.blue_green_deployments, integer) FROM PUBLIC;
