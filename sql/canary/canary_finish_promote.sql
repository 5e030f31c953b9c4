-- Promotion: every key to the new color (PROMOTED, 100%).
CREATE OR REPLACE FUNCTION pgmigrate._canary_finish_promote(c pgmigrate.canaries, reason text, caller regrole) RETURNS pgmigrate.canaries
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN pgmigrate._canary_apply(c, 'PROMOTED', 100, false, NULL, 'promoted', reason, caller);
END $$;

REVOKE EXECUTE ON FUNCTION pgmigrate._canary_finish_promote(pgmigrate.canaries, text, regrole) FROM PUBLIC;
