//! Steps that cannot run inside a transaction block (CREATE / DROP INDEX CONCURRENTLY,
//! REINDEX CONCURRENTLY, VACUUM, DETACH PARTITION CONCURRENTLY) and the dynamic
//! background worker that runs them as top-level statements (see job_worker.c).
//!
//! `pgmigrate.run_migration` runs such a step as a phase of its own: the phase function
//! (running as the extension's owner) inserts a row into `pgmigrate.migration_jobs` and
//! launches a worker; the procedure commits, so the worker sees the row and the caller
//! holds no snapshot a concurrent index build would wait for, and polls the row. The
//! worker connects as the launching session's login role, acts as the extension's owner
//! (which need not have LOGIN) for its bookkeeping, becomes the migration's author (current
//! user id, no way back: it only runs the one statement), applies the stored search_path
//! and the step's lock_timeout, runs the statement with the portal machinery as a
//! top-level command, and records the outcome. No shared_preload_libraries needed.

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{c_char, c_int, CString};

use crate::pg::errors::raise;

unsafe extern "C-unwind" {
    fn pgm_autocommit_kind(sql: *const c_char) -> c_int;
    fn pgm_job_worker_setup();
    fn pgm_job_run(job_id: i64, xact: *const c_char);
    fn pgm_process_alive(pid: c_int) -> bool;
}

/// Whether the process of a job's worker still exists.
#[pg_extern(volatile, strict, sql = false)]
fn _process_alive(pid: i32) -> bool {
    // SAFETY: kill(pid, 0) only probes for the process.
    unsafe { pgm_process_alive(pid) }
}

/// How a step's SQL must run: -1 it does not parse, 0 in a transaction, 1 it is one
/// statement that needs autocommit, 2 it needs autocommit but has more statements.
#[pg_extern(immutable, strict, sql = false)]
fn _autocommit_kind(sql: &str) -> i32 {
    let sql = CString::new(sql).unwrap_or_else(|_| raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "SQL text contains a NUL byte", None, None));
    // SAFETY: parses a NUL-terminated string; parse errors are caught in C.
    unsafe { pgm_autocommit_kind(sql.as_ptr()) }
}

/// Start a dynamic background worker of this library running `function` with `extra`, and
/// wait until it runs: its pid, or None when there is no free slot or it did not start.
/// (Shared by the job worker and the pipeline worker.)
pub(crate) fn start_worker(name: &str, bgw_type: &str, function: &str, extra: &str) -> Option<i32> {
    BackgroundWorkerBuilder::new(name)
        .set_type(bgw_type)
        .set_library("pg_migrate")
        .set_function(function)
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_extra(extra)
        // SAFETY: this backend's pid, to be told when the worker has started.
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic()
        .ok()?
        .wait_for_startup()
        .ok()
}

/// A worker's first steps: the backend's SIGTERM handler, signals unblocked, then the
/// connection to `db` as `role` (the launching session's login role: the extension's
/// owner need not be able to log in). Returns the worker's space-separated arguments.
pub(crate) fn connect_worker() -> Vec<String> {
    let extra = BackgroundWorker::get_extra().to_string();
    let parts: Vec<String> = extra.split(' ').map(str::to_string).collect();
    let db: u32 = field(&parts, 0);
    let role: u32 = field(&parts, 1);
    // SAFETY: installs the handler and unblocks signals, then the documented connection
    // call of a background worker.
    unsafe { pgm_job_worker_setup() };
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(db)), Some(pg_sys::Oid::from(role)));
    parts
}

/// Start a worker for job `job_id`, inserted by the transaction `xact` (an xid8); its pid.
#[pg_extern(volatile, strict, sql = false)]
fn _launch_job(job_id: i64, xact: &str) -> i32 {
    // SAFETY: reads this backend's database, login role and current (owner) role.
    let (db, session, owner) = unsafe { (pg_sys::MyDatabaseId, pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    let extra = format!("{} {} {} {} {}", db.to_u32(), session.to_u32(), owner.to_u32(), job_id, xact);
    start_worker(&format!("pg_migrate job {job_id}"), "pg_migrate job", "pgmigrate_job_main", &extra).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            "could not start a background worker for a migration step",
            None,
            Some("Raise max_worker_processes, or wait for other background workers to finish; check the server log."),
        )
    })
}

pub(crate) fn field<T: std::str::FromStr>(parts: &[String], i: usize) -> T {
    parts.get(i).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "pg_migrate background worker: malformed arguments",
            None,
            None,
        )
    })
}

/// The worker's entry point (bgw_function_name).
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pgmigrate_job_main(_arg: pg_sys::Datum) {
    let parts = connect_worker();
    let owner: u32 = field(&parts, 2);
    let job: i64 = field(&parts, 3);
    let xact = CString::new(parts.get(4).map_or("0", String::as_str)).unwrap_or_default();
    // SAFETY: acts as the owner (between transactions); pgm_job_run owns the rest.
    unsafe {
        pg_sys::SetUserIdAndSecContext(pg_sys::Oid::from(owner), pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
        pgm_job_run(job, xact.as_ptr())
    };
}
