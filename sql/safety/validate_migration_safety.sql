-- The pre-flight report, 0.4.0: the entity-store checks run only for migrations that
-- touch the entity store, over a bounded sample, and the check that could never fire is gone;
-- statements are analyzed step by step from PostgreSQL's parse tree (analyze_steps).

CREATE OR REPLACE FUNCTION pgmigrate.validate_migration_safety(name text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    m pgmigrate.knowledge_migrations;
    phase text;
    steps jsonb;
    a jsonb;
    f record;
    syntax jsonb := '[]';
    locks jsonb := '[]';
    perf jsonb := '[]';
    deps jsonb := '[]';
    rb jsonb := '[]';
    integrity jsonb := '[]';
    seconds numeric := 0;
    n bigint;
    examples jsonb;
    results jsonb;
    issues jsonb;
    integrity_sample constant int := 10000;
BEGIN
    SELECT * INTO m FROM pgmigrate.knowledge_migrations WHERE migration_name = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'migration "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;

    FOREACH phase IN ARRAY ARRAY['forward', 'rollback', 'validation'] LOOP
        -- Step by step: each step's script parsed on its own (a trailing "-- comment" or
        -- ";" is fine), in the context of the steps before it (tables they created,
        -- constraints they added NOT VALID, where the engine commits).
        steps := pgmigrate.migration_steps(m, phase);
        CONTINUE WHEN jsonb_array_length(steps) = 0;
        FOR a IN SELECT * FROM jsonb_array_elements(pgmigrate.analyze_steps(steps, coalesce(m.stored_search_path, 'pg_catalog, pg_temp'))) LOOP
            IF NOT (a->>'syntax_ok')::boolean THEN
                syntax := syntax || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL',
                    'code', CASE phase WHEN 'rollback' THEN 'INVALID_ROLLBACK_SCRIPT' ELSE 'SYNTAX_ERROR' END,
                    'message', format('%s %s: %s', phase, CASE a->>'error_in' WHEN 'condition' THEN 'condition' ELSE 'script' END, a->>'error'),
                    'details', jsonb_build_object('phase', phase, 'step', (a->>'step')::int, 'position', (a->>'position')::int)));
                CONTINUE;
            END IF;
            FOR f IN SELECT (st->>'index')::int AS idx, st->>'sql' AS sql, fi
                       FROM jsonb_array_elements(a->'statements') st, jsonb_array_elements(st->'findings') fi LOOP
                IF phase = 'rollback' THEN
                    IF (f.fi->>'data_loss')::boolean THEN
                        rb := rb || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'ROLLBACK_DATA_LOSS_RISK',
                            'message', format('rollback may cause data loss: %s', f.fi->>'action'),
                            'details', jsonb_build_object('step', (a->>'step')::int, 'statement', f.idx, 'sql', f.sql, 'table', f.fi->'table')));
                    END IF;
                    IF f.fi->>'severity' = 'CRITICAL' THEN
                        rb := rb || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL', 'code', f.fi->>'code',
                            'message', format('rollback step %s cannot run: %s', a->>'step', f.fi->>'action'),
                            'details', jsonb_build_object('step', (a->>'step')::int, 'statement', f.idx, 'sql', f.sql),
                            'recommendation', f.fi->'recommendation'));
                    END IF;
                    CONTINUE;
                END IF;
                IF f.fi->>'severity' <> 'LOW' THEN
                    locks := locks || jsonb_build_array(jsonb_build_object('severity', f.fi->>'severity', 'code', f.fi->>'code',
                        'message', CASE WHEN f.fi->>'code' IN ('TRANSACTION_CONTROL', 'NEEDS_AUTOCOMMIT', 'AUTOCOMMIT_NOT_ALONE')
                                        THEN format('%s%s cannot run inside the migration''s transaction', f.fi->>'action',
                                                    ' on ' || (f.fi->>'table'))
                                        ELSE format('%s on %s takes %s lock%s', f.fi->>'action', coalesce(f.fi->>'table', '?'), f.fi->>'lock',
                                                    CASE WHEN (f.fi->>'rewrite')::boolean THEN ' and rewrites the table'
                                                         WHEN (f.fi->>'scan')::boolean THEN ' and scans the table' ELSE '' END) END,
                        'details', jsonb_build_object('phase', phase, 'step', (a->>'step')::int, 'statement', f.idx, 'sql', f.sql, 'table', f.fi->'table',
                            'lock', f.fi->'lock', 'rewrite', f.fi->'rewrite', 'scan', f.fi->'scan'),
                        'recommendation', f.fi->'recommendation'));
                END IF;
                -- Duration: ~50 MB/s to scan, three times that work to rewrite and re-index.
                IF (f.fi->>'rewrite')::boolean OR (f.fi->>'scan')::boolean THEN
                    seconds := seconds + coalesce((SELECT c.relpages::numeric * 8192 / (50 * 1024 * 1024)
                                                          * CASE WHEN (f.fi->>'rewrite')::boolean THEN 3 ELSE 1 END
                                                     FROM pg_class c WHERE c.oid = to_regclass(f.fi->>'table')), 0);
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
    IF seconds > 3600 THEN
        perf := perf || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'LONG_MIGRATION_TIME',
            'message', format('Migration estimated to take %s minutes', round(seconds / 60)),
            'details', jsonb_build_object('estimatedDuration', round(seconds))));
    END IF;

    FOR f IN SELECT dep, d.migration_name, d.status FROM unnest(m.depends_on) dep
               LEFT JOIN pgmigrate.knowledge_migrations d ON d.migration_id = dep LOOP
        IF f.status IS DISTINCT FROM 'COMPLETED' THEN
            deps := deps || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL',
                'code', CASE WHEN f.status IS NULL THEN 'MISSING_DEPENDENCY' ELSE 'DEPENDENCY_NOT_COMPLETED' END,
                'message', format('dependency %s is %s', coalesce(f.migration_name, f.dep::text), coalesce(f.status, 'missing'))));
        END IF;
    END LOOP;

    IF jsonb_array_length(pgmigrate.migration_steps(m, 'rollback')) = 0 THEN
        rb := rb || jsonb_build_array(jsonb_build_object('severity', 'CRITICAL', 'code', 'NO_ROLLBACK_SCRIPT',
            'message', 'No rollback script provided'));
    END IF;
    SELECT rb || coalesce(jsonb_agg(s), '[]') INTO rb FROM jsonb_array_elements(syntax) s WHERE s->>'code' = 'INVALID_ROLLBACK_SCRIPT';
    SELECT coalesce(jsonb_agg(s), '[]') INTO syntax FROM jsonb_array_elements(syntax) s WHERE s->>'code' = 'SYNTAX_ERROR';

    -- The entity store, only when the migration touches it (its scripts name
    -- temporal_entities, or it is a DATA / HYBRID migration), and bounded: at most
    -- integrity_sample current documents (newest first) are validated, and the report
    -- says how many were checked. (A unique index already forbids two current versions.)
    IF m.migration_type IN ('DATA', 'HYBRID')
       OR concat_ws(' ', m.forward_script, m.rollback_script, m.validation_script, m.definition::text) ILIKE '%temporal_entities%' THEN
        SELECT count(*), jsonb_agg(entity_id) FILTER (WHERE rn <= 5) INTO n, examples
          FROM (SELECT DISTINCT a.entity_id, dense_rank() OVER (ORDER BY a.entity_id) AS rn
                  FROM (SELECT * FROM pgmigrate.temporal_entities ORDER BY row_id DESC LIMIT integrity_sample) a
                  JOIN pgmigrate.temporal_entities b
                    ON a.entity_id = b.entity_id AND a.row_id <> b.row_id
                   AND tstzrange(a.valid_from, a.valid_to) && tstzrange(b.valid_from, b.valid_to)) o;
        IF n > 0 THEN
            integrity := integrity || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'DATA_INCONSISTENCY',
                'message', format('Data inconsistency found: %s entities with overlapping validity intervals', n),
                'details', jsonb_build_object('kind', 'overlapping_validity', 'count', n, 'examples', examples,
                                              'rows_checked_limit', integrity_sample)));
        END IF;
        SELECT count(*), jsonb_agg(entity_id) FILTER (WHERE rn <= 5) INTO n, examples
          FROM (SELECT entity_id, row_number() OVER (ORDER BY row_id) AS rn
                  FROM (SELECT * FROM pgmigrate.temporal_entities
                         WHERE valid_to = 'infinity' AND NOT is_deleted ORDER BY row_id DESC LIMIT integrity_sample) t
                 WHERE cardinality(pgmigrate.document_violations(entity_type, content)) > 0) v;
        IF n > 0 THEN
            integrity := integrity || jsonb_build_array(jsonb_build_object('severity', 'HIGH', 'code', 'DATA_INCONSISTENCY',
                'message', format('Data inconsistency found: %s current documents break the active schema', n),
                'details', jsonb_build_object('kind', 'schema_violations', 'count', n, 'examples', examples,
                                              'rows_checked_limit', integrity_sample)));
        END IF;
    END IF;

    results := jsonb_build_array(
        jsonb_build_object('checkName', 'SyntaxCheck', 'issues', syntax),
        jsonb_build_object('checkName', 'LockAndRewriteCheck', 'issues', locks),
        jsonb_build_object('checkName', 'PerformanceImpactCheck', 'issues', perf),
        jsonb_build_object('checkName', 'DependencyValidation', 'issues', deps),
        jsonb_build_object('checkName', 'RollbackCapabilityCheck', 'issues', rb),
        jsonb_build_object('checkName', 'DataIntegrityCheck', 'issues', integrity));
    SELECT jsonb_agg(r || jsonb_build_object('passed', NOT EXISTS (
               SELECT 1 FROM jsonb_array_elements(r->'issues') i WHERE i->>'severity' = 'CRITICAL')))
      INTO results FROM jsonb_array_elements(results) r;
    SELECT coalesce(jsonb_agg(i), '[]') INTO issues
      FROM jsonb_array_elements(results) r, jsonb_array_elements(r->'issues') i WHERE i->>'severity' = 'CRITICAL';
    RETURN jsonb_build_object(
        'migration', name,
        'overallSafety', jsonb_array_length(issues) = 0,
        'criticalIssues', issues,
        'allResults', results,
        'recommendations', (
            SELECT coalesce(jsonb_agg(DISTINCT jsonb_strip_nulls(CASE i->>'code'
                WHEN 'DATA_INCONSISTENCY' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'HIGH',
                    'message', 'Fix data inconsistencies before proceeding with migration', 'action', 'RUN_DATA_CLEANUP')
                WHEN 'LONG_MIGRATION_TIME' THEN jsonb_build_object('type', 'SCHEDULE_MAINTENANCE', 'priority', 'MEDIUM',
                    'message', 'Schedule migration during maintenance window', 'action', 'PLAN_DOWNTIME')
                WHEN 'NO_ROLLBACK_SCRIPT' THEN jsonb_build_object('type', 'IMPLEMENT_REQUIRED', 'priority', 'CRITICAL',
                    'message', 'Implement rollback script before migration', 'action', 'CREATE_ROLLBACK_SCRIPT')
                WHEN 'ROLLBACK_DATA_LOSS_RISK' THEN jsonb_build_object('type', 'REVIEW_REQUIRED', 'priority', 'HIGH',
                    'message', 'Back up the data the rollback removes', 'action', 'BACKUP_BEFORE_ROLLBACK')
                WHEN 'SYNTAX_ERROR' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'FIX_SYNTAX')
                WHEN 'INVALID_ROLLBACK_SCRIPT' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'FIX_SYNTAX')
                WHEN 'MISSING_DEPENDENCY' THEN jsonb_build_object('type', 'FIX_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'REGISTER_DEPENDENCY')
                WHEN 'DEPENDENCY_NOT_COMPLETED' THEN jsonb_build_object('type', 'ORDER_REQUIRED', 'priority', 'CRITICAL',
                    'message', i->>'message', 'action', 'RUN_DEPENDENCIES_FIRST')
                ELSE jsonb_build_object('type', 'REWRITE_STATEMENT', 'priority', i->>'severity',
                    'message', i->>'recommendation', 'action', i->>'code') END)), '[]')
              FROM jsonb_array_elements(results) r, jsonb_array_elements(r->'issues') i));
END $$;
