-- A canary's state moves only along its state machine:
--   RUNNING -> PAUSED | PROMOTED | ROLLED_BACK | TIMED_OUT
--   PAUSED  -> RUNNING | PROMOTED | ROLLED_BACK
--   TIMED_OUT -> PROMOTED | ROLLED_BACK       (a timed-out canary kept for review)
-- PROMOTED, ROLLED_BACK and TIMED_OUT at 0% (rolled back on timeout) are final: nothing about the routing changes any more. The
-- percentage moves only while RUNNING or PAUSED (or on the way to a final state).
CREATE OR REPLACE FUNCTION pgmigrate.canary_state_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pgmigrate.restoring_copy(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'RUNNING' THEN
            RAISE EXCEPTION 'a canary starts in state RUNNING, not %', NEW.state USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.name, NEW.migration_id, NEW.deployment_id, NEW.baseline_schema, NEW.canary_schema, NEW.salt, NEW.started_at, NEW.started_by)
       IS DISTINCT FROM
       (OLD.name, OLD.migration_id, OLD.deployment_id, OLD.baseline_schema, OLD.canary_schema, OLD.salt, OLD.started_at, OLD.started_by) THEN
        RAISE EXCEPTION 'canary % cannot change its identity, deployment or salt', OLD.name
            USING ERRCODE = 'check_violation', HINT = 'Start a new canary instead.';
    END IF;
    IF OLD.state IN ('PROMOTED', 'ROLLED_BACK') OR (OLD.state = 'TIMED_OUT' AND OLD.percentage = 0) THEN
        RAISE EXCEPTION 'canary % is % and can no longer change', OLD.name, OLD.state
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Start a new canary.';
    END IF;
    IF OLD.state = NEW.state AND OLD.state IN ('RUNNING', 'PAUSED') THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) IN (('RUNNING', 'PAUSED'), ('RUNNING', 'PROMOTED'), ('RUNNING', 'ROLLED_BACK'), ('RUNNING', 'TIMED_OUT'),
                                  ('PAUSED', 'RUNNING'), ('PAUSED', 'PROMOTED'), ('PAUSED', 'ROLLED_BACK'),
                                  ('TIMED_OUT', 'PROMOTED'), ('TIMED_OUT', 'ROLLED_BACK')) THEN
        IF NEW.state IN ('PROMOTED', 'ROLLED_BACK', 'TIMED_OUT') THEN
            NEW.finished_at := clock_timestamp();
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'canary % cannot go from % to %', OLD.name, OLD.state, NEW.state
        USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Use the pgmigrate.canary_* functions.';
END $$;

CREATE OR REPLACE TRIGGER canary_state BEFORE INSERT OR UPDATE ON pgmigrate.canaries
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.canary_state_guard();
