//! Is the current top-level statement a restore of this table's rows?
//!
//! pg_restore loads an extension table's rows with `COPY table (...) FROM stdin`, as a
//! role holding the table owner's privileges (a role that could disable the triggers
//! anyway). Such a load must keep rows verbatim: triggers that stamp, fill or count
//! would change what was dumped. Detected natively: a cheap prefix test of the
//! top-level statement text, then PostgreSQL's own raw parser to confirm a single
//! `CopyStmt` with `is_from` on this relation, and the owner check.

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::Cell;
use std::ffi::CStr;

/// (query text address, statement start, relation, user) -> answer, for the rows of one COPY.
type Key = (usize, pg_sys::TimestampTz, pg_sys::Oid, pg_sys::Oid);

thread_local! {
    static LAST: Cell<Option<(Key, bool)>> = const { Cell::new(None) };
}

/// Does `text` start (after blanks) with the keyword COPY?
fn starts_with_copy(text: &[u8]) -> bool {
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let rest = &text[start..];
    rest.len() > 4 && rest[..4].eq_ignore_ascii_case(b"copy") && !rest[4].is_ascii_alphanumeric() && rest[4] != b'_'
}

/// True when the running top-level statement is `COPY <relid> FROM ...` and the current
/// user has the privileges of the relation's owner.
pub fn is_restoring_copy(relid: pg_sys::Oid) -> bool {
    // SAFETY: debug_query_string is the backend's NUL-terminated top-level query text or NULL.
    let query = unsafe { pg_sys::debug_query_string };
    if query.is_null() {
        return false;
    }
    // SAFETY: as above.
    let text = unsafe { CStr::from_ptr(query) }.to_bytes();
    if !starts_with_copy(text) {
        return false;
    }
    // SAFETY: plain reads of backend state.
    let key: Key = unsafe { (query as usize, pg_sys::GetCurrentStatementStartTimestamp(), relid, pg_sys::GetUserId()) };
    if let Some((k, answer)) = LAST.get() {
        if k == key {
            return answer;
        }
    }
    let answer = parse_is_copy_from(query, relid) && unsafe { pg_sys::pg_class_ownercheck(relid, pg_sys::GetUserId()) };
    LAST.set(Some((key, answer)));
    answer
}

fn parse_is_copy_from(query: *const std::ffi::c_char, relid: pg_sys::Oid) -> bool {
    // SAFETY: the top-level statement was parsed successfully by this backend already, so
    // raw_parser does not fail on it; the nodes it returns are read-only here and live in
    // the current (short-lived) memory context.
    unsafe {
        let list = pg_sys::raw_parser(query, pg_sys::RawParseMode::RAW_PARSE_DEFAULT);
        if list.is_null() || (*list).length != 1 {
            return false;
        }
        let raw = (*(*list).elements).ptr_value as *mut pg_sys::RawStmt;
        if raw.is_null() || (*raw).stmt.is_null() || (*(*raw).stmt).type_ != pg_sys::NodeTag::T_CopyStmt {
            return false;
        }
        let copy = (*raw).stmt as *mut pg_sys::CopyStmt;
        if !(*copy).is_from || (*copy).relation.is_null() {
            return false;
        }
        let target = pg_sys::RangeVarGetRelidExtended(
            (*copy).relation,
            pg_sys::NoLock as pg_sys::LOCKMODE,
            pg_sys::RVROption::RVR_MISSING_OK,
            None,
            std::ptr::null_mut(),
        );
        target == relid
    }
}

/// `pgmigrate.restoring_copy(rel regclass)`: is this statement a restore (COPY FROM by a
/// role with the owner's privileges) into `rel`? For triggers that must keep restored
/// rows verbatim.
#[pg_extern(stable, strict, sql = false)]
fn restoring_copy(rel: pg_sys::Oid) -> bool {
    is_restoring_copy(rel)
}

#[cfg(test)]
mod tests {
    use super::starts_with_copy;

    #[test]
    fn prefix_test() {
        assert!(starts_with_copy(b"COPY pgmigrate.audit_log (a) FROM stdin;"));
        assert!(starts_with_copy(b"  \n copy x from stdin"));
        assert!(starts_with_copy(b"Copy\tx"));
        assert!(!starts_with_copy(b"copy"));
        assert!(!starts_with_copy(b"copying x"));
        assert!(!starts_with_copy(b"copy_x"));
        assert!(!starts_with_copy(b"INSERT INTO x SELECT 'COPY'"));
        assert!(!starts_with_copy(b""));
    }
}
