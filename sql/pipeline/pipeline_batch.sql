-- One batch of a run: claim the next PENDING batch (FOR UPDATE SKIP LOCKED, so sessions
-- sharing a parallel run never take the same one), load and lock its documents,
-- transform them as the pipeline's author, write new versions, record skipped items,
-- mark the batch DONE, all in the caller's transaction (run_pipeline commits it).
-- Returns {done} when no batch is left to claim (and completes the run when none is left
-- at all), {done, stopped, error, sqlstate} when the run is no longer RUNNING (another
-- session sharing it stopped it), else the batch's counts.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_batch(run uuid, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    r pgmigrate.pipeline_runs;
    b pgmigrate.pipeline_batches;
    n_in integer;
    n_out integer;
    n_err integer;
    w record;
    retries integer;
    one_statement boolean := false;
    counts jsonb;
    saved jsonb;
    err text;
    bad text;
BEGIN
    SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = run;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pipeline run % does not exist', run USING ERRCODE = 'undefined_object';
    END IF;
    IF r.status = 'COMPLETED' THEN
        RETURN jsonb_build_object('done', true, 'run_id', run);
    ELSIF r.status <> 'RUNNING' THEN
        -- Stopped by another session sharing the run (or its worker): nothing more to do here.
        RETURN jsonb_build_object('done', true, 'run_id', run, 'stopped', r.status, 'error', r.last_error, 'sqlstate', r.last_sqlstate);
    END IF;
    SELECT * INTO b FROM pgmigrate.pipeline_batches x WHERE x.run_id = run AND x.status = 'PENDING'
     ORDER BY x.batch_no LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        -- A {"restart": true} of this run under way holds its PENDING batches: wait for it
        -- to commit, so that this session learns the run was abandoned (instead of ending
        -- as if another session were finishing the last batches).
        PERFORM pg_advisory_xact_lock_shared(hashtext('pgmigrate.pipeline_restart'), hashtext(run::text));
        SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = run;
        IF r.status NOT IN ('RUNNING', 'COMPLETED') THEN
            RETURN jsonb_build_object('done', true, 'run_id', run, 'stopped', r.status, 'error', r.last_error, 'sqlstate', r.last_sqlstate);
        END IF;
        -- (A restart that failed let its batches go: claim again.)
        SELECT * INTO b FROM pgmigrate.pipeline_batches x WHERE x.run_id = run AND x.status = 'PENDING'
         ORDER BY x.batch_no LIMIT 1 FOR UPDATE SKIP LOCKED;
    END IF;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM pgmigrate.pipeline_batches x WHERE x.run_id = run AND x.status = 'PENDING') THEN
            PERFORM pgmigrate._pipeline_tally(run, true);
            UPDATE pgmigrate.pipeline_runs x SET status = 'COMPLETED', finished_at = clock_timestamp(), updated_at = clock_timestamp()
             WHERE x.run_id = run AND x.status = 'RUNNING'
            RETURNING * INTO r;
            IF FOUND THEN
                PERFORM pgmigrate._audit('pipeline.completed', jsonb_build_object('pipeline', r.pipeline_name, 'run_id', run,
                    'docs_in', r.docs_in, 'docs_written', r.docs_written, 'docs_failed', r.docs_failed), caller);
            END IF;
        END IF;
        RETURN jsonb_build_object('done', true, 'run_id', run);
    END IF;
    -- The settings that decide how values read and print (DateStyle, TimeZone, ...) are the
    -- ones of the session that started the run, in every session and worker sharing it: a
    -- date read as "01/02/2024" means one day for the whole run. Put back when the batch
    -- is done (an error undoes them with the caller's (sub)transaction).
    IF r.options ? 'settings' THEN
        SELECT jsonb_object_agg(k, current_setting(k)) INTO saved FROM jsonb_object_keys(r.options->'settings') k;
        PERFORM set_config(s.k, s.v, true) FROM jsonb_each_text(r.options->'settings') s(k, v);
    END IF;
    -- Built-in steps only, no validation: the whole batch in one statement. Any error there
    -- (a bad value, a lock timeout) and the batch is redone on the general path below.
    IF (r.compiled->>'builtinOnly')::boolean AND r.source_query IS NULL AND b.ids IS NOT NULL
       AND NOT (r.compiled->'validation'->>'input')::boolean AND NOT (r.compiled->'validation'->>'output')::boolean THEN
        BEGIN
            w := pgmigrate._pipeline_fused(r.compiled, b.ids, r.entity_type, coalesce((r.options->>'lockTimeoutMs')::int, 1000));
            one_statement := true;
        EXCEPTION WHEN others THEN
            one_statement := false;
        END;
    END IF;
    IF one_statement THEN
        n_in := w.n_in;
        n_out := w.n_out;
        n_err := 0;
        retries := 0;
        counts := w.step_counts;
    ELSE
        PERFORM pgmigrate._pipeline_temp(r.author);
        IF r.source_query IS NULL THEN
            n_in := pgmigrate._pipeline_load(r.entity_type, b.ids, 2147483647, true,
                                             coalesce((r.options->>'lockTimeoutMs')::int, 1000));
        ELSE
            n_in := pgmigrate._pipeline_load_query(b.ids, b.source_docs, b.source_rows, b.source_xmins,
                                                   coalesce((r.options->>'lockTimeoutMs')::int, 1000));
        END IF;
        retries := pgmigrate._pipeline_apply(r.compiled, r.author, r.author_search_path, r.entity_type, r.output_entity_type);
        BEGIN
            w := pgmigrate._pipeline_write(run, r.pipeline_name, r.output_entity_type, r.entity_type, r.source_query IS NOT NULL);
        EXCEPTION WHEN check_violation THEN
            -- The entity store's schema refused an output: say which document.
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            SELECT coalesce(o.entity_id::text, '(new)') INTO bad FROM pg_temp._pgm_pipe_out o
             WHERE cardinality(pgmigrate.document_violations(CASE WHEN o.entity_id IS NULL THEN coalesce(r.output_entity_type, r.entity_type)
                                                                  ELSE r.entity_type END, o.doc)) > 0
             LIMIT 1;
            RAISE EXCEPTION 'pipeline "%": the entity store refused output document %: %', r.pipeline_name, coalesce(bad, '?'), err
                USING ERRCODE = 'check_violation',
                      HINT = 'Fix the step that made it, or validate outputs in the pipeline ("validation": {"output": true, "errorHandling": "SKIP"}) to record such documents in pgmigrate.pipeline_errors and go on.';
        END;
        SELECT count(*) INTO n_out FROM pg_temp._pgm_pipe_out;
        INSERT INTO pgmigrate.pipeline_errors (run_id, entity_id, step, error, sqlstate, original)
        SELECT run, e.entity_id, e.step, e.error, e.sqlstate, e.original FROM pg_temp._pgm_pipe_err e;
        GET DIAGNOSTICS n_err = ROW_COUNT;
        counts := pgmigrate._pipeline_step_counts(r.compiled, n_in);
    END IF;
    UPDATE pgmigrate.pipeline_batches x SET status = 'DONE', docs_in = n_in, docs_out = n_out, docs_written = w.n,
           docs_failed = n_err, retries = retries, done_by = pg_backend_pid(), done_at = clock_timestamp(),
           changed_ids = w.ids, old_row_ids = w.old_rows, new_row_ids = w.new_rows, new_row_xmins = w.new_xmins, source_docs = NULL, single_statement = one_statement,
           step_counts = counts
     WHERE x.run_id = run AND x.batch_no = b.batch_no;
    -- The run row is shared by every session on the run: refreshed only when no other
    -- session's batch holds it (a later batch or the run's completion catches up).
    PERFORM pgmigrate._pipeline_tally(run, false);
    SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = run;
    IF saved IS NOT NULL THEN
        PERFORM set_config(s.k, s.v, true) FROM jsonb_each_text(saved) s(k, v);
    END IF;
    RETURN jsonb_build_object('done', false, 'run_id', run, 'batch', b.batch_no, 'batches', r.batches_total,
        'docs_in', n_in, 'docs_out', n_out, 'docs_written', w.n, 'docs_failed', n_err, 'retries', retries,
        'batches_done', (SELECT count(*) FROM pgmigrate.pipeline_batches x WHERE x.run_id = run AND x.status = 'DONE'));
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_batch(uuid, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.pipeline_batch(run uuid) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_batch(uuid) FROM PUBLIC;
