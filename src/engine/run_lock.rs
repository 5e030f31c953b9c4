//! The session-level lock a migration run holds across its commits, let go when a
//! transaction of the run aborts.
//!
//! CALL run_migration takes an advisory lock at session level so that one session runs a
//! migration's phases while it commits between them. A session lock outlives a rollback:
//! when the transaction that took it (or any later one of the run) fails instead of
//! committing (CALL inside a transaction block, where its first COMMIT is refused; a
//! validation error; an error escaping a phase), the session kept the lock and every other
//! session was refused "being run by another session" until this one disconnected. The run
//! itself is then RUNNING without a session (or never started), which is what the next
//! CALL resumes, so the lock must go with the failed transaction.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};

/// The advisory lock `pg_advisory_lock(key1, key2)` takes (int4 pair: field4 = 2).
fn advisory_tag(key1: i32, key2: i32) -> pg_sys::LOCKTAG {
    // SAFETY: reads this backend's database oid.
    let db = unsafe { pg_sys::MyDatabaseId };
    pg_sys::LOCKTAG {
        locktag_field1: db.to_u32(),
        locktag_field2: key1 as u32,
        locktag_field3: key2 as u32,
        locktag_field4: 2,
        locktag_type: pg_sys::LockTagType::LOCKTAG_ADVISORY as u8,
        locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
    }
}

/// Releases this session's lock `(key1, key2)` if the current transaction aborts (nothing
/// when it commits). Called by each step of a run while it holds the lock.
#[pg_extern(volatile, strict, sql = false)]
fn _unlock_on_abort(key1: i32, key2: i32) {
    register_xact_callback(PgXactCallbackEvent::Abort, move || {
        let tag = advisory_tag(key1, key2);
        // SAFETY: lock-manager calls on this backend's own lock table entry; released only
        // when held (no WARNING, no ERROR while the transaction aborts).
        unsafe {
            if pg_sys::LockHeldByMe(&tag, pg_sys::ExclusiveLock as pg_sys::LOCKMODE) {
                pg_sys::LockRelease(&tag, pg_sys::ExclusiveLock as pg_sys::LOCKMODE, true);
            }
        }
    });
}

/// How deep in subtransactions the caller is (1: none). A CALL below a subtransaction of
/// its own (a savepoint, a PL/pgSQL block with an EXCEPTION clause, a migration step) cannot
/// commit between phases, and a session lock it took would outlive a rollback to that
/// savepoint. (`run_migration` calls each phase in one subtransaction of its own: depth 2.
/// A CALL inside a plain transaction block is at depth 2 too: it fails at its first COMMIT,
/// and the abort lets the lock go.)
#[pg_extern(volatile, sql = false)]
fn _transaction_depth() -> i32 {
    // SAFETY: reads this backend's transaction state.
    unsafe { pg_sys::GetCurrentTransactionNestLevel() }
}
