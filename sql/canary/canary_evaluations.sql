-- Every judgement of a canary: the verdict, the weighted score, what the tick did.
CREATE TABLE pgmigrate.canary_evaluations (
    evaluation_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    canary_id      bigint NOT NULL REFERENCES pgmigrate.canaries (canary_id),
    evaluated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    window_no      integer NOT NULL,
    percentage     integer NOT NULL,
    verdict        text NOT NULL CHECK (verdict IN ('PASS', 'MARGINAL', 'FAIL', 'INCONCLUSIVE')),
    score          double precision,
    action         text,
    applied        boolean NOT NULL,
    reason         text,
    observation    jsonb NOT NULL,
    role_name      text NOT NULL
);
CREATE INDEX canary_evaluations_canary_idx ON pgmigrate.canary_evaluations (canary_id, evaluation_id);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_evaluations', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.canary_evaluations_evaluation_id_seq', '');
