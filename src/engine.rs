//! Native support for the migration engine: a per-step statement timeout.
//!
//! `SET statement_timeout` inside a function does not affect the statement already
//! running, so a step's `timeout` arms PostgreSQL's statement timer directly; it
//! fires as the usual 57014 "canceling statement due to statement timeout".

use pgrx::prelude::*;

// utils/timeout.h (not in pgrx's bindings). STATEMENT_TIMEOUT is the fourth TimeoutId.
const STATEMENT_TIMEOUT: std::ffi::c_int = 3;
unsafe extern "C-unwind" {
    fn enable_timeout_after(id: std::ffi::c_int, delay_ms: std::ffi::c_int);
    fn disable_timeout(id: std::ffi::c_int, keep_indicator: bool);
}

/// Arm the statement timer for `ms` milliseconds; 0 disarms it, and re-arms the
/// session's own statement_timeout (restarted) if one is set.
#[pg_extern(volatile, strict, sql = false)]
fn set_step_timeout(ms: i32) {
    if ms < 0 {
        crate::errors::raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("a step timeout must not be negative, not {ms}"), None, None);
    }
    // SAFETY: the timeout module is initialised in every backend; these only (re)arm
    // or clear the statement timer of this backend.
    unsafe {
        if ms > 0 {
            enable_timeout_after(STATEMENT_TIMEOUT, ms);
        } else if pgrx::pg_sys::StatementTimeout > 0 {
            enable_timeout_after(STATEMENT_TIMEOUT, pgrx::pg_sys::StatementTimeout);
        } else {
            disable_timeout(STATEMENT_TIMEOUT, false);
        }
    }
}
