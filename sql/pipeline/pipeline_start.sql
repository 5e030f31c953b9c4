-- Start a run of a pipeline, or resume its unfinished one (RUNNING after a crash, FAILED,
-- CANCELLED): the run's batches are planned once, as entity-id ranges, when it starts (a
-- source query runs then, once, and its rows are kept with the batches).
-- Returns {run_id, parallel, resumed, batches, joined, workers}. Options {"join": run} join that
-- run only (joined: false when it is no longer RUNNING).

-- Another run of the pipeline is going or being undone where this one would start or
-- resume (pipeline_runs_one_active): named when this transaction can see it (55000), else
-- one begun after its REPEATABLE READ snapshot, or a migration's TRANSFORM step's not yet
-- committed (40001).
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_run_conflict(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    other pgmigrate.pipeline_runs;
BEGIN
    SELECT x.* INTO other FROM pgmigrate.pipeline_runs x JOIN pgmigrate.pipelines p USING (pipeline_id)
     WHERE p.name = _pipeline_run_conflict.name AND x.status IN ('RUNNING', 'ROLLING_BACK') LIMIT 1;
    IF FOUND AND other.status = 'ROLLING_BACK' THEN
        RAISE EXCEPTION 'pipeline "%" run % is being rolled back', name, other.run_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Finish that first: CALL pgmigrate.rollback_pipeline_batched(%L).', other.run_id);
    ELSIF FOUND THEN
        RAISE EXCEPTION 'pipeline "%" run % is RUNNING: one run of a pipeline goes at a time', name, other.run_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('CALL pgmigrate.run_pipeline(%L) without "restart" works it (it resumes a run a crash left RUNNING); '
                                'SELECT pgmigrate.pipeline_stop(%L, ''CANCELLED'', ''stopped by hand'', NULL) stops it if no session works it.',
                                name, other.run_id);
    END IF;
    RAISE EXCEPTION 'another run of pipeline "%" is RUNNING or ROLLING_BACK', name
        USING ERRCODE = 'serialization_failure',
              DETAIL = 'It began after this transaction''s snapshot was taken, or a migration''s TRANSFORM step is running the pipeline.',
              HINT = 'CALL pgmigrate.run_pipeline again (at READ COMMITTED it joins or resumes that run), or wait for the other transaction to finish.';
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_run_conflict(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_start(name text, options jsonb, caller regrole, caller_path text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    opts jsonb := pgmigrate._pipeline_options(options);
    workers integer := coalesce((opts->>'workers')::int, 1);
    p pgmigrate.pipelines;
    r pgmigrate.pipeline_runs;
    etype text;
    bs integer;
    run uuid;
    nb integer;
    query text;
    query_author regrole;
    query_path text;
    have boolean;
BEGIN
    SELECT * INTO p FROM pgmigrate.pipelines x WHERE x.name = _pipeline_start.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', name USING ERRCODE = 'undefined_object',
            HINT = 'Register it with pgmigrate.register_pipeline(definition).';
    END IF;
    -- A worker (or a session) joining one run by its id: nothing to do unless it runs.
    IF opts->>'join' IS NOT NULL THEN
        SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = (opts->>'join')::uuid AND x.pipeline_id = p.pipeline_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'pipeline "%" has no run %', name, opts->>'join' USING ERRCODE = 'undefined_object';
        END IF;
        RETURN jsonb_build_object('run_id', r.run_id, 'parallel', (r.compiled->>'parallel')::boolean, 'resumed', true,
                                  'batches', r.batches_total, 'joined', r.status = 'RUNNING', 'workers', 1);
    END IF;
    -- One session at a time decides whether this pipeline starts a run or resumes the one
    -- going (held to commit): two CALLs at once otherwise both start a run and transform
    -- the same documents twice. (Under READ COMMITTED the next statement sees the run the
    -- other session committed.)
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgmigrate.pipeline_start'), pg_catalog.hashtext(p.pipeline_id::text));
    SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.pipeline_id = p.pipeline_id AND x.status = 'ROLLING_BACK' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pipeline "%" run % is being rolled back', name, r.run_id USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = pg_catalog.format('Finish that first: CALL pgmigrate.rollback_pipeline_batched(%L).', r.run_id);
    END IF;
    IF workers > 1 AND NOT (p.compiled->>'parallel')::boolean THEN
        RAISE EXCEPTION 'pipeline "%" is not parallel: one session works its runs', name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Register it with "parallel": true to share its runs between workers.';
    END IF;
    -- Joining a RUNNING run takes no lock (sessions working its batches hold its row).
    SELECT * INTO r FROM pgmigrate.pipeline_runs x
     WHERE x.pipeline_id = p.pipeline_id AND x.status IN ('RUNNING', 'FAILED', 'CANCELLED')
     ORDER BY x.started_at DESC LIMIT 1;
    have := FOUND;
    IF have AND (opts->>'restart')::boolean THEN
        -- Sessions that find no batch to claim while a restart holds them wait for it (see
        -- _pipeline_batch); taken before the run row, which those sessions may then update.
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgmigrate.pipeline_restart'), pg_catalog.hashtext(r.run_id::text));
    END IF;
    IF have AND (r.status <> 'RUNNING' OR (opts->>'restart')::boolean) THEN
        -- (Read again once locked: the run may have completed, or been resumed, meanwhile.)
        SELECT * INTO r FROM pgmigrate.pipeline_runs x WHERE x.run_id = r.run_id FOR NO KEY UPDATE;
        have := FOUND AND r.status IN ('RUNNING', 'FAILED', 'CANCELLED');
    END IF;
    IF have AND (opts->>'restart')::boolean THEN
        -- A run one session works (not parallel) is not pulled from under it.
        IF r.status = 'RUNNING' AND NOT (r.compiled->>'parallel')::boolean
           AND NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('pgmigrate.pipeline_run'), pg_catalog.hashtext(r.run_id::text)) THEN
            RAISE EXCEPTION 'pipeline "%" run % is being worked by another session', name, r.run_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Let it finish, or cancel that session''s CALL (the run is then CANCELLED), then start afresh.';
        END IF;
        UPDATE pgmigrate.pipeline_runs x SET status = 'ABANDONED', finished_at = clock_timestamp(), updated_at = clock_timestamp()
         WHERE x.run_id = r.run_id;
        PERFORM pgmigrate._audit('pipeline.abandoned', jsonb_build_object('pipeline', name, 'run_id', r.run_id), caller);
        -- Batches sessions are in the middle of (claimed FOR UPDATE) commit first, so the new
        -- run plans over what they write and transforms no document twice; those sessions
        -- stop before their next batch.
        PERFORM 1 FROM pgmigrate.pipeline_batches x WHERE x.run_id = r.run_id AND x.status = 'PENDING' FOR UPDATE;
        PERFORM pgmigrate._pipeline_tally(r.run_id, true);
    ELSIF have THEN
        IF r.status <> 'RUNNING' THEN
            BEGIN
                UPDATE pgmigrate.pipeline_runs x SET status = 'RUNNING', last_error = NULL, last_sqlstate = NULL, finished_at = NULL,
                       updated_at = clock_timestamp()
                 WHERE x.run_id = r.run_id;
            EXCEPTION WHEN unique_violation THEN
                PERFORM pgmigrate._pipeline_run_conflict(name);
            END;
            PERFORM pgmigrate._audit('pipeline.resumed', jsonb_build_object('pipeline', name, 'run_id', r.run_id,
                'checkpoint', r.checkpoint), caller);
        END IF;
        PERFORM pgmigrate._pipeline_check_functions(r.compiled, r.author, r.author_search_path);
        IF workers > 1 AND NOT (r.compiled->>'parallel')::boolean THEN
            RAISE EXCEPTION 'pipeline "%" run % is not parallel: one session works it', name, r.run_id
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The run keeps the definition it started with; {"restart": true} starts a new run of the parallel one.';
        END IF;
        RETURN jsonb_build_object('run_id', r.run_id, 'parallel', (r.compiled->>'parallel')::boolean, 'resumed', true,
                                  'batches', r.batches_total, 'joined', true, 'workers', workers);
    END IF;
    PERFORM pgmigrate._pipeline_check_functions(p.compiled, p.author, p.author_search_path);
    etype := coalesce(opts->>'entityType', p.compiled->>'entityType');
    -- A source query in the run options runs as the caller who passed it; the definition's
    -- as the pipeline's author.
    IF opts->>'query' IS NOT NULL THEN
        query := opts->>'query';
        query_author := caller;
        query_path := caller_path;
    ELSIF p.compiled->>'query' IS NOT NULL THEN
        query := p.compiled->>'query';
        query_author := p.author;
        query_path := p.author_search_path;
    END IF;
    IF etype IS NULL THEN
        RAISE EXCEPTION 'pipeline "%" names no entity type to %', name, CASE WHEN query IS NULL THEN 'read' ELSE 'write' END
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give "entityType" in the definition or in the run options (with a source query: the type its rows become).';
    END IF;
    -- How values read and print in this session, for every session and worker of the run
    -- (see _pipeline_batch).
    opts := opts || jsonb_build_object('settings', jsonb_build_object('DateStyle', current_setting('DateStyle'),
        'IntervalStyle', current_setting('IntervalStyle'), 'TimeZone', current_setting('TimeZone'), 'lc_time', current_setting('lc_time')));
    bs := CASE WHEN (p.compiled->>'wholeInput')::boolean THEN 0
               ELSE coalesce((opts->>'batchSize')::int, (p.compiled->>'batchSize')::int) END;
    BEGIN
        INSERT INTO pgmigrate.pipeline_runs (pipeline_id, pipeline_name, entity_type, source_query, query_author, query_search_path,
                                             output_entity_type, options, compiled, batch_size, author, author_search_path, started_by)
        VALUES (p.pipeline_id, p.name, etype, query, query_author, query_path, opts->>'outputEntityType', opts, p.compiled, bs,
                p.author, p.author_search_path, caller)
        RETURNING run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        PERFORM pgmigrate._pipeline_run_conflict(name);
    END;
    IF query IS NULL THEN
        nb := pgmigrate._pipeline_plan(run, etype, bs);
    ELSE
        PERFORM pgmigrate._pipeline_source(query, query_author, query_path, etype, NULL);
        nb := pgmigrate._pipeline_plan_query(run, bs);
    END IF;
    UPDATE pgmigrate.pipeline_runs x SET batches_total = nb WHERE x.run_id = run;
    PERFORM pgmigrate._audit('pipeline.started', jsonb_build_object('pipeline', name, 'run_id', run, 'entity_type', etype,
        'batches', nb, 'batch_size', bs, 'author', p.author::text, 'source_query', query), caller);
    RETURN jsonb_build_object('run_id', run, 'parallel', (p.compiled->>'parallel')::boolean, 'resumed', false, 'batches', nb,
                              'joined', true, 'workers', workers);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_start(text, jsonb, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.pipeline_start(name text, options jsonb) RETURNS jsonb
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.pipeline_start(text, jsonb) FROM PUBLIC;
