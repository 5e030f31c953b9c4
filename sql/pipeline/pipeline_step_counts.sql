-- A batch's documents per step, from the work tables after the transform: for each step,
-- in (documents that reached it), out (documents it produced) and failed (documents it
-- failed on, skipped). Slices undone while bisecting for a failing document do not count
-- in _pgm_pipe_cnt, so a document that failed at step j is added back as out of every
-- step before j (it passed them).

CREATE OR REPLACE FUNCTION pgmigrate._pipeline_step_counts(c jsonb, n_in integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH st AS (
        SELECT x.k::int AS k, x.s->>'name' AS name,
               (SELECT coalesce(sum(n.n), 0) FROM pg_temp._pgm_pipe_cnt n WHERE n.step = x.k) AS good,
               (SELECT count(*) FROM pg_temp._pgm_pipe_err e WHERE e.step = x.s->>'name') AS failed
          FROM jsonb_array_elements(c->'steps') WITH ORDINALITY x(s, k)),
    outs AS (
        SELECT st.*, st.good + coalesce(sum(st.failed) OVER (ORDER BY st.k ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0) AS out
          FROM st)
    SELECT coalesce(jsonb_agg(jsonb_build_object('step', o.name, 'in', o.in_, 'out', o.out, 'failed', o.failed) ORDER BY o.k), '[]')
      FROM (SELECT outs.*, coalesce(lag(outs.out) OVER (ORDER BY outs.k),
                                    n_in - (SELECT count(*) FROM pg_temp._pgm_pipe_err e WHERE e.step = 'validation.input')) AS in_
              FROM outs) o;
$$;

REVOKE EXECUTE ON FUNCTION pgmigrate._pipeline_step_counts(jsonb, integer) FROM PUBLIC;

-- Per run and step: documents in, out and failed, summed over the run's finished batches
-- (visible while the run goes on).
CREATE OR REPLACE VIEW pgmigrate.pipeline_steps AS
SELECT b.run_id, s.k::int AS step_no, s.v->>'step' AS step,
       sum((s.v->>'in')::bigint) AS docs_in, sum((s.v->>'out')::bigint) AS docs_out, sum((s.v->>'failed')::bigint) AS docs_failed
  FROM pgmigrate.pipeline_batches b
 CROSS JOIN LATERAL jsonb_array_elements(b.step_counts) WITH ORDINALITY s(v, k)
 WHERE b.status = 'DONE'
 GROUP BY b.run_id, s.k, s.v->>'step';
