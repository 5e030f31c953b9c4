-- Rolling back a pipeline run: every document the run changed gets its pre-run content
-- back as a new version; documents it created are closed. If a document was changed (or
-- deleted) after the run wrote it, the rollback is refused, naming them, unless force
-- (then the run's before-image wins over the later change). "Changed" covers a new version
-- and an in-place UPDATE of the version the run wrote (its xmin differs from the one the
-- run recorded; a version frozen by VACUUM since counts as unchanged).
--
-- _pipeline_rollback_step does one of the run's batches per call: the first call checks the
-- whole run (refusing before anything is written) and marks it ROLLING_BACK; each call then
-- locks the current versions of one batch's documents (short lock_timeout, retried with
-- backoff), checks them again, restores them and marks the batch rolled back; the call
-- that finds no batch left marks the run ROLLED_BACK. Returns {done, batch, rolled_back,
-- remaining} ({done, rolled_back: total} at the end).
--   rollback_pipeline(run, force) → bigint        all of it in the caller's transaction
--   CALL rollback_pipeline_batched(run, force)    a committed transaction per batch, with
--                                                 progress NOTICEs; CALL again to resume

-- What to do about a RUNNING run that is in the way.
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_running_hint(name text, run uuid) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('Let it finish, or cancel the session working it (a cancelled or failed run can be rolled back). '
                  'If no session works it (a crash left it RUNNING), CALL pgmigrate.run_pipeline(%L) finishes it, or '
                  'SELECT pgmigrate.pipeline_stop(%L, ''CANCELLED'', ''stopped by hand'', NULL) stops it.', name, run)
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_running_hint(text, uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_check_unchanged(run uuid, batch integer) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    changed uuid[];
    n_changed bigint;
BEGIN
    -- Documents of the run's batches not yet rolled back (or of one batch) whose current
    -- version is no longer the one the run wrote: a later version, a deletion, or an
    -- in-place UPDATE (another xmin; a version VACUUM froze counts as unchanged).
    SELECT (array_agg(u.entity_id ORDER BY u.entity_id))[1:20], count(*) INTO changed, n_changed
      FROM pgmigrate.pipeline_batches b
     CROSS JOIN LATERAL unnest(b.changed_ids, b.new_row_ids, b.new_row_xmins) AS u(entity_id, new_row_id, new_row_xmin)
     WHERE b.run_id = run AND b.status = 'DONE' AND b.docs_rolled_back IS NULL AND (batch IS NULL OR b.batch_no = batch)
       AND NOT EXISTS (SELECT 1 FROM pgmigrate.temporal_entities t
                        WHERE t.row_id = u.new_row_id AND t.valid_to = 'infinity' AND NOT t.is_deleted
                          AND (u.new_row_xmin IS NULL OR t.xmin = u.new_row_xmin OR t.xmin = '2'::xid));
    IF n_changed > 0 THEN
        RAISE EXCEPTION 'cannot roll back pipeline run %: % document(s) changed since it wrote them: %', run, n_changed,
              array_to_string(changed, ', ') || CASE WHEN n_changed > 20 THEN ', ...' ELSE '' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'rollback_pipeline(run_id, force => true) restores the run''s before-images over those later changes.';
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_check_unchanged(uuid, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_rollback_step(run uuid, force boolean, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s' AS $$
#variable_conflict use_variable
DECLARE
    r pgmigrate.pipeline_runs;
    b pgmigrate.pipeline_batches;
    ts timestamptz := clock_timestamp();
    n bigint;
    attempt integer := 0;
    other uuid;
    other_status text;
BEGIN
    IF run IS NULL THEN
        RAISE EXCEPTION 'a pipeline run id is required, not NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'SELECT run_id, status FROM pgmigrate.pipeline_runs WHERE pipeline_name = ... lists a pipeline''s runs.';
    END IF;
    SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = run FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pipeline run % does not exist', run USING ERRCODE = 'undefined_object',
            HINT = 'SELECT run_id, status FROM pgmigrate.pipeline_runs WHERE pipeline_name = ... lists a pipeline''s runs.';
    END IF;
    IF r.status = 'ROLLED_BACK' THEN
        RAISE EXCEPTION 'pipeline run % is already rolled back', run USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF r.status = 'RUNNING' THEN
        RAISE EXCEPTION 'pipeline run % is still RUNNING', run USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = pgmigrate._pipeline_running_hint(r.pipeline_name, run);
    END IF;
    IF r.status <> 'ROLLING_BACK' THEN
        -- Not while another run of the pipeline is going or being undone: it may be
        -- rewriting these very documents. (The lock a start takes: no run starts or resumes
        -- until this commits.)
        IF r.pipeline_id IS NOT NULL THEN
            PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgmigrate.pipeline_start'), pg_catalog.hashtext(r.pipeline_id::text));
            SELECT x.run_id, x.status INTO other, other_status FROM pgmigrate.pipeline_runs x
             WHERE x.pipeline_id = r.pipeline_id AND x.status IN ('RUNNING', 'ROLLING_BACK') AND x.run_id <> run LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'cannot roll back pipeline run % while run % of pipeline "%" is %', run, other, r.pipeline_name, other_status
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = CASE other_status WHEN 'RUNNING' THEN pgmigrate._pipeline_running_hint(r.pipeline_name, other)
                                 ELSE pg_catalog.format('Finish that rollback first: CALL pgmigrate.rollback_pipeline_batched(%L).', other) END;
            END IF;
        END IF;
        -- The whole run first, without locks: refused before anything is written.
        IF NOT coalesce(force, false) THEN
            PERFORM pgmigrate._pipeline_check_unchanged(run, NULL);
        END IF;
        BEGIN
            UPDATE pgmigrate.pipeline_runs x SET status = 'ROLLING_BACK', updated_at = clock_timestamp() WHERE x.run_id = run;
        EXCEPTION WHEN unique_violation THEN
            -- (pipeline_runs_one_active: one this snapshot cannot see, REPEATABLE READ.)
            RAISE EXCEPTION 'cannot roll back pipeline run % while another run of pipeline "%" is RUNNING or ROLLING_BACK', run, r.pipeline_name
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Let that run finish (or cancel the session working it) first.';
        END;
    END IF;
    SELECT * INTO b FROM pgmigrate.pipeline_batches x
     WHERE x.run_id = run AND x.status = 'DONE' AND x.docs_rolled_back IS NULL ORDER BY x.batch_no LIMIT 1;
    IF NOT FOUND THEN
        SELECT coalesce(sum(x.docs_rolled_back), 0) INTO n FROM pgmigrate.pipeline_batches x WHERE x.run_id = run;
        UPDATE pgmigrate.pipeline_runs x SET status = 'ROLLED_BACK', updated_at = clock_timestamp() WHERE x.run_id = run;
        PERFORM pgmigrate._audit('pipeline.rolled_back', jsonb_build_object('pipeline', r.pipeline_name, 'run_id', run,
            'documents_rolled_back', n, 'forced', coalesce(force, false)), caller);
        RETURN jsonb_build_object('done', true, 'rolled_back', n);
    END IF;
    -- This batch: lock its documents' current versions (lock_timeout 1s, the SET clause's:
    -- the caller's transaction keeps its own), check them again, restore them.
    LOOP
        BEGIN
            PERFORM 1 FROM pgmigrate.temporal_entities t
             WHERE t.entity_id = ANY (b.changed_ids) AND t.valid_to = 'infinity' FOR UPDATE OF t;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            IF attempt >= 10 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(least(0.05 * power(2, attempt), 2.0) * (0.5 + random() / 2));
        END;
    END LOOP;
    IF NOT coalesce(force, false) THEN
        PERFORM pgmigrate._pipeline_check_unchanged(run, b.batch_no);
    END IF;
    -- Close the current versions, then write the before-images (documents the run created
    -- just stay closed; the INSERT reads the UPDATE's result, so it runs after it). The time
    -- is read after the locks: a version written while this waited began before it.
    ts := clock_timestamp();
    WITH ch AS (SELECT u.entity_id, u.old_row_id FROM unnest(b.changed_ids, b.old_row_ids) u(entity_id, old_row_id)),
    cur AS (
        UPDATE pgmigrate.temporal_entities t SET valid_to = ts
          FROM ch
         WHERE t.entity_id = ch.entity_id AND t.valid_to = 'infinity'
        RETURNING t.entity_id, ch.old_row_id),
    restored AS (
        INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, metadata, valid_from)
        SELECT o.entity_id, o.entity_type, o.content, o.metadata, ts
          FROM cur JOIN pgmigrate.temporal_entities o ON o.row_id = cur.old_row_id
         WHERE NOT o.is_deleted)
    SELECT count(*) INTO n FROM cur;
    UPDATE pgmigrate.pipeline_batches x SET docs_rolled_back = n WHERE x.run_id = run AND x.batch_no = b.batch_no;
    UPDATE pgmigrate.pipeline_runs x SET updated_at = clock_timestamp() WHERE x.run_id = run;
    RETURN jsonb_build_object('done', false, 'batch', b.batch_no, 'rolled_back', n,
        'remaining', (SELECT count(*) FROM pgmigrate.pipeline_batches x
                       WHERE x.run_id = run AND x.status = 'DONE' AND x.docs_rolled_back IS NULL));
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_rollback_step(uuid, boolean, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.pipeline_rollback_step(run uuid, force boolean) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_rollback_step(uuid, boolean) FROM PUBLIC;

-- rollback_pipeline(run_id, force) → documents rolled back, in the caller's transaction.
CREATE OR REPLACE FUNCTION pgmigrate._rollback_pipeline(run uuid, force boolean, caller regrole, caller_path text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    res jsonb;
BEGIN
    LOOP
        res := pgmigrate._pipeline_rollback_step(run, force, caller, caller_path);
        EXIT WHEN (res->>'done')::boolean;
    END LOOP;
    RETURN (res->>'rolled_back')::bigint;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._rollback_pipeline(uuid, boolean, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.rollback_pipeline(run uuid, force boolean DEFAULT false) RETURNS bigint
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.rollback_pipeline(uuid, boolean) FROM PUBLIC;

-- CALL rollback_pipeline_batched(run_id, force): the same, one committed batch at a time
-- with a progress NOTICE each, so a large run is not rolled back in one long transaction
-- holding every row lock. Interrupted (an error, a cancel), the run stays ROLLING_BACK
-- with the batches done so far; CALL again to finish (force too, if a document changed
-- meanwhile). A ROLLING_BACK run cannot be resumed or re-run.
CREATE OR REPLACE PROCEDURE pgmigrate.rollback_pipeline_batched(run uuid, force boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    res jsonb;
    err text;
    state text;
    detail text;
    hint text;
    done_here integer := 0;
    finished_elsewhere boolean := false;
BEGIN
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        BEGIN
            res := pgmigrate.pipeline_rollback_step(run, force);
        EXCEPTION WHEN query_canceled OR others THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            -- Another session rolling back the same run finished it after this one did some
            -- of its batches: done, not an error.
            IF done_here > 0 AND state = '55000' THEN
                BEGIN
                    finished_elsewhere := EXISTS (SELECT FROM pgmigrate.pipeline_runs x WHERE x.run_id = run AND x.status = 'ROLLED_BACK');
                EXCEPTION WHEN others THEN
                    NULL;
                END;
            END IF;
            EXIT WHEN finished_elsewhere;
            -- Only a run left part way (ROLLING_BACK) has something to go on with.
            BEGIN
                IF EXISTS (SELECT FROM pgmigrate.pipeline_runs x WHERE x.run_id = run AND x.status = 'ROLLING_BACK') THEN
                    hint := pg_catalog.concat_ws(' ', nullif(hint, ''),
                        pg_catalog.format('Batches rolled back so far stay so; CALL pgmigrate.rollback_pipeline_batched(%L) goes on from there.', run));
                END IF;
            EXCEPTION WHEN others THEN
                NULL;  -- (no SELECT on pipeline_runs: the error as it was)
            END;
            -- (An empty DETAIL or HINT would still print its label.)
            IF nullif(detail, '') IS NULL AND nullif(hint, '') IS NULL THEN
                RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state;
            ELSIF nullif(detail, '') IS NULL THEN
                RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state, HINT = hint;
            ELSIF nullif(hint, '') IS NULL THEN
                RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state, DETAIL = detail;
            END IF;
            RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state, DETAIL = detail, HINT = hint;
        END;
        EXIT WHEN (res->>'done')::boolean;
        done_here := done_here + 1;
        RAISE NOTICE 'pipeline run %: batch % rolled back (% documents), % to go', run, res->>'batch', res->>'rolled_back', res->>'remaining';
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
        COMMIT;
        -- (As run_pipeline's batches: each locks the rows it restores, FOR UPDATE.)
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    COMMIT;
    IF finished_elsewhere THEN
        RAISE NOTICE 'pipeline run %: rolled back (% of its batches by this session, the rest by another)', run, done_here;
    ELSE
        RAISE NOTICE 'pipeline run %: rolled back, % documents', run, res->>'rolled_back';
    END IF;
END $$;

REVOKE EXECUTE ON PROCEDURE pgmigrate.rollback_pipeline_batched(uuid, boolean) FROM PUBLIC;
