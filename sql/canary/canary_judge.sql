-- One tick's judgement (src/canary/judge.rs): {"evaluation": ..., "decision": ...}.
CREATE OR REPLACE FUNCTION pgmigrate._canary_judge(options jsonb, percentage integer, observation jsonb, progress jsonb) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', '_canary_judge_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_judge(jsonb, integer, jsonb, jsonb) FROM PUBLIC;
