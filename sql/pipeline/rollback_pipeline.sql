-- rollback_pipeline(run_id, force) → documents rolled back: every document the run changed
-- gets its pre-run content back as a new version; documents it created are closed. If a
-- document was changed (or deleted) after the run wrote it, the rollback is refused,
-- naming them, unless force (then the run's before-image wins over the later change).

CREATE OR REPLACE FUNCTION pgmigrate._rollback_pipeline(run uuid, force boolean, caller regrole, caller_path text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r pgmigrate.pipeline_runs;
    changed uuid[];
    n_changed bigint;
    ts timestamptz := clock_timestamp();
    n bigint;
    attempt integer := 0;
BEGIN
    SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = run FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pipeline run % does not exist', run USING ERRCODE = 'undefined_object';
    END IF;
    IF r.status = 'ROLLED_BACK' THEN
        RAISE EXCEPTION 'pipeline run % is already rolled back', run USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF r.status = 'RUNNING' THEN
        RAISE EXCEPTION 'pipeline run % is still RUNNING', run USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Cancel it first (or let it finish); a cancelled or failed run can be rolled back.';
    END IF;
    -- Lock the current versions of every document the run touched (short lock_timeout, retried).
    PERFORM set_config('lock_timeout', '1000', true);
    LOOP
        BEGIN
            PERFORM 1 FROM pgmigrate.pipeline_changes ch JOIN pgmigrate.temporal_entities t
                ON t.entity_id = ch.entity_id AND t.valid_to = 'infinity'
             WHERE ch.run_id = run FOR UPDATE OF t;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            IF attempt >= 10 THEN
                RAISE;
            END IF;
            PERFORM pg_sleep(least(0.05 * power(2, attempt), 2.0) * (0.5 + random() / 2));
        END;
    END LOOP;
    SELECT array_agg(ch.entity_id ORDER BY ch.entity_id) FILTER (WHERE true), count(*) INTO changed, n_changed
      FROM (SELECT ch.entity_id FROM pgmigrate.pipeline_changes ch
             WHERE ch.run_id = run
               AND NOT EXISTS (SELECT 1 FROM pgmigrate.temporal_entities t
                                WHERE t.row_id = ch.new_row_id AND t.valid_to = 'infinity' AND NOT t.is_deleted)
             ORDER BY ch.entity_id LIMIT 20) ch;
    IF n_changed > 0 AND NOT coalesce(force, false) THEN
        SELECT count(*) INTO n_changed FROM pgmigrate.pipeline_changes ch
         WHERE ch.run_id = run
           AND NOT EXISTS (SELECT 1 FROM pgmigrate.temporal_entities t
                            WHERE t.row_id = ch.new_row_id AND t.valid_to = 'infinity' AND NOT t.is_deleted);
        RAISE EXCEPTION 'cannot roll back pipeline run %: % document(s) changed since it wrote them: %', run, n_changed,
              array_to_string(changed, ', ') || CASE WHEN n_changed > 20 THEN ', ...' ELSE '' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'rollback_pipeline(run_id, force => true) restores the run''s before-images over those later changes.';
    END IF;
    -- Close the current versions, then write the before-images (documents the run created
    -- just stay closed; the INSERT reads the UPDATE's result, so it runs after it).
    WITH cur AS (
        UPDATE pgmigrate.temporal_entities t SET valid_to = ts
          FROM pgmigrate.pipeline_changes ch
         WHERE ch.run_id = run AND t.entity_id = ch.entity_id AND t.valid_to = 'infinity'
        RETURNING t.entity_id, ch.old_row_id),
    restored AS (
        INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, metadata, valid_from)
        SELECT o.entity_id, o.entity_type, o.content, o.metadata, ts
          FROM cur JOIN pgmigrate.temporal_entities o ON o.row_id = cur.old_row_id
         WHERE NOT o.is_deleted)
    SELECT count(*) INTO n FROM cur;
    UPDATE pgmigrate.pipeline_runs x SET status = 'ROLLED_BACK', updated_at = clock_timestamp() WHERE x.run_id = run;
    PERFORM pgmigrate._audit('pipeline.rolled_back', jsonb_build_object('pipeline', r.pipeline_name, 'run_id', run,
        'documents_rolled_back', n, 'forced', coalesce(force, false)), caller);
    RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._rollback_pipeline(uuid, boolean, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.rollback_pipeline(run uuid, force boolean DEFAULT false) RETURNS bigint
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.rollback_pipeline(uuid, boolean) FROM PUBLIC;
