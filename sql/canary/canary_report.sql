-- An application reports one request's outcome for `key`: attributed to the side the key
-- routes to now, in the canary's current check window. One appended row, no shared row
-- updated, so many sessions report at once without waiting on each other. Reports for a
-- canary that has finished are ignored.
CREATE OR REPLACE FUNCTION pgmigrate._canary_report(name text, key text, ok boolean, duration_ms double precision,
                                                    caller regrole, caller_path text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    IF name IS NULL OR key IS NULL OR ok IS NULL OR duration_ms IS NULL OR duration_ms < 0 OR duration_ms = 'Infinity' OR duration_ms = 'NaN' THEN
        RAISE EXCEPTION 'canary_report needs a name, a key, ok and a finite duration_ms >= 0 (got %, %, %, %)',
            coalesce(quote_literal(name), 'NULL'), coalesce(quote_literal(key), 'NULL'), coalesce(ok::text, 'NULL'), coalesce(duration_ms::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO pgmigrate.canary_metrics (canary_id, window_no, canary, ok, duration_ms)
    SELECT c.canary_id, c.window_no, pgmigrate.canary_bucket(c.salt, key) <= c.percentage, ok, duration_ms
      FROM pgmigrate.canaries c WHERE c.name = name AND c.state IN ('RUNNING', 'PAUSED', 'TIMED_OUT');
    IF NOT FOUND AND NOT EXISTS (SELECT FROM pgmigrate.canaries c WHERE c.name = name) THEN
        RAISE EXCEPTION 'canary "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_report(text, text, boolean, double precision, regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate.canary_report(name text, key text, ok boolean, duration_ms double precision) RETURNS void
LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner';

REVOKE EXECUTE ON FUNCTION pgmigrate.canary_report(text, text, boolean, double precision) FROM PUBLIC;
