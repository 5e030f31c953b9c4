-- The hand-over from log replay to synchronous sync, in one short transaction: lock the
-- live tables against writes (short lock_timeout, retried with backoff), replay what is
-- left of the log, disable the capture triggers, and install the sync triggers on both
-- colors. From its commit on, a committed write to either color is in the other one in
-- the same transaction. Returns {attempts, lockWaitMs, lockHeldMs, replayed}.
CREATE OR REPLACE FUNCTION pgmigrate._bg_handover(d pgmigrate.blue_green_deployments) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lk jsonb;
    held timestamptz;
    n bigint := 0;
    k bigint;
    tab jsonb;
    cond text := $c$WHEN (pg_catalog.current_setting('pgmigrate_bg.syncing', true) IS DISTINCT FROM 'on')$c$;
BEGIN
    lk := pgmigrate._bg_lock(ARRAY(SELECT (t->>'src')::regclass FROM jsonb_array_elements(d.tables) t), 'SHARE ROW EXCLUSIVE',
                             pgmigrate._bg_int_option(d.options, 'lock_timeout_ms', 200, 1, 600000),
                             pgmigrate._bg_int_option(d.options, 'lock_attempts', 10, 1, 1000));
    held := clock_timestamp();
    LOOP
        k := pgmigrate._bg_replay_batch(d, 10000);
        n := n + k;
        EXIT WHEN k = 0;
    END LOOP;
    FOR tab IN SELECT t FROM jsonb_array_elements(d.tables) t LOOP
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', tab->>'src', 'pgmigrate_bg_capture_' || d.deployment_id);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW %s EXECUTE FUNCTION %s()',
                       'pgmigrate_bg_sync_' || d.deployment_id, tab->>'src', cond, tab->>'up_tg');
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW %s EXECUTE FUNCTION %s()',
                       'pgmigrate_bg_sync_' || d.deployment_id, tab->>'tgt', cond, tab->>'down_tg');
    END LOOP;
    RETURN lk || jsonb_build_object('replayed', n,
                                    'lockHeldMs', round(extract(epoch FROM clock_timestamp() - held)::numeric * 1000, 3));
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_handover(pgmigrate.blue_green_deployments) FROM PUBLIC;
