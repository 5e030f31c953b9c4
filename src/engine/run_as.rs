//! Stored SQL runs with the privileges of the role that stored it.
//!
//! Like PostgreSQL evaluating an index expression as the table's owner, the engine
//! switches the current user id to the migration's author for the step (with
//! SECURITY_LOCAL_USERID_CHANGE, so the step cannot SET ROLE its way out) and applies
//! the search_path recorded when the migration was stored. Both are undone when the
//! step returns; an error undoes them with the (sub)transaction that it aborts, exactly
//! as for a SECURITY DEFINER function. Every setting the stored SQL changes is undone
//! too, plain `SET` included (which a function's SET clause would let persist): a step
//! that sets `search_path = evil, ...` must not leave the runner's session resolving
//! names into the author's schema.
//!
//! `_exec_as` / `_query_as` are internal: EXECUTE is revoked from PUBLIC and never
//! granted, so only pg_migrate's own privileged functions (running as the extension's
//! owner) call them, with an author the database recorded.

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::CString;

use crate::pg::errors::raise;

/// The user id, security context and GUC nesting level to return to.
pub(crate) struct Saved {
    user: pg_sys::Oid,
    sec: i32,
    guc_nest: i32,
}

/// Become `role` (which must exist) with `search_path`, if given.
pub(crate) fn become_role(role: pg_sys::Oid, search_path: Option<&str>) -> Saved {
    // SAFETY: plain catalog lookups and the same user-id switch fmgr_security_definer does.
    unsafe {
        if pg_sys::GetUserNameFromId(role, true).is_null() {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("the role (oid {}) that stored this SQL no longer exists", role.to_u32()),
                None,
                Some("Stored SQL runs as the role that stored it; register it again under an existing role."),
            );
        }
        let mut user = pg_sys::InvalidOid;
        let mut sec = 0;
        pg_sys::GetUserIdAndSecContext(&mut user, &mut sec);
        let guc_nest = pg_sys::NewGUCNestLevel();
        if let Some(path) = search_path {
            let path = CString::new(with_temp_schema_last(path))
                .unwrap_or_else(|_| raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "search_path contains a NUL byte", None, None));
            pg_sys::set_config_option(
                c"search_path".as_ptr(),
                path.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        pg_sys::SetUserIdAndSecContext(role, sec | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
        Saved { user, sec, guc_nest }
    }
}

/// `path` with `pg_temp` searched last, wherever the stored path put it. PostgreSQL
/// searches the session's temporary schema first for relations unless the path places it:
/// a runner could otherwise put a temporary table (with triggers of its own) in front of
/// the table a stored step means. (Temporary objects of the session that stored the SQL
/// are gone by the time it runs, so nothing legitimate is lost.)
pub(crate) fn with_temp_schema_last(path: &str) -> String {
    let mut items: Vec<&str> = path
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty() && !item.trim_matches('"').eq_ignore_ascii_case("pg_temp"))
        .collect();
    items.push("pg_temp");
    items.join(", ")
}

/// Undo `become_role` (on success; an error is undone by the aborting transaction).
pub(crate) fn restore(saved: Saved) {
    // SAFETY: restores exactly what become_role saved. AtEOXact_GUC with isCommit =
    // false puts back the value every setting had when the level was opened (SET, SET
    // LOCAL and set_config alike), as a subtransaction's abort would.
    unsafe {
        pg_sys::SetUserIdAndSecContext(saved.user, saved.sec);
        pg_sys::AtEOXact_GUC(false, saved.guc_nest);
    }
}

/// Run `sql` (one or more statements) as `author` with `search_path`; the number of
/// rows the last statement processed.
#[pg_extern(volatile, sql = false)]
fn _exec_as(author: pg_sys::Oid, search_path: Option<&str>, sql: &str) -> i64 {
    let saved = become_role(author, search_path);
    let rows = Spi::connect_mut(|client| client.update(sql, None, &[]).map(|t| t.len() as i64))
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("running a stored step: {e}"), None, None));
    restore(saved);
    rows
}

/// Run the query `sql` as `author` with `search_path`; its first row's first column as
/// text (NULL when it returns no row or a NULL).
#[pg_extern(volatile, sql = false)]
fn _query_as(author: pg_sys::Oid, search_path: Option<&str>, sql: &str) -> Option<String> {
    let saved = become_role(author, search_path);
    let value = Spi::connect_mut(|client| {
        let table = client.update(sql, Some(1), &[])?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get::<String>(1)
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("running a stored query: {e}"), None, None));
    restore(saved);
    value
}

#[cfg(test)]
mod tests {
    use super::with_temp_schema_last;

    #[test]
    fn temp_schema_goes_last() {
        assert_eq!(with_temp_schema_last("public"), "public, pg_temp");
        assert_eq!(with_temp_schema_last("\"$user\", public"), "\"$user\", public, pg_temp");
        assert_eq!(with_temp_schema_last("pg_temp, public"), "public, pg_temp");
        assert_eq!(with_temp_schema_last("a, \"pg_temp\""), "a, pg_temp");
        assert_eq!(with_temp_schema_last("my_pg_temp_x"), "my_pg_temp_x, pg_temp");
        assert_eq!(with_temp_schema_last(""), "pg_temp");
    }
}
