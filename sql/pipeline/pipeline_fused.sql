-- A batch of a pipeline made only of FILTER steps and built-in MAP rules, in one statement
-- run by the extension's owner: lock and read the batch's current documents, transform
-- them, close the versions that changed and write the new ones, count each step's output
-- (returned as the batch's step_counts: no work table is used).
-- Such a pipeline calls no user function and reads no user table (compile.rs decides:
-- builtinOnly), so running it as the owner gives its author nothing; it saves the work
-- tables' copies of every document. Raises whatever the statement raises (the caller
-- then redoes the batch on the general path, where SKIP / RETRY / FAIL apply).
-- A document given a new version while the statement waited for its row lock is not among
-- those it read (the row it waited for is closed, the new one is newer than its snapshot):
-- the statement runs again for such documents, and its counts and rows are added up.
-- (The SET clauses keep its lock_timeout and enable_memoize to the call: a TRANSFORM step's
-- migration and a caller's transaction go on with their own.)

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_fused(c jsonb, batch_ids uuid[], etype text, lock_timeout_ms integer,
                                                     OUT n_in integer, OUT n_out integer, OUT n bigint,
                                                     OUT ids uuid[], OUT old_rows bigint[], OUT new_rows bigint[], OUT new_xmins xid[],
                                                     OUT step_counts jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '1s' SET enable_memoize = off AS $$
#variable_conflict use_variable
DECLARE
    last text := c->'stepOut'->>(jsonb_array_length(c->'stepOut') - 1);
    body text;
    outs bigint[];
    seen uuid[];
    todo uuid[];
    rounds integer := 0;
    a_in integer; a_out integer; a_n bigint; a_ids uuid[]; a_old bigint[]; a_new bigint[]; a_xmins xid[]; a_outs bigint[];
BEGIN
    IF NOT (c->>'builtinOnly')::boolean THEN
        RAISE EXCEPTION 'pipeline "%" calls functions or reads tables of its author', c->>'name'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    body := 'WITH s0 AS MATERIALIZED (SELECT (pg_catalog.row_number() OVER (ORDER BY q.entity_id))::integer AS ord, q.entity_id, '
         || 'q.row_id AS rid, q.content AS doc, true AS c FROM (SELECT t.entity_id, t.row_id, t.content '
         || 'FROM pgmigrate.temporal_entities t WHERE t.entity_id OPERATOR(pg_catalog.=) ANY ($1) '
         || 'AND t.valid_to OPERATOR(pg_catalog.=) ''infinity'' AND t.entity_type OPERATOR(pg_catalog.=) $2 AND NOT t.is_deleted '
         || 'FOR UPDATE OF t) q)'
         || (SELECT string_agg(s.value, '' ORDER BY s.n) FROM jsonb_array_elements_text(c->'stepsSql') WITH ORDINALITY s(value, n))
         -- (A step's output keeps its document's ord: the stored row is found by position in
         -- an array, not by a join the planner cannot estimate.)
         || ', closed AS (UPDATE pgmigrate.temporal_entities t SET valid_to = $3 FROM ' || last || ' o, '
         || '(SELECT pg_catalog.array_agg(s0.rid ORDER BY s0.ord) AS rids FROM s0) r '
         || 'WHERE t.row_id OPERATOR(pg_catalog.=) r.rids[o.ord] AND t.valid_to OPERATOR(pg_catalog.=) ''infinity'' '
         || 'AND t.content IS DISTINCT FROM o.doc '
         || 'RETURNING t.row_id, t.entity_id, t.entity_type, t.metadata, o.doc)'
         || ', ins AS (INSERT INTO pgmigrate.temporal_entities (entity_id, entity_type, content, metadata, valid_from) '
         || 'SELECT w.entity_id, w.entity_type, w.doc, w.metadata, $3 FROM closed w RETURNING row_id, entity_id, xmin) '
         || 'SELECT (SELECT pg_catalog.count(*) FROM s0)::integer, (SELECT pg_catalog.count(*) FROM ' || last || ')::integer, '
         -- (The same entities in both, once each: arrays in entity order line up, no join.)
         || '(SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.array_agg(ins.entity_id ORDER BY ins.entity_id) FROM ins), '
         || '(SELECT pg_catalog.array_agg(w.row_id ORDER BY w.entity_id) FROM closed w), '
         || '(SELECT pg_catalog.array_agg(ins.row_id ORDER BY ins.entity_id) FROM ins), '
         || '(SELECT pg_catalog.array_agg(ins.xmin ORDER BY ins.entity_id) FROM ins), '
         -- (Each step's output count; no work table is touched, so the commit truncates none.)
         || 'ARRAY[' || (SELECT string_agg(format('(SELECT pg_catalog.count(*) FROM %s)', s.value), ', ' ORDER BY s.n)
                          FROM jsonb_array_elements_text(c->'stepOut') WITH ORDINALITY s(value, n)) || ']::pg_catalog.int8[], '
         || '(SELECT pg_catalog.array_agg(s0.entity_id) FROM s0)';
    PERFORM set_config('lock_timeout', lock_timeout_ms::text, true);
    EXECUTE body INTO n_in, n_out, n, ids, old_rows, new_rows, new_xmins, outs, seen USING batch_ids, etype, clock_timestamp();
    todo := batch_ids;
    WHILE cardinality(seen) IS DISTINCT FROM cardinality(todo) LOOP
        -- Fewer read than asked for: deleted, retyped, or given a new version meanwhile.
        SELECT array_agg(t.entity_id) INTO todo FROM pgmigrate.temporal_entities t
         WHERE t.entity_id = ANY (ARRAY(SELECT unnest(todo) EXCEPT SELECT unnest(seen)))
           AND t.valid_to = 'infinity' AND t.entity_type = etype AND NOT t.is_deleted;
        EXIT WHEN todo IS NULL;
        rounds := rounds + 1;
        IF rounds >= 10 THEN
            RAISE EXCEPTION 'the documents of this batch kept getting new versions while it waited for them'
                USING ERRCODE = 'serialization_failure';
        END IF;
        EXECUTE body INTO a_in, a_out, a_n, a_ids, a_old, a_new, a_xmins, a_outs, seen USING todo, etype, clock_timestamp();
        n_in := n_in + a_in;
        n_out := n_out + a_out;
        n := n + a_n;
        ids := ids || a_ids;
        old_rows := old_rows || a_old;
        new_rows := new_rows || a_new;
        new_xmins := new_xmins || a_xmins;
        outs := ARRAY(SELECT x + y FROM unnest(outs, a_outs) u(x, y));
    END LOOP;
    -- Per step: in (what reached it), out (what it produced); nothing fails on this path.
    SELECT coalesce(jsonb_agg(jsonb_build_object('step', x.s->>'name', 'in', CASE WHEN x.k = 1 THEN n_in ELSE outs[x.k - 1] END,
                                                 'out', outs[x.k], 'failed', 0) ORDER BY x.k), '[]')
      INTO step_counts FROM jsonb_array_elements(c->'steps') WITH ORDINALITY x(s, k);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_fused(jsonb, uuid[], text, integer) FROM PUBLIC;
