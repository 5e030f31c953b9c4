-- A deployment's state moves only along the blue-green state machine:
--   capturing -> copying -> indexing -> migrating -> replaying -> ready -> switched
--   switched <-> rolled_back, switched -> finished
--   any preparing state -> failed -> back to the state that failed
--   any state before a switch, failed and rolled_back -> aborted
CREATE OR REPLACE FUNCTION pgmigrate.blue_green_state_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'capturing' THEN
            RAISE EXCEPTION 'a deployment starts in state capturing, not %', NEW.state USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.state = NEW.state
       OR (OLD.state, NEW.state) IN (('capturing', 'copying'), ('copying', 'indexing'), ('indexing', 'migrating'),
                                     ('migrating', 'replaying'), ('replaying', 'ready'), ('ready', 'switched'),
                                     ('switched', 'rolled_back'), ('rolled_back', 'switched'), ('switched', 'finished'))
       OR (OLD.state IN ('capturing', 'copying', 'indexing', 'migrating', 'replaying') AND NEW.state = 'failed')
       OR (OLD.state = 'failed' AND NEW.state = OLD.failed_state)
       OR (OLD.state IN ('capturing', 'copying', 'indexing', 'migrating', 'replaying', 'ready', 'failed', 'rolled_back')
           AND NEW.state = 'aborted') THEN
        NEW.updated_at := clock_timestamp();
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'blue-green deployment % cannot go from % to %', OLD.deployment_id, OLD.state, NEW.state
        USING ERRCODE = 'check_violation', HINT = 'Use the pgmigrate.blue_green_* functions.';
END $$;

CREATE OR REPLACE TRIGGER blue_green_state BEFORE INSERT OR UPDATE ON pgmigrate.blue_green_deployments
    FOR EACH ROW EXECUTE FUNCTION pgmigrate.blue_green_state_guard();
