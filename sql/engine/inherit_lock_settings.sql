-- A migration's own lockTimeout / lockRetries, for its steps that do not set their own.

CREATE OR REPLACE FUNCTION pgmigrate._inherit_lock_settings(steps jsonb, definition jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof(steps) <> 'array' OR NOT (definition ?| ARRAY['lockTimeout', 'lockRetries']) THEN steps
        ELSE (SELECT coalesce(jsonb_agg(CASE jsonb_typeof(s)
                      WHEN 'string' THEN jsonb_build_object('type', 'SQL', 'script', s) ELSE s END
                  || CASE WHEN jsonb_typeof(s) IN ('string', 'object')
                          THEN jsonb_strip_nulls(jsonb_build_object('lockTimeout', definition->'lockTimeout',
                                                                    'lockRetries', definition->'lockRetries'))
                               - ARRAY(SELECT jsonb_object_keys(CASE jsonb_typeof(s) WHEN 'object' THEN s ELSE '{}' END))
                          ELSE '{}'::jsonb END ORDER BY n), '[]')
                FROM jsonb_array_elements(steps) WITH ORDINALITY AS e(s, n)) END
$$;
