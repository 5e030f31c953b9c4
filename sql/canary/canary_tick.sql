-- Evaluate a canary's current window, record the evaluation (each metric's value, score
-- and weight), and, when `apply`, do what the judgement decided (src/canary/judge.rs):
-- step up, promote, hold, roll back, pause or time out. The caller holds the row lock.
CREATE OR REPLACE FUNCTION pgmigrate._canary_tick(c pgmigrate.canaries, apply boolean, caller regrole) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    obs jsonb;
    j jsonb;
    ev jsonb;
    d jsonb;
    act text;
    eval_id bigint;
    n pgmigrate.canaries := c;
    window_age double precision := extract(epoch FROM clock_timestamp() - c.window_started_at);
    dep pgmigrate.blue_green_deployments;
BEGIN
    -- The deployment comes first: over (aborted, finished) -> roll back; switched by hand -> promoted.
    SELECT * INTO dep FROM pgmigrate.blue_green_deployments WHERE deployment_id = c.deployment_id;
    IF apply AND dep.state IN ('finished', 'aborted', 'switched') THEN
        IF dep.state = 'switched' THEN
            n := pgmigrate._canary_finish_promote(c, format('deployment %s was switched', dep.deployment_id), caller);
        ELSE
            n := pgmigrate._canary_finish_rollback(c, 'ROLLED_BACK', format('deployment %s is %s', dep.deployment_id, dep.state), caller);
        END IF;
        RETURN jsonb_build_object('canary', c.name, 'state', n.state, 'percentage', n.percentage, 'action',
            CASE n.state WHEN 'PROMOTED' THEN 'promote' ELSE 'rollback' END, 'applied', true, 'reason', n.reason, 'next_tick_in', 0);
    END IF;
    obs := pgmigrate._canary_observe(c);
    j := pgmigrate._canary_judge(c.options, c.percentage, obs, jsonb_build_object(
        'window_age', window_age,
        'step_age', extract(epoch FROM clock_timestamp() - c.step_started_at),
        'remaining', extract(epoch FROM c.deadline_at - clock_timestamp()),
        'failed_checks', c.failed_checks));
    ev := j->'evaluation';
    d := j->'decision';
    act := d->>'action';
    IF apply THEN
        CASE act
        WHEN 'step_up' THEN
            n := pgmigrate._canary_apply(c, 'RUNNING', (d->>'percentage')::integer, true, (d->>'failed_checks')::integer, 'step', d->>'reason', caller);
        WHEN 'promote' THEN
            BEGIN
                n := pgmigrate._canary_finish_promote(c, d->>'reason', caller);
            EXCEPTION WHEN query_canceled THEN
                RAISE;
            WHEN others THEN
                -- The switch was refused: hold everything at 100% for a human.
                act := 'pause';
                d := jsonb_set(d, '{reason}', to_jsonb('promotion refused: ' || SQLERRM));
                n := pgmigrate._canary_apply(c, 'PAUSED', c.percentage, false, NULL, 'paused', d->>'reason', caller);
            END;
        WHEN 'rollback' THEN
            n := pgmigrate._canary_finish_rollback(c, 'ROLLED_BACK', d->>'reason', caller);
        WHEN 'time_out' THEN
            IF (d->>'percentage')::integer = 0 THEN
                n := pgmigrate._canary_finish_rollback(c, 'TIMED_OUT', d->>'reason', caller);
            ELSE
                n := pgmigrate._canary_apply(c, 'TIMED_OUT', c.percentage, false, NULL, 'timed_out', d->>'reason', caller);
            END IF;
        WHEN 'pause' THEN
            n := pgmigrate._canary_apply(c, 'PAUSED', c.percentage, false, (d->>'failed_checks')::integer, 'paused', d->>'reason', caller);
        ELSE -- hold
            IF (d->>'new_window')::boolean OR (d->>'failed_checks')::integer <> c.failed_checks THEN
                n := pgmigrate._canary_apply(c, 'RUNNING', c.percentage, (d->>'new_window')::boolean, (d->>'failed_checks')::integer,
                                             'check_failed', d->>'reason', caller);
            END IF;
        END CASE;
    END IF;
    INSERT INTO pgmigrate.canary_evaluations (canary_id, window_no, percentage, verdict, score, action, applied, reason, observation, role_name)
    VALUES (c.canary_id, c.window_no, c.percentage, ev->>'verdict', (ev->>'score')::double precision, act, apply, d->>'reason', obs, caller::text)
    RETURNING evaluation_id INTO eval_id;
    INSERT INTO pgmigrate.canary_evaluation_metrics (evaluation_id, metric, value, baseline, score, weight, critical, note)
    SELECT eval_id, m->>'name', (m->>'value')::double precision, (m->>'baseline')::double precision, (m->>'score')::double precision,
           (m->>'weight')::double precision, (m->>'critical')::boolean, m->>'note'
      FROM jsonb_array_elements(ev->'metrics') m;
    RETURN jsonb_build_object('canary', c.name, 'evaluation_id', eval_id, 'state', n.state, 'percentage', n.percentage,
        'action', act, 'applied', apply, 'verdict', ev->'verdict', 'score', ev->'score', 'reason', d->'reason',
        'failed_checks', n.failed_checks, 'metrics', ev->'metrics', 'reasons', ev->'reasons',
        'next_tick_in', CASE WHEN act = 'hold' THEN greatest(0.1, least(5, extract(epoch FROM c.step_interval) - window_age)) ELSE 0 END);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_tick(pgmigrate.canaries, boolean, regrole) FROM PUBLIC;
