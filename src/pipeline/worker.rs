//! Pipeline workers: `CALL run_pipeline(name, '{"workers": n}')` on a parallel pipeline
//! starts n - 1 dynamic background workers that work the same run beside the calling
//! session (batches claimed with SKIP LOCKED, each done once). No shared_preload_libraries
//! needed. A worker connects as the calling session's login role and runs as the role that
//! called (see worker.c); run_pipeline waits for its workers before it returns.

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{c_char, CString};

use crate::engine::job_worker::{connect_worker, field, start_worker};

unsafe extern "C-unwind" {
    fn pgm_pipeline_worker_run(owner: pg_sys::Oid, caller: pg_sys::Oid, run: *const c_char);
}

/// Start one worker on run `run` for role `caller` (trusted: only the extension's owner may
/// call this, from run_pipeline's trampoline); its pid, or NULL when it could not start (no
/// free worker slot, or registered but not started): the run goes on without it.
#[pg_extern(volatile, strict, sql = false)]
fn _pipeline_worker_start(run: pgrx::Uuid, caller: pg_sys::Oid) -> Option<i32> {
    // SAFETY: reads this backend's database, login role and current (owner) role.
    let (db, session, owner) = unsafe { (pg_sys::MyDatabaseId, pg_sys::GetSessionUserId(), pg_sys::GetUserId()) };
    let extra = format!("{} {} {} {} {}", db.to_u32(), session.to_u32(), owner.to_u32(), caller.to_u32(), run);
    start_worker(
        &format!("pg_migrate pipeline run {run}"),
        "pg_migrate pipeline",
        "pgmigrate_pipeline_worker_main",
        &extra,
    )
}

/// The worker's entry point (bgw_function_name).
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pgmigrate_pipeline_worker_main(_arg: pg_sys::Datum) {
    let parts = connect_worker();
    let owner: u32 = field(&parts, 2);
    let caller: u32 = field(&parts, 3);
    let run = CString::new(parts.get(4).map_or("", String::as_str)).unwrap_or_default();
    // SAFETY: worker.c reads the run as the owner, then runs its batches as the caller.
    unsafe { pgm_pipeline_worker_run(pg_sys::Oid::from(owner), pg_sys::Oid::from(caller), run.as_ptr()) };
}
