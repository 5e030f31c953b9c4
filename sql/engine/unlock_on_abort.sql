-- A run's session-level lock goes with a transaction of the run that aborts (src/engine/
-- run_lock.rs): the run is then resumable by any session, not held by this one until it
-- disconnects.
CREATE OR REPLACE FUNCTION pgmigrate._unlock_on_abort(key1 integer, key2 integer) RETURNS void VOLATILE STRICT
LANGUAGE c AS 'MODULE_PATHNAME', '_unlock_on_abort_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._unlock_on_abort(integer, integer) FROM PUBLIC;

-- How deep in subtransactions the caller is, 1 for none (src/engine/run_lock.rs).
CREATE OR REPLACE FUNCTION pgmigrate._transaction_depth() RETURNS integer VOLATILE
LANGUAGE c AS 'MODULE_PATHNAME', '_transaction_depth_wrapper';

REVOKE EXECUTE ON FUNCTION pgmigrate._transaction_depth() FROM PUBLIC;
