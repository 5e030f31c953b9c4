-- Values the built-in transformations refuse instead of passing on something no document
-- should hold (called from compiled pipelines as their author: EXECUTE stays with PUBLIC).
-- to_number: "NaN" and "Infinity" read as numeric but are no JSON number (to_jsonb made
-- them strings). date_format without "from": "infinity" printed as null (the value lost),
-- and "now", "today", "tomorrow", "yesterday" read as the moment the batch ran.

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_number(v text) RETURNS jsonb
IMMUTABLE STRICT LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n numeric := v::numeric;
BEGIN
    IF n IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'to_number: "%" is not a finite number, which JSON cannot hold', v
            USING ERRCODE = 'invalid_text_representation';
    END IF;
    RETURN to_jsonb(n);
END $$;

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_timestamp(v text) RETURNS timestamptz
STABLE STRICT LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t timestamptz;
BEGIN
    IF v ~* '(^|[^a-z])(now|today|tomorrow|yesterday)([^a-z]|$)' THEN
        RAISE EXCEPTION 'date_format: "%" is not a date (it means the moment the batch runs)', v
            USING ERRCODE = 'invalid_datetime_format', HINT = 'Give "from" with the format the values are written in.';
    END IF;
    t := v::timestamptz;
    IF NOT isfinite(t) THEN
        RAISE EXCEPTION 'date_format: "%" is not a finite date', v USING ERRCODE = 'datetime_field_overflow';
    END IF;
    RETURN t;
END $$;
