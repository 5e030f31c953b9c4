-- The session's work tables for a batch: input (ord, entity id, row, document), output,
-- skipped items, and the documents out of each step. Created by the extension's owner;
-- the pipeline's author may only read the input and add to the output and the counts
-- (its own query does that). Emptied at every commit.

-- Work tables are the session's temporary tables, which the calling role could have
-- created first (with a trigger, a rule, or as a view) for the extension's owner to fire:
-- one of these names that the owner (the role running this) does not own as a plain table
-- is refused, before anything touches it.
CREATE OR REPLACE FUNCTION pgmigrate._pipeline_temp_check(names text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad record;
BEGIN
    SELECT c.relname, c.relowner::regrole AS owner INTO bad FROM pg_class c
     WHERE c.relnamespace = pg_my_temp_schema() AND c.relname = ANY (names)
       AND (c.relowner <> current_user::regrole::oid OR c.relkind <> 'r' OR c.relhastriggers OR c.relhasrules OR c.relrowsecurity)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'temporary table pg_temp.% was not made by pg_migrate (owner %)', bad.relname, bad.owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('pg_migrate keeps its work tables under these names; DROP TABLE pg_temp.%I and call again.', bad.relname);
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_temp_check(text[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_temp(author regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pgmigrate._pipeline_temp_check(ARRAY['_pgm_pipe_in', '_pgm_pipe_out', '_pgm_pipe_err', '_pgm_pipe_cnt', '_pgm_pipe_src']);
    IF to_regclass('pg_temp._pgm_pipe_in') IS NULL THEN
        CREATE TEMP TABLE _pgm_pipe_in (ord integer PRIMARY KEY, entity_id uuid, row_id bigint, doc jsonb) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE _pgm_pipe_out (ord integer, entity_id uuid, doc jsonb) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE _pgm_pipe_err (ord integer, entity_id uuid, step text, error text, sqlstate text, original jsonb)
            ON COMMIT DELETE ROWS;
    ELSE
        DELETE FROM pg_temp._pgm_pipe_in;
        DELETE FROM pg_temp._pgm_pipe_out;
        DELETE FROM pg_temp._pgm_pipe_err;
    END IF;
    -- (Checked on its own: a session that ran a pipeline before an update to 0.5.0 has the others.)
    IF to_regclass('pg_temp._pgm_pipe_cnt') IS NULL THEN
        CREATE TEMP TABLE _pgm_pipe_cnt (step integer, n bigint) ON COMMIT DELETE ROWS;
    ELSE
        DELETE FROM pg_temp._pgm_pipe_cnt;
    END IF;
    IF NOT has_table_privilege(author, 'pg_temp._pgm_pipe_in', 'SELECT') THEN
        EXECUTE format('GRANT SELECT ON pg_temp._pgm_pipe_in TO %s', author);
    END IF;
    IF NOT has_table_privilege(author, 'pg_temp._pgm_pipe_out', 'INSERT') THEN
        EXECUTE format('GRANT INSERT ON pg_temp._pgm_pipe_out TO %s', author);
    END IF;
    IF NOT has_table_privilege(author, 'pg_temp._pgm_pipe_cnt', 'INSERT') THEN
        EXECUTE format('GRANT INSERT ON pg_temp._pgm_pipe_cnt TO %s', author);
    END IF;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_temp(regrole) FROM PUBLIC;
