//! SQL surface of compatibility checking (the registry procedures are in SQL).

use crate::jsonb::view::JsonView;
use crate::jsonb::{Jsonb, Out, Writer};
use crate::pg::errors::{raise, raise_schema};
use crate::schema::compat::{self, History};
use crate::schema::sql_functions::raise_refusal;
use pgrx::prelude::*;

/// `{"compatible", "mode", "changes": [{kind, entity, field, backward, forward, detail}]}`.
/// `history` is an array of earlier schema definitions, for catching fields re-added
/// with another type after they were removed.
#[pg_extern(immutable, strict, parallel_safe, sql = false)]
fn check_schema_compatibility(old_schema: Jsonb, new_schema: Jsonb, mode: &str, history: Jsonb) -> Jsonb {
    let Some((parsed, _)) = compat::parse_mode(mode) else {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown compatibility mode \"{}\"", crate::schema::types::shorten(mode)),
            None,
            Some("Use BACKWARD, FORWARD, FULL (each optionally _TRANSITIVE) or NONE."),
        )
    };
    let tick = &mut || crate::schema::sql_functions::check_interrupts();
    let mut earlier = History::default();
    for (i, s) in history.root().elements().into_iter().enumerate() {
        tick();
        compat::field_types(s, &mut earlier, tick).unwrap_or_else(|e| raise_schema(e.on_arg(if i == 0 { "history[0]" } else { "history" })));
    }
    let changes = compat::compare(old_schema.root(), new_schema.root(), &earlier, tick).unwrap_or_else(|e| raise_refusal(e));
    let compatible = changes.iter().all(|c| parsed.allows(c));
    let items = changes
        .iter()
        .map(|c| {
            let mut pairs = vec![
                ("kind", Out::Str(c.kind)),
                ("entity", Out::Str(c.entity)),
                ("backward", Out::Bool(c.backward)),
                ("forward", Out::Bool(c.forward)),
                ("allowed", Out::Bool(parsed.allows(c))),
                ("detail", Out::Str(&c.detail)),
            ];
            if let Some(f) = c.field {
                pairs.push(("field", Out::Str(f)));
            }
            Out::object(pairs)
        })
        .collect();
    let mode_upper = mode.trim().to_ascii_uppercase();
    Writer::finish(&Out::object(vec![
        ("compatible", Out::Bool(compatible)),
        ("mode", Out::Str(&mode_upper)),
        ("changes", Out::Array(items)),
    ]))
}
