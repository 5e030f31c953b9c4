/*
 * Statements that cannot run inside a transaction block, and the background worker
 * that runs them as top-level statements (see job_worker.rs).
 *
 * pgm_autocommit_kind: classifies a step's SQL from PostgreSQL's own parse tree.
 * pgm_job_run: the worker's body. It waits until the job row the launcher inserted is
 * committed, becomes the migration's author, applies the stored search_path and the
 * step's lock_timeout / timeout, runs the statement through the portal machinery with
 * isTopLevel = true (what exec_simple_query does), and records the outcome.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/wait_event.h"

static bool
stmt_needs_autocommit(Node *stmt)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent;
		case T_ReindexStmt:
			foreach(lc, ((ReindexStmt *) stmt)->params)
			{
				DefElem    *opt = lfirst_node(DefElem, lc);

				if (strcmp(opt->defname, "concurrently") == 0 && defGetBoolean(opt))
					return true;
			}
			return false;
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) stmt)->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

				if (cmd->subtype == AT_DetachPartition && cmd->def != NULL &&
					IsA(cmd->def, PartitionCmd) && ((PartitionCmd *) cmd->def)->concurrent)
					return true;
			}
			return false;
		default:
			return false;
	}
}

/*
 * -1: the SQL does not parse; 0: nothing in it needs autocommit; 1: it is one statement
 * that needs autocommit; 2: it needs autocommit but is more than one statement.
 * *index_target is set for CREATE INDEX CONCURRENTLY (palloc'd RangeVar) when wanted.
 */
static int
classify(const char *sql, RangeVar **index_target)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int result = 0;

	PG_TRY();
	{
		List	   *stmts = pg_parse_query(sql);
		ListCell   *lc;
		bool		any = false;

		foreach(lc, stmts)
		{
			Node	   *stmt = lfirst_node(RawStmt, lc)->stmt;

			if (stmt_needs_autocommit(stmt))
			{
				any = true;
				if (index_target && IsA(stmt, IndexStmt))
					*index_target = ((IndexStmt *) stmt)->relation;
			}
		}
		result = any ? (list_length(stmts) == 1 ? 1 : 2) : 0;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		result = -1;
	}
	PG_END_TRY();
	return result;
}

int
pgm_autocommit_kind(const char *sql)
{
	return classify(sql, NULL);
}

/*
 * Whether process `pid` exists and is a child of this server's postmaster (a worker between
 * fork and connection is not yet in pg_stat_activity; a pid the system has since given to a
 * process outside the server is not alive as far as we are concerned). Where /proc cannot
 * say, existing is enough.
 */
bool
pgm_process_alive(int pid)
{
	char		path[64];
	char		buf[1024];
	FILE	   *f;
	size_t		len;
	char	   *close_paren;
	int			ppid;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return errno != ENOENT;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
	close_paren = strrchr(buf, ')');
	if (close_paren == NULL || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return true;
	return ppid == PostmasterPid;
}

void
pgm_job_worker_setup(void)
{
	/* A terminate request ends the statement the way it ends a backend's. */
	pqsignal(SIGTERM, die);
	/*
	 * No client: a NOTICE the statement raises must not be framed for a frontend
	 * connection this process does not have (it goes to the server log, per
	 * log_min_messages). Shared with the pipeline worker.
	 */
	whereToSendOutput = DestNone;
	BackgroundWorkerUnblockSignals();
}

/* Runs `sql` as exec_simple_query would: top level, so a CALL may COMMIT (also used by
 * the pipeline worker, src/pipeline/worker.c). The caller's memory context must outlive
 * the statement's transactions: the parse and plan trees are allocated in it. */
void
pgm_run_toplevel(const char *sql)
{
	List	   *parsetree_list = pg_parse_query(sql);
	ListCell   *lc;

	foreach(lc, parsetree_list)
	{
		RawStmt    *parsetree = lfirst_node(RawStmt, lc);
		bool		snapshot_set = false;
		List	   *querytree_list;
		List	   *plantree_list;
		Portal		portal;
		DestReceiver *receiver;
		QueryCompletion qc;
		int16		format = 0;

		if (analyze_requires_snapshot(parsetree))
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			snapshot_set = true;
		}
		querytree_list = pg_analyze_and_rewrite_fixedparams(parsetree, sql, NULL, 0, NULL);
		plantree_list = pg_plan_queries(querytree_list, sql, CURSOR_OPT_PARALLEL_OK, NULL);
		if (snapshot_set)
			PopActiveSnapshot();
		portal = CreatePortal("", true, true);
		portal->visible = false;
		PortalDefineQuery(portal, NULL, sql, CreateCommandTag(parsetree->stmt), plantree_list, NULL);
		PortalStart(portal, NULL, 0, InvalidSnapshot);
		PortalSetResultFormat(portal, 1, &format);
		receiver = CreateDestReceiver(DestNone);
		(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
		receiver->rDestroy(receiver);
		PortalDrop(portal, false);
		if (lnext(parsetree_list, lc) != NULL)
			CommandCounterIncrement();
	}
}

static void
set_guc(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
}

/* Index oids of a relation, as an oid[] literal. */
static char *
index_list(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	char	   *out = NULL;

	if (SPI_execute_with_args("SELECT coalesce(pg_catalog.array_agg(indexrelid), '{}')::pg_catalog.text FROM pg_catalog.pg_index WHERE indrelid = $1",
							  1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		out = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return out;
}

void
pgm_job_run(int64 job_id, const char *xact)
{
	MemoryContext jobcxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate job", ALLOCSET_DEFAULT_SIZES);
	Oid			owner = GetUserId();
	Oid			author = InvalidOid;
	char	   *sql = NULL;
	char	   *path = NULL;
	int			lock_ms = 0;
	int			stmt_ms = 0;
	Oid			index_rel = InvalidOid;
	char	   *before = NULL;
	char	   *cleanup = NULL;
	char	   *volatile error = NULL;
	char	   *volatile sqlstate = NULL;
	char	   *volatile detail = NULL;
	char	   *volatile hint = NULL;
	volatile bool failed = false;
	bool		seen_committed = false;
	int			kind;
	RangeVar   *target = NULL;

	/* 1. The job row, once the launching transaction has committed. */
	for (;;)
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(job_id)};
		bool		found = false;
		bool		waiting = false;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_execute_with_args("UPDATE pgmigrate.migration_jobs SET status = 'RUNNING', pid = pg_catalog.pg_backend_pid(), "
								  "started_at = pg_catalog.clock_timestamp() WHERE job_id = $1 AND status = 'PENDING' "
								  "RETURNING sql, author::pg_catalog.oid, search_path, lock_timeout_ms, statement_timeout_ms",
								  1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "pg_migrate job %lld: could not read its row", (long long) job_id);
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *v;

			found = true;
			sql = MemoryContextStrdup(jobcxt, SPI_getvalue(tup, desc, 1));
			author = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
			v = SPI_getvalue(tup, desc, 3);
			path = v ? MemoryContextStrdup(jobcxt, v) : NULL;
			lock_ms = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
			if (isnull)
				lock_ms = 0;
			stmt_ms = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
			if (isnull)
				stmt_ms = 0;
		}
		else
		{
			Oid			xtypes[1] = {TEXTOID};
			Datum		xvalues[1] = {CStringGetTextDatum(xact)};

			/*
			 * Not visible yet: wait while the launching transaction is in progress. One
			 * that committed after this statement's snapshot was taken is looked at once
			 * more (exiting then left the job PENDING: "ended without recording an
			 * outcome"); a job still not PENDING after that was canceled.
			 */
			if (SPI_execute_with_args("SELECT pg_catalog.pg_xact_status($1::pg_catalog.xid8)",
									  1, xtypes, xvalues, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
			{
				char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

				if (v != NULL && strcmp(v, "in progress") == 0)
					waiting = true;
				else if (v != NULL && strcmp(v, "committed") == 0 && !seen_committed)
					waiting = seen_committed = true;
			}
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (found)
			break;
		if (!waiting)
			proc_exit(0);		/* launched by a transaction that rolled back, or canceled */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	/* 2. The author, the stored search_path, the step's timeouts. */
	pgstat_report_activity(STATE_RUNNING, sql);
	if (path)
		set_guc("search_path", path);
	if (lock_ms > 0)
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), "%dms", lock_ms);
		set_guc("lock_timeout", buf);
	}
	SetUserIdAndSecContext(author, 0);

	StartTransactionCommand();
	MemoryContextSwitchTo(jobcxt);
	kind = classify(sql, &target);
	if (kind == 1 && target != NULL)
	{
		index_rel = RangeVarGetRelid(target, NoLock, true);
		if (OidIsValid(index_rel))
		{
			SPI_connect();
			PushActiveSnapshot(GetTransactionSnapshot());
			before = index_list(index_rel);
			if (before)
			{
				/*
				 * Noted in the job row (as the owner) before the build starts, so
				 * that whoever finds this worker gone can drop what it left.
				 */
				Oid			argtypes[3] = {INT8OID, OIDOID, TEXTOID};
				Datum		values[3];

				before = MemoryContextStrdup(jobcxt, before);
				values[0] = Int64GetDatum(job_id);
				values[1] = ObjectIdGetDatum(index_rel);
				values[2] = CStringGetTextDatum(before);
				SetUserIdAndSecContext(owner, 0);
				SPI_execute_with_args("UPDATE pgmigrate.migration_jobs SET target_rel = $2, indexes_before = $3::pg_catalog.oid[] "
									  "WHERE job_id = $1", 3, argtypes, values, NULL, false, 0);
				SetUserIdAndSecContext(author, 0);
			}
			PopActiveSnapshot();
			SPI_finish();
		}
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(jobcxt);

	if (kind != 1)
	{
		failed = true;
		error = "pg_migrate runs only single statements that need autocommit in its background worker";
		sqlstate = "0A000";
	}
	else
	{
		PG_TRY();
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			MemoryContextSwitchTo(jobcxt);
			if (stmt_ms > 0)
				enable_timeout_after(STATEMENT_TIMEOUT, stmt_ms);
			pgm_run_toplevel(sql);
			if (stmt_ms > 0)
				disable_timeout(STATEMENT_TIMEOUT, false);
			CommitTransactionCommand();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			HOLD_INTERRUPTS();
			MemoryContextSwitchTo(jobcxt);
			edata = CopyErrorData();
			EmitErrorReport();
			FlushErrorState();
			disable_all_timeouts(false);
			QueryCancelPending = false;
			AbortCurrentTransaction();
			RESUME_INTERRUPTS();
			failed = true;
			error = edata->message ? edata->message : "unknown error";
			sqlstate = pstrdup(unpack_sql_state(edata->sqlerrcode));
			detail = edata->detail;
			hint = edata->hint;
		}
		PG_END_TRY();
	}
	MemoryContextSwitchTo(jobcxt);

	/* 3. The outcome, recorded as the owner. */
	SetUserIdAndSecContext(owner, 0);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (failed && OidIsValid(index_rel) && before)
	{
		Oid			argtypes[2] = {OIDOID, TEXTOID};
		Datum		values[2] = {ObjectIdGetDatum(index_rel), CStringGetTextDatum(before)};

		if (SPI_execute_with_args("SELECT pg_catalog.array_agg(pg_catalog.format('%I.%I', n.nspname, c.relname))::pg_catalog.text "
								  "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
								  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
								  "WHERE i.indrelid = $1 AND NOT i.indisvalid AND i.indexrelid <> ALL ($2::pg_catalog.oid[])",
								  2, argtypes, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			cleanup = v ? MemoryContextStrdup(jobcxt, v) : NULL;
		}
	}
	{
		Oid			argtypes[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

		values[0] = Int64GetDatum(job_id);
		values[1] = CStringGetTextDatum(failed ? "FAILED" : "COMPLETED");
		if (error)
			values[2] = CStringGetTextDatum(error);
		else
			nulls[2] = 'n';
		if (sqlstate)
			values[3] = CStringGetTextDatum(sqlstate);
		else
			nulls[3] = 'n';
		if (cleanup)
			values[4] = CStringGetTextDatum(cleanup);
		else
			nulls[4] = 'n';
		SPI_execute_with_args("UPDATE pgmigrate.migration_jobs SET status = $2, error = $3, sqlstate = $4, "
							  "cleanup = $5::pg_catalog.text[], finished_at = pg_catalog.clock_timestamp() "
							  "WHERE job_id = $1 AND status = 'RUNNING'",
							  5, argtypes, values, nulls, false, 0);
	}
	/*
	 * The error's HINT (a column since 0.6.3) and DETAIL (a table only the owner reads: it
	 * can show values of the author's tables; kept only when the launching session's
	 * login role, this worker's, is or is a member of the author). A library newer than the
	 * installed SQL skips what is not there yet.
	 */
	if (hint &&
		SPI_execute("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'pgmigrate.migration_jobs'::pg_catalog.regclass "
					"AND attname = 'hint' AND NOT attisdropped", true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		Oid			argtypes[2] = {INT8OID, TEXTOID};
		Datum		values[2] = {Int64GetDatum(job_id), CStringGetTextDatum(hint)};

		SPI_execute_with_args("UPDATE pgmigrate.migration_jobs SET hint = $2 WHERE job_id = $1",
							  2, argtypes, values, NULL, false, 0);
	}
	if (detail &&
		SPI_execute("SELECT 1 WHERE pg_catalog.to_regclass('pgmigrate.migration_job_details') IS NOT NULL", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		Oid			argtypes[2] = {INT8OID, TEXTOID};
		Datum		values[2] = {Int64GetDatum(job_id), CStringGetTextDatum(detail)};

		SPI_execute_with_args("INSERT INTO pgmigrate.migration_job_details (job_id, detail) "
							  "SELECT j.job_id, $2 FROM pgmigrate.migration_jobs j "
							  "WHERE j.job_id = $1 AND pg_catalog.pg_has_role(SESSION_USER, j.author, 'MEMBER') "
							  "ON CONFLICT (job_id) DO UPDATE SET detail = EXCLUDED.detail",
							  2, argtypes, values, NULL, false, 0);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}
