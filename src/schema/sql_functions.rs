//! SQL surface of the schema-evolution core: merge, type rules, breaking changes.

use crate::jsonb::merge::deep_merge;
use crate::jsonb::{Jsonb, Out, Writer};
use crate::pg::errors::{raise, raise_schema};
use crate::schema::breaking::{self, Change, Refusal};
use crate::schema::types;
use pgrx::prelude::*;

/// Objects merge recursively; otherwise `b` wins. Arrays are replaced.
#[pg_extern(immutable, strict, parallel_safe, sql = false)]
fn jsonb_deep_merge(a: Jsonb, b: Jsonb) -> Jsonb {
    deep_merge(a, b)
}

/// Can every value of `old_type` be held by `new_type` without loss?
#[pg_extern(immutable, strict, parallel_safe, sql = false)]
fn is_type_compatible(old_type: &str, new_type: &str) -> bool {
    types::is_compatible(old_type, new_type).unwrap_or_else(|e| raise_type_name(e))
}

/// Answer cancel requests and statement_timeout: the `tick` the pure loops call.
pub fn check_interrupts() {
    pgrx::check_for_interrupts!();
}

/// A refused type name: 22023 naming it (shortened), with a hint.
fn raise_type_name(e: types::TypeNameError) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.message(), None, Some(e.hint()))
}

/// A refused schema: 22023 naming the argument and JSON path, with the refusal's own
/// hint when it has one.
pub fn raise_refusal(r: Refusal) -> ! {
    let Some(hint) = r.hint else { raise_schema(r.error) };
    let e = r.error;
    let at = match e.argument {
        Some(arg) => format!("{arg} at {}", e.path),
        None => e.path,
    };
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("malformed schema: {at}: {}", e.problem),
        None,
        Some(hint),
    )
}

/// `{"compatible", "backward", "forward", "rewrite", "lossy"}` for a column type change.
#[pg_extern(immutable, strict, parallel_safe, sql = false)]
fn type_change_info(old_type: &str, new_type: &str) -> Jsonb {
    let info = types::change_info(old_type, new_type).unwrap_or_else(|e| raise_type_name(e));
    Writer::finish(&Out::object(vec![
        ("compatible", Out::Bool(info.compatible())),
        ("backward", Out::Bool(info.backward)),
        ("forward", Out::Bool(info.forward)),
        ("rewrite", Out::Str(info.rewrite.as_str())),
        ("lossy", Out::Bool(info.lossy())),
    ]))
}

/// The changes from `old_schema` to `new_schema` that can break readers or writers.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn detect_breaking_changes(old_schema: Option<Jsonb>, new_schema: Option<Jsonb>) -> Jsonb {
    let tick = &mut || crate::schema::sql_functions::check_interrupts();
    let changes = breaking::detect(old_schema.as_ref().map(Jsonb::root), new_schema.as_ref().map(Jsonb::root), tick).unwrap_or_else(|e| raise_refusal(e));
    changes_to_jsonb(&changes)
}

/// Render changes as the reference does: one object per change, jsonb key order.
pub fn changes_to_jsonb(changes: &[Change]) -> Jsonb {
    let items = changes
        .iter()
        .map(|c| {
            let mut pairs = vec![
                ("type", Out::Str(c.kind.as_str())),
                ("entity", Out::Str(c.entity)),
                ("severity", Out::Str(c.severity())),
                ("description", Out::Str(&c.description)),
            ];
            if let Some(f) = c.field {
                pairs.push(("field", Out::Str(f)));
            }
            if let Some((old, new)) = &c.types {
                pairs.push(("old_type", Out::Str(old)));
                pairs.push(("new_type", Out::Str(new)));
            }
            Out::object(pairs)
        })
        .collect();
    Writer::finish(&Out::Array(items))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn text(sql: &str) -> String {
        Spi::get_one::<String>(sql).expect("query runs").expect("not null")
    }

    #[pg_test]
    fn merge_keeps_number_text_and_key_order() {
        assert_eq!(
            text(r#"SELECT pgmigrate.jsonb_deep_merge('{"bb": {"x": 1.50}, "a": 1e2}', '{"bb": {"y": -0.0}, "ccc": [1]}')::text"#),
            r#"{"a": 100, "bb": {"x": 1.50, "y": 0.0}, "ccc": [1]}"#
        );
    }

    #[pg_test]
    fn detect_reads_numbers_and_containers_as_text() {
        let out = text(
            r#"SELECT pgmigrate.detect_breaking_changes(
                 '{"entities": {"A": {"fields": {"n": {"type": 1.50}, "o": {"type": {"k": [1, "x"]}}}}}}',
                 '{"entities": {"A": {"fields": {"n": {"type": 2}, "o": {"type": "text"}}}}}')::text"#,
        );
        assert!(out.contains(r#""old_type": "1.50""#), "{out}");
        assert!(out.contains(r#""old_type": "{\"k\": [1, \"x\"]}""#), "{out}");
    }

    #[pg_test(error = "malformed schema: new_schema at $.entities.A.fields: \"fields\" must be a JSON object, not string")]
    fn detect_refuses_malformed_fields() {
        Spi::run(r#"SELECT pgmigrate.detect_breaking_changes('{}', '{"entities": {"A": {"fields": "x"}}}')"#).unwrap();
    }

    #[pg_test]
    fn type_change_info_shape() {
        assert_eq!(
            text("SELECT pgmigrate.type_change_info('int', 'int8')::text"),
            r#"{"lossy": false, "forward": false, "rewrite": "rewrite", "backward": true, "compatible": true}"#
        );
    }
}
