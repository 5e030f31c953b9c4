-- Starts a deployment (blue_green_prepare's first step): checks everything first, so a
-- refusal creates nothing. Returns the new deployment's id.
CREATE OR REPLACE FUNCTION pgmigrate._bg_begin(migration text, options jsonb, caller regrole) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    asv pgmigrate.active_schema_version;
    src_schema text;
    tgt_schema text;
    names text[];
    nokey text[];
    noright text[];
    tabs jsonb := '[]';
    t text;
    rel regclass;
    keycols text[];
    k text;
    v jsonb;
    id bigint;
BEGIN
    options := pgmigrate._bg_options(options, ARRAY['tables', 'mapping', 'batch_size', 'pause_ms', 'max_batches', 'source_schema',
                                                     'reset', 'lock_timeout_ms', 'lock_attempts'], 'blue_green_prepare');
    PERFORM pgmigrate._bg_int_option(options, 'batch_size', 10000, 1, 10000000),
            pgmigrate._bg_int_option(options, 'pause_ms', 0, 0, 3600000),
            pgmigrate._bg_int_option(options, 'max_batches', NULL, 1, 2147483647),
            pgmigrate._bg_int_option(options, 'lock_timeout_ms', 200, 1, 600000),
            pgmigrate._bg_int_option(options, 'lock_attempts', 10, 1, 1000),
            pgmigrate._bg_bool_option(options, 'reset', false);
    SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_name = migration;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'migration "%" does not exist', migration USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with pgmigrate.register_migration.';
    END IF;
    IF m.status NOT IN ('PENDING', 'FAILED', 'ROLLED_BACK') THEN
        RAISE EXCEPTION 'migration "%" is %', migration, m.status USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'A blue-green deployment applies a migration that has not run yet.';
    END IF;
    SELECT * INTO asv FROM pgmigrate.active_schema_version WHERE active_schema_version.id = 1 FOR UPDATE;
    src_schema := asv.current_schema_name;
    IF options ? 'source_schema' THEN
        IF jsonb_typeof(options->'source_schema') <> 'string' THEN
            RAISE EXCEPTION 'option "source_schema" must be a schema name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF options->>'source_schema' <> src_schema AND src_schema IN ('migration_blue', 'migration_green') THEN
            RAISE EXCEPTION 'option "source_schema" is "%", but the live schema is "%"', options->>'source_schema', src_schema
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Once a color is live, deployments start from it.';
        END IF;
        src_schema := options->>'source_schema';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = src_schema) THEN
        RAISE EXCEPTION 'schema "%" does not exist', src_schema USING ERRCODE = 'invalid_schema_name';
    END IF;
    tgt_schema := CASE WHEN src_schema = 'migration_green' THEN 'migration_blue' ELSE 'migration_green' END;
    -- The tables: named, or every ordinary table of the live schema.
    IF options ? 'tables' THEN
        IF jsonb_typeof(options->'tables') <> 'array' OR EXISTS (SELECT 1 FROM jsonb_array_elements(options->'tables') e WHERE jsonb_typeof(e) <> 'string') THEN
            RAISE EXCEPTION 'option "tables" must be an array of table names' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT array_agg(DISTINCT e) INTO names FROM jsonb_array_elements_text(options->'tables') e;
        FOREACH t IN ARRAY coalesce(names, '{}') LOOP
            IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = src_schema::regnamespace AND c.relname = t AND c.relkind = 'r') THEN
                RAISE EXCEPTION 'table "%" does not exist in schema "%"', t, src_schema USING ERRCODE = 'undefined_table';
            END IF;
        END LOOP;
    ELSE
        SELECT array_agg(c.relname ORDER BY c.relname) INTO names FROM pg_class c
         WHERE c.relnamespace = src_schema::regnamespace AND c.relkind = 'r';
    END IF;
    IF coalesce(cardinality(names), 0) = 0 THEN
        RAISE EXCEPTION 'schema "%" has no table to deploy', src_schema USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT array_agg(x ORDER BY x) INTO names FROM unnest(names) x;
    -- The mapping: {"table": {"up": {"col": "expr"}, "down": {...}}}.
    IF options ? 'mapping' THEN
        IF jsonb_typeof(options->'mapping') <> 'object' THEN
            RAISE EXCEPTION 'option "mapping" must be an object keyed by table name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR t, v IN SELECT * FROM jsonb_each(options->'mapping') LOOP
            IF NOT t = ANY (names) THEN
                RAISE EXCEPTION 'option "mapping" names table "%", which is not deployed', t USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF jsonb_typeof(v) <> 'object' OR EXISTS (SELECT 1 FROM jsonb_object_keys(v) x WHERE x NOT IN ('up', 'down')) THEN
                RAISE EXCEPTION 'mapping."%" must be an object with "up" and/or "down"', t USING ERRCODE = 'invalid_parameter_value';
            END IF;
            FOR k IN SELECT x FROM jsonb_object_keys(v) x LOOP
                IF jsonb_typeof(v->k) <> 'object' OR EXISTS (SELECT 1 FROM jsonb_each(v->k) e WHERE jsonb_typeof(e.value) <> 'string') THEN
                    RAISE EXCEPTION 'mapping."%".% must map column names to SQL expressions (strings)', t, k
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
            END LOOP;
        END LOOP;
    END IF;
    -- Every table needs a key: its primary key, or a unique index on NOT NULL columns.
    FOREACH t IN ARRAY names LOOP
        rel := format('%I.%I', src_schema, t)::regclass;
        SELECT array_agg(a.attname ORDER BY x.ord) INTO keycols
          FROM (SELECT i.indexrelid, i.indkey FROM pg_index i
                 WHERE i.indrelid = rel AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
                   AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) c JOIN pg_attribute a2 ON a2.attrelid = rel AND a2.attnum = c
                                    WHERE NOT a2.attnotnull)
                 ORDER BY i.indisprimary DESC, i.indnatts, i.indexrelid LIMIT 1) ix,
               unnest(ix.indkey::int2[]) WITH ORDINALITY x(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = x.attnum;
        IF keycols IS NULL THEN
            nokey := nokey || t;
        END IF;
        IF NOT has_table_privilege(caller, rel, 'SELECT, INSERT, UPDATE, DELETE') THEN
            noright := noright || t;
        END IF;
        tabs := tabs || jsonb_build_array(jsonb_build_object('name', t, 'src', format('%I.%I', src_schema, t),
                    'tgt', format('%I.%I', tgt_schema, t), 'key', to_jsonb(keycols), 'rows', 0));
    END LOOP;
    IF nokey IS NOT NULL THEN
        RAISE EXCEPTION 'tables without a primary key or unique index on NOT NULL columns: %', array_to_string(nokey, ', ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Blue-green sync identifies rows by their key: add a primary key, or leave these tables out with "tables".';
    END IF;
    IF noright IS NOT NULL THEN
        RAISE EXCEPTION 'role % may not read and write tables: %', caller, array_to_string(noright, ', ')
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Mapping expressions and sync run with the privileges of the role that prepares the deployment.';
    END IF;
    -- The target color must be empty, unless reset.
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = tgt_schema AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) THEN
        IF NOT pgmigrate._bg_bool_option(options, 'reset', false) THEN
            RAISE EXCEPTION 'target color "%" is not empty', tgt_schema USING ERRCODE = 'object_not_in_prerequisite_state',
                HINT = 'Drop its tables, or pass {"reset": true} to have blue_green_prepare drop them.';
        END IF;
        FOR t IN SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = tgt_schema AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                    AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid) LOOP
            EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                CASE (SELECT relkind FROM pg_class WHERE oid = t::regclass) WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, t);
        END LOOP;
    END IF;
    BEGIN
        INSERT INTO pgmigrate.blue_green_deployments (migration_id, migration_name, source_schema, target_schema, live_schema,
                                                       author, options, tables)
        VALUES (m.migration_id, m.migration_name, src_schema, tgt_schema, src_schema, caller, options, tabs)
        RETURNING deployment_id INTO id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'another blue-green deployment is in progress' USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'See pgmigrate.blue_green_status(); finish or abort it first.';
    END;
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = tgt_schema) THEN
        EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', tgt_schema,
                       (SELECT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = src_schema));
    END IF;
    -- The color is used like the live schema: same USAGE/CREATE grants.
        EXECUTE coalesce((SELECT string_agg(format('GRANT %s ON SCHEMA %I TO %s', a.privilege_type, tgt_schema,
                                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END), '; ')
                   FROM pg_namespace n, aclexplode(n.nspacl) a
                  WHERE n.nspname = src_schema AND a.grantee <> n.nspowner), 'SELECT');
    UPDATE pgmigrate.active_schema_version SET current_schema_name = src_schema, migration_in_progress = true,
           migration_id = m.migration_id WHERE active_schema_version.id = 1;
    PERFORM pgmigrate._audit('blue_green.prepare_started', jsonb_build_object('deployment', id, 'migration', m.migration_name,
        'source', src_schema, 'target', tgt_schema, 'tables', to_jsonb(names)), caller);
    RETURN id;
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._bg_begin(text, jsonb, regrole) FROM PUBLIC;
