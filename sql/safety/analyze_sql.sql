-- Statement classification, 0.4.0: read from PostgreSQL's parse tree, per step.
-- 0.3.0's analyze_sql(text) gives way to analyze_sql(text, boolean DEFAULT true): both
-- would match a one-argument call.
DO $$
BEGIN
    IF pg_catalog.to_regprocedure('pgmigrate.analyze_sql(text)') IS NOT NULL THEN
        DROP FUNCTION pgmigrate.analyze_sql(text);
    END IF;
END $$;

-- steps: a migration's steps ([{type, script, condition, transaction}] or plain strings),
-- each analysed in the context of the steps before it. Unqualified names (tables,
-- functions in defaults) resolve along search_path: the given one (a migration's stored
-- search_path), or the caller's when NULL. Read-only: PUBLIC keeps EXECUTE.
CREATE OR REPLACE FUNCTION pgmigrate.analyze_steps(steps jsonb, search_path text DEFAULT NULL) RETURNS jsonb STABLE
LANGUAGE c AS 'MODULE_PATHNAME', 'analyze_steps_wrapper';

-- One script, run in a transaction block (the engine's step) unless transaction => false.
CREATE OR REPLACE FUNCTION pgmigrate.analyze_sql(script text, transaction boolean DEFAULT true) RETURNS jsonb STABLE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', 'analyze_sql_wrapper';
