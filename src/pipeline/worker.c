/*
 * The body of a pipeline worker (see worker.rs): a background worker that joins one
 * running pipeline run and works its batches beside the session that started it.
 *
 * Connected as that session's login role, it reads the run's pipeline name as the
 * extension's owner, becomes the caller (current user id with
 * SECURITY_LOCAL_USERID_CHANGE: no SET ROLE out of it), and runs
 *     CALL pgmigrate.run_pipeline(<name>, '{"join": "<run>"}')
 * as a top-level statement, so the procedure commits batch by batch as it does in the
 * caller's session. An error ends the worker (the procedure has recorded it on the run).
 * The worker's transactions run at READ COMMITTED whatever the database's default, as
 * run_pipeline's batches do (see run_pipeline.sql).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

extern void pgm_run_toplevel(const char *sql);

void
pgm_pipeline_worker_run(Oid owner, Oid caller, const char *run)
{
	char	   *name = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	StringInfoData sql;
	char	   *join;

	/* 1. The run's pipeline, if the run is still going. */
	SetUserIdAndSecContext(owner, SECURITY_LOCAL_USERID_CHANGE);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = CStringGetTextDatum(run);
	if (SPI_execute_with_args("SELECT pipeline_name FROM pgmigrate.pipeline_runs "
							  "WHERE run_id OPERATOR(pg_catalog.=) $1::pg_catalog.uuid AND status OPERATOR(pg_catalog.=) 'RUNNING'",
							  1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v)
			name = MemoryContextStrdup(TopMemoryContext, v);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (name == NULL)
		proc_exit(0);			/* finished, stopped or gone before this worker started */

	/* 2. As the caller, the run's batches. */
	SetConfigOption("default_transaction_isolation", "read committed", PGC_USERSET, PGC_S_SESSION);
	MemoryContextSwitchTo(TopMemoryContext);
	join = psprintf("{\"join\": \"%s\"}", run);
	initStringInfo(&sql);
	appendStringInfo(&sql, "CALL pgmigrate.run_pipeline(%s, %s::pg_catalog.jsonb)", quote_literal_cstr(name), quote_literal_cstr(join));
	SetUserIdAndSecContext(caller, SECURITY_LOCAL_USERID_CHANGE);
	pgstat_report_activity(STATE_RUNNING, sql.data);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/* The statement's parse and plan trees outlive the procedure's COMMITs (its argument
	 * values point into them), as exec_simple_query keeps them in MessageContext. */
	MemoryContextSwitchTo(AllocSetContextCreate(TopMemoryContext, "pg_migrate pipeline worker", ALLOCSET_DEFAULT_SIZES));
	pgm_run_toplevel(sql.data);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}
