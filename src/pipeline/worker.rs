//! Pipeline workers: `CALL run_pipeline(name, '{"workers": n}')` on a parallel pipeline
//! starts n - 1 dynamic background workers that work the same run beside the calling
//! session (batches claimed with SKIP LOCKED, each done once). No shared_preload_libraries
//! needed. A worker connects as the calling session's login role and runs as the role that
//! called (see worker.c); run_pipeline waits for its workers before it returns.

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{c_char, CString};

use crate::pg::errors::raise;

unsafe extern "C-unwind" {
    fn pgm_job_worker_setup();
    fn pgm_pipeline_worker_run(owner: pg_sys::Oid, caller: pg_sys::Oid, run: *const c_char);
}

/// Start one worker on run `run` for role `caller` (trusted: only the extension's owner may
/// call this, from run_pipeline's trampoline); its pid, or NULL when it could not start (no
/// free worker slot).
#[pg_extern(volatile, strict, sql = false)]
fn _pipeline_worker_start(run: pgrx::Uuid, caller: pg_sys::Oid) -> Option<i32> {
    // SAFETY: reads this backend's database, login role and current (owner) role.
    let (db, session, owner) = unsafe { (pg_sys::MyDatabaseId, pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    let run = run.to_string();
    let extra = format!("{} {} {} {} {}", db.to_u32(), session.to_u32(), owner.to_u32(), caller.to_u32(), run);
    let worker = BackgroundWorkerBuilder::new(&format!("pg_migrate pipeline run {run}"))
        .set_type("pg_migrate pipeline")
        .set_library("pg_migrate")
        .set_function("pgmigrate_pipeline_worker_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_extra(&extra)
        // SAFETY: this backend's pid, to be told when the worker has started.
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic()
        .ok()?;
    // One that was registered but did not start (postmaster refused or stopped it) counts
    // as not started, like one that found no slot: the run goes on without it.
    worker.wait_for_startup().ok()
}

fn field<T: std::str::FromStr>(parts: &[&str], i: usize) -> T {
    parts.get(i).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "pg_migrate pipeline worker: malformed arguments",
            None,
            None,
        )
    })
}

/// The worker's entry point (bgw_function_name).
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pgmigrate_pipeline_worker_main(_arg: pg_sys::Datum) {
    let extra = BackgroundWorker::get_extra().to_string();
    let parts: Vec<&str> = extra.split(' ').collect();
    let db: u32 = field(&parts, 0);
    let session: u32 = field(&parts, 1);
    let owner: u32 = field(&parts, 2);
    let caller: u32 = field(&parts, 3);
    let run = CString::new(parts.get(4).copied().unwrap_or("")).unwrap_or_default();
    // SAFETY: installs the backend's SIGTERM handler and unblocks signals, then the
    // documented connection call of a background worker; worker.c owns the rest.
    unsafe { pgm_job_worker_setup() };
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(db)), Some(pg_sys::Oid::from(session)));
    unsafe { pgm_pipeline_worker_run(pg_sys::Oid::from(owner), pg_sys::Oid::from(caller), run.as_ptr()) };
}
