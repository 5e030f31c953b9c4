-- One unit of blue_green_prepare's work, in the caller's (short) transaction: start the
-- deployment, or move it one step on (capture + create one table, copy one batch, index
-- one table, run the migration, replay one batch, hand over, validate foreign keys).
-- Returns {deployment, state, done, notice, batch, error, sqlstate}.
CREATE OR REPLACE FUNCTION pgmigrate._blue_green_prepare_step(migration text, options jsonb, caller regrole, caller_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    d pgmigrate.blue_green_deployments;
    m pgmigrate.knowledge_migrations;
    tab jsonb;
    i integer;
    bs integer;
    n bigint;
    total bigint;
    rate numeric;
    res jsonb;
    err text;
    state text;
    backlog bigint;
    tuning jsonb;
BEGIN
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE blue_green_deployments.state NOT IN ('finished', 'aborted') FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('deployment', pgmigrate._bg_begin(migration, options, caller), 'state', 'capturing', 'done', false,
                                  'notice', format('blue_green_prepare %s: deployment started', migration));
    END IF;
    IF d.migration_name IS DISTINCT FROM migration THEN
        RAISE EXCEPTION 'another blue-green deployment is in progress (deployment %, migration "%", %)', d.deployment_id, d.migration_name, d.state
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'See pgmigrate.blue_green_status(); finish or abort it first.';
    END IF;
    -- Resuming: tuning options of this call apply from now on.
    tuning := pgmigrate._bg_options(options, ARRAY['tables', 'mapping', 'batch_size', 'pause_ms', 'max_batches', 'source_schema',
                                                    'reset', 'lock_timeout_ms', 'lock_attempts'], 'blue_green_prepare');
    SELECT coalesce(jsonb_object_agg(k, v), '{}') INTO tuning FROM jsonb_each(tuning) e(k, v)
     WHERE k IN ('batch_size', 'pause_ms', 'max_batches', 'lock_timeout_ms', 'lock_attempts');
    IF tuning <> '{}' THEN
        PERFORM pgmigrate._bg_options(d.options || tuning, ARRAY['tables', 'mapping', 'batch_size', 'pause_ms', 'max_batches', 'source_schema',
                                                                  'reset', 'lock_timeout_ms', 'lock_attempts'], 'blue_green_prepare');
        PERFORM pgmigrate._bg_int_option(tuning, 'batch_size', 10000, 1, 10000000), pgmigrate._bg_int_option(tuning, 'pause_ms', 0, 0, 3600000),
                pgmigrate._bg_int_option(tuning, 'lock_timeout_ms', 200, 1, 600000), pgmigrate._bg_int_option(tuning, 'lock_attempts', 10, 1, 1000),
                pgmigrate._bg_int_option(tuning, 'max_batches', NULL, 1, 2147483647);
        UPDATE pgmigrate.blue_green_deployments SET options = options || tuning WHERE deployment_id = d.deployment_id RETURNING * INTO d;
    END IF;
    IF d.state = 'failed' THEN
        UPDATE pgmigrate.blue_green_deployments SET state = failed_state, error = NULL WHERE deployment_id = d.deployment_id RETURNING * INTO d;
        PERFORM pgmigrate._audit('blue_green.resumed', jsonb_build_object('deployment', d.deployment_id, 'state', d.state), caller);
    END IF;
    bs := pgmigrate._bg_int_option(d.options, 'batch_size', 10000, 1, 10000000);
    CASE d.state
    WHEN 'capturing' THEN
        SELECT x.t, x.ord INTO tab, i FROM jsonb_array_elements(d.tables) WITH ORDINALITY x(t, ord) WHERE NOT (x.t ? 'created') ORDER BY x.ord LIMIT 1;
        IF tab IS NULL THEN
            UPDATE pgmigrate.blue_green_deployments SET state = 'copying', copy_started = clock_timestamp() WHERE deployment_id = d.deployment_id;
            RETURN jsonb_build_object('deployment', d.deployment_id, 'state', 'copying', 'done', false);
        END IF;
        tab := pgmigrate._bg_create_target(d, tab);
        UPDATE pgmigrate.blue_green_deployments SET tables = jsonb_set(tables, ARRAY[(i - 1)::text], tab) WHERE deployment_id = d.deployment_id;
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', false,
                                  'notice', format('blue_green_prepare %s: capturing changes to %s, created %s', migration, tab->>'src', tab->>'tgt'));
    WHEN 'copying' THEN
        SELECT x.t, x.ord INTO tab, i FROM jsonb_array_elements(d.tables) WITH ORDINALITY x(t, ord)
         WHERE NOT coalesce((x.t->>'copied')::boolean, false) ORDER BY x.ord LIMIT 1;
        IF tab IS NULL THEN
            UPDATE pgmigrate.blue_green_deployments SET state = 'indexing' WHERE deployment_id = d.deployment_id;
            RETURN jsonb_build_object('deployment', d.deployment_id, 'state', 'indexing', 'done', false,
                'notice', format('blue_green_prepare %s: copy done, %s rows in %s s', migration, d.rows_copied,
                                 round(extract(epoch FROM clock_timestamp() - d.copy_started)::numeric, 1)));
        END IF;
        n := coalesce((tab->>'rows')::bigint, 0);
        tab := pgmigrate._bg_copy_batch(tab, bs);
        n := (tab->>'rows')::bigint - n;
        UPDATE pgmigrate.blue_green_deployments SET tables = jsonb_set(tables, ARRAY[(i - 1)::text], tab), rows_copied = rows_copied + n
         WHERE deployment_id = d.deployment_id;
        SELECT sum(greatest(c.reltuples, 0))::bigint INTO total FROM jsonb_array_elements(d.tables) t JOIN pg_class c ON c.oid = (t->>'src')::regclass;
        rate := (d.rows_copied + n) / greatest(extract(epoch FROM clock_timestamp() - d.copy_started)::numeric, 0.001);
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', false, 'batch', true,
            'notice', format('blue_green_prepare %s: copied %s rows (%s: %s), %s rows/s, ETA %s s', migration, d.rows_copied + n,
                             tab->>'name', tab->>'rows', round(rate), round(greatest(total - d.rows_copied - n, 0) / greatest(rate, 1), 1)));
    WHEN 'indexing' THEN
        SELECT x.t, x.ord INTO tab, i FROM jsonb_array_elements(d.tables) WITH ORDINALITY x(t, ord)
         WHERE NOT coalesce((x.t->>'indexed')::boolean, false) ORDER BY x.ord LIMIT 1;
        IF tab IS NULL THEN
            PERFORM pgmigrate._bg_build_fks(d);
            UPDATE pgmigrate.blue_green_deployments SET state = 'migrating' WHERE deployment_id = d.deployment_id;
            RETURN jsonb_build_object('deployment', d.deployment_id, 'state', 'migrating', 'done', false,
                                      'notice', format('blue_green_prepare %s: indexes and constraints built', migration));
        END IF;
        tab := pgmigrate._bg_build_indexes(d, tab);
        UPDATE pgmigrate.blue_green_deployments SET tables = jsonb_set(tables, ARRAY[(i - 1)::text], tab) WHERE deployment_id = d.deployment_id;
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', false);
    WHEN 'migrating' THEN
        SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_id = d.migration_id;
        BEGIN
            n := pgmigrate._bg_run_steps(m, 'forward', d.target_schema);
            d.tables := pgmigrate._bg_compile(d);
            PERFORM pgmigrate._bg_backfill_mapped(d);
        EXCEPTION WHEN query_canceled THEN
            RAISE;
        WHEN others THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
            UPDATE pgmigrate.blue_green_deployments SET state = 'failed', failed_state = 'migrating', error = err
             WHERE deployment_id = d.deployment_id;
            PERFORM pgmigrate._audit('blue_green.failed', jsonb_build_object('deployment', d.deployment_id, 'migration', migration,
                                     'error', err, 'sqlstate', state), caller);
            RETURN jsonb_build_object('deployment', d.deployment_id, 'state', 'failed', 'done', true, 'error', err, 'sqlstate', state);
        END;
        UPDATE pgmigrate.blue_green_deployments SET state = 'replaying', tables = d.tables WHERE deployment_id = d.deployment_id;
        PERFORM pgmigrate._audit('blue_green.migrated', jsonb_build_object('deployment', d.deployment_id, 'migration', migration,
                                 'target', d.target_schema, 'steps', n), caller);
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', 'replaying', 'done', false,
                                  'notice', format('blue_green_prepare %s: migration ran in %s (%s steps)', migration, d.target_schema, n));
    WHEN 'replaying' THEN
        n := pgmigrate._bg_replay_batch(d, bs);
        SELECT count(*) INTO backlog FROM (SELECT 1 FROM pgmigrate.blue_green_log WHERE deployment_id = d.deployment_id LIMIT bs + 1) x;
        IF backlog <= bs THEN
            BEGIN
                res := pgmigrate._bg_handover(d);
            EXCEPTION WHEN lock_not_available THEN
                RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', false, 'batch', true,
                    'notice', format('blue_green_prepare %s: hand-over postponed, the live tables are busy; replaying', migration));
            END;
            UPDATE pgmigrate.blue_green_deployments SET state = 'ready', handover = res WHERE deployment_id = d.deployment_id;
            PERFORM pgmigrate._audit('blue_green.synced', jsonb_build_object('deployment', d.deployment_id, 'migration', migration) || res, caller);
            RETURN jsonb_build_object('deployment', d.deployment_id, 'state', 'ready', 'done', false,
                'notice', format('blue_green_prepare %s: in sync both ways (hand-over held the lock %s ms)', migration, res->>'lockHeldMs'));
        END IF;
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', false, 'batch', true,
            'notice', format('blue_green_prepare %s: replayed %s logged writes, backlog over %s', migration, n, bs));
    WHEN 'ready' THEN
        IF NOT coalesce((d.handover->>'fks_validated')::boolean, false) THEN
            PERFORM pgmigrate._bg_validate_fks(d);
            UPDATE pgmigrate.blue_green_deployments SET handover = handover || '{"fks_validated": true}' WHERE deployment_id = d.deployment_id;
            PERFORM pgmigrate._audit('blue_green.prepared', jsonb_build_object('deployment', d.deployment_id, 'migration', migration,
                                     'target', d.target_schema, 'rows_copied', d.rows_copied), caller);
        END IF;
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', true,
            'notice', format('blue_green_prepare %s: ready; %s is in sync with %s', migration, d.target_schema, d.source_schema));
    ELSE
        RETURN jsonb_build_object('deployment', d.deployment_id, 'state', d.state, 'done', true,
            'notice', format('blue_green_prepare %s: already prepared (%s)', migration, d.state));
    END CASE;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._blue_green_prepare_step(text, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.blue_green_prepare_step(migration text, options jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.blue_green_prepare_step(text, jsonb) FROM PUBLIC;
