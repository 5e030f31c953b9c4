-- Promotion is the blue-green switch: validate the deployment (both colors agree, the
-- migration's validation rules pass), switch it (the target color becomes live), then
-- the canary is PROMOTED at 100%. A deployment already switched (by hand) is not switched
-- again. Any refusal raises and changes nothing.
CREATE OR REPLACE FUNCTION pgmigrate._canary_finish_promote(c pgmigrate.canaries, reason text, caller regrole) RETURNS pgmigrate.canaries
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d pgmigrate.blue_green_deployments;
    v jsonb;
    sw jsonb;
BEGIN
    SELECT * INTO d FROM pgmigrate.blue_green_deployments WHERE deployment_id = c.deployment_id FOR UPDATE;
    IF d.state IN ('finished', 'aborted') THEN
        RAISE EXCEPTION 'canary "%" cannot be promoted: deployment % is %', c.name, d.deployment_id, d.state
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Roll the canary back: its deployment is over.';
    END IF;
    IF d.state <> 'switched' THEN
        v := pgmigrate._blue_green_validate(caller, '');
        IF NOT (v->>'ok')::boolean THEN
            RAISE EXCEPTION 'canary "%" cannot be promoted: deployment % fails its validation', c.name, d.deployment_id
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = v::text,
                      HINT = 'SELECT pgmigrate.blue_green_status(); roll the canary back or fix the deployment.';
        END IF;
        sw := pgmigrate._blue_green_switch('{}', caller, '');
    END IF;
    RETURN pgmigrate._canary_apply(c, 'PROMOTED', 100, false, NULL, 'promoted',
                                   concat_ws('; ', reason, 'switched ' || (sw->>'from') || ' -> ' || (sw->>'to')), caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_finish_promote(pgmigrate.canaries, text, regrole) FROM PUBLIC;
