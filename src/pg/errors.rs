//! Raising PostgreSQL errors from Rust with a SQLSTATE, detail and hint.

use crate::schema::breaking::SchemaError;
use pgrx::prelude::*;

/// Raise `ERROR` (never returns; the transaction is aborted).
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, detail: Option<String>, hint: Option<&str>) -> ! {
    let mut report = pgrx::pg_sys::panic::ErrorReport::new(code, message.into(), "pg_migrate");
    if let Some(d) = detail {
        report = report.set_detail(d);
    }
    if let Some(h) = hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// A malformed document argument: SQLSTATE 22023 naming the argument and JSON path.
pub fn raise_schema(e: SchemaError) -> ! {
    let at = match e.argument {
        Some(arg) => format!("{arg} at {}", e.path),
        None => e.path.clone(),
    };
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("malformed schema: {at}: {}", e.problem),
        None,
        Some("A schema looks like {\"entities\": {\"<Entity>\": {\"fields\": {\"<field>\": {\"type\": \"...\", \"nullable\": true}}}}}."),
    )
}
