//! The migration engine's per-step timer (see step_timer.c, built by build.rs).
//!
//! A step's `timeout` arms a timeout of the engine's own, registered with PostgreSQL's
//! timeout API, which cancels the running statement like `statement_timeout` does
//! (SQLSTATE 57014). The session's own `statement_timeout` keeps running untouched, and
//! `step_timeout_fired()` tells the engine whether a 57014 was its own step timer (a
//! step failure) or someone else's cancel or timeout (which stops the whole run).

use pgrx::prelude::*;
use std::ffi::c_int;

unsafe extern "C-unwind" {
    fn pgm_step_timer_arm(ms: c_int);
    fn pgm_step_timer_disarm();
    fn pgm_step_timer_fired() -> bool;
}

/// Arm the step timer for `ms` milliseconds (1 .. 2^31-1); 0 disarms it.
#[pg_extern(volatile, strict, sql = false)]
fn set_step_timeout(ms: i32) {
    if ms < 0 {
        crate::pg::errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("a step timeout must not be negative, not {ms}"),
            None,
            None,
        );
    }
    // SAFETY: the timeout module is initialised in every backend; this arms or clears
    // the engine's own registered timeout of this backend only.
    unsafe {
        if ms > 0 {
            pgm_step_timer_arm(ms);
        } else {
            pgm_step_timer_disarm();
        }
    }
}

/// Whether the step timer fired since it was armed (and forget it).
#[pg_extern(volatile, sql = false)]
fn step_timeout_fired() -> bool {
    // SAFETY: reads and clears a flag of this backend.
    unsafe { pgm_step_timer_fired() }
}
