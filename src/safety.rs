//! SQL surface of migration planning and pre-flight checks: dependency order,
//! and scripts split and syntax-checked by PostgreSQL's own parser, then classified.

use crate::errors::raise;
use crate::json_view::JsonView;
use crate::jsonb::{Jsonb, Out, Writer};
use crate::plan::{self, Node};
use crate::sqlcheck::{self, Finding};
use crate::types;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTryBuilder};
use std::ffi::CString;

/// `[{"name", "depends_on": [names], "priority"}]` → names in execution order.
/// Unknown dependencies, duplicates and cycles (named) are 22023.
#[pg_extern(immutable, strict, parallel_safe, sql = false)]
fn migration_order(graph: Jsonb) -> Vec<String> {
    let nodes: Vec<Node> = graph
        .root()
        .elements()
        .into_iter()
        .map(|m| Node {
            name: m.get("name").and_then(|n| n.text()).map(|n| n.into_owned()).unwrap_or_default(),
            depends_on: m.get("depends_on").map(|d| d.elements()).unwrap_or_default().iter().filter_map(|d| d.text().map(|t| t.into_owned())).collect(),
            priority: m.get("priority").and_then(|p| p.text()).and_then(|p| p.parse().ok()).unwrap_or(100),
        })
        .collect();
    match plan::order(&nodes) {
        Ok(order) => order.into_iter().map(|i| nodes[i].name.clone()).collect(),
        Err(e) => raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.to_string(), None, Some("Every dependency must be a registered migration, and dependencies may not form a cycle.")),
    }
}

/// Statements of a script as PostgreSQL's parser splits them, or its syntax error.
fn split(script: &str) -> Result<Vec<String>, String> {
    let Ok(c) = CString::new(script) else { return Err("the script contains a NUL byte".into()) };
    PgTryBuilder::new(|| {
        // SAFETY: raw_parser reads the NUL-terminated script and returns a List of RawStmt
        // allocated in the current memory context.
        unsafe {
            let list = pg_sys::raw_parser(c.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT);
            let mut out = Vec::new();
            if list.is_null() {
                return Ok(out);
            }
            for k in 0..(*list).length as usize {
                let raw = (*(*list).elements.add(k)).ptr_value as *const pg_sys::RawStmt;
                let start = (*raw).stmt_location.max(0) as usize;
                let len = if (*raw).stmt_len > 0 { (*raw).stmt_len as usize } else { script.len() - start };
                let text = script.get(start..start + len).unwrap_or("").trim().to_string();
                out.push(text);
            }
            Ok(out)
        }
    })
    .catch_others(|e| match e {
        pg_sys::panic::CaughtError::PostgresError(r) | pg_sys::panic::CaughtError::ErrorReport(r) => Err(r.message().to_string()),
        _ => Err("the script could not be parsed".into()),
    })
    .execute()
}

/// Where a syntax error points, as a 1-based character position (from the token it names).
fn error_position(script: &str, message: &str) -> Option<usize> {
    if message.ends_with("at end of input") {
        return Some(script.chars().count());
    }
    let near = message.split("at or near \"").nth(1)?.strip_suffix('"')?;
    script.find(near).map(|b| script[..b].chars().count() + 1)
}

fn strip_quotes(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_string(),
    }
}

/// For ALTER COLUMN TYPE, ask the catalog for the current type: a binary-coercible
/// change (varchar growth, varchar -> text, ...) rewrites nothing.
fn refine(f: &mut Finding) {
    let (Some(table), Some(column), Some(new_type)) = (&f.table, &f.column, &f.new_type) else { return };
    let old = Spi::get_one_with_args::<String>(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
        &[table.as_str().into(), strip_quotes(column).into()],
    )
    .ok()
    .flatten();
    if let Some(old) = old {
        if types::rewrite(&types::parse(&old), &types::parse(new_type)) == types::Rewrite::None {
            f.rewrite = false;
            f.severity = "LOW";
            f.code = "NO_REWRITE";
            f.recommendation = None;
        }
    }
}

/// `{"syntax_ok", "error", "position", "statements": [{"index", "sql", "findings": [...]}]}`.
#[pg_extern(stable, strict, sql = false)]
fn analyze_sql(script: &str) -> Jsonb {
    let (statements, error) = match split(script) {
        Ok(s) => (s, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let analysed: Vec<(String, Vec<Finding>)> = statements
        .into_iter()
        .map(|sql| {
            let mut findings = sqlcheck::classify(&sql);
            findings.iter_mut().for_each(refine);
            (sql, findings)
        })
        .collect();
    let indexes: Vec<String> = (1..=analysed.len()).map(|i| i.to_string()).collect();
    let position = error.as_deref().and_then(|m| error_position(script, m)).map(|p| p.to_string());
    let items = analysed
        .iter()
        .zip(&indexes)
        .map(|((sql, findings), idx)| {
            let fs = findings
                .iter()
                .map(|f| {
                    let mut pairs = vec![
                        ("action", Out::Str(f.action)),
                        ("lock", Out::Str(f.lock)),
                        ("rewrite", Out::Bool(f.rewrite)),
                        ("scan", Out::Bool(f.scan)),
                        ("data_loss", Out::Bool(f.data_loss)),
                        ("needs_autocommit", Out::Bool(f.needs_autocommit)),
                        ("severity", Out::Str(f.severity)),
                        ("code", Out::Str(f.code)),
                    ];
                    if let Some(t) = &f.table {
                        pairs.push(("table", Out::Str(t)));
                    }
                    if let Some(c) = &f.column {
                        pairs.push(("column", Out::Str(c)));
                    }
                    if let Some(r) = f.recommendation {
                        pairs.push(("recommendation", Out::Str(r)));
                    }
                    Out::object(pairs)
                })
                .collect();
            Out::object(vec![("index", Out::Str(idx)), ("sql", Out::Str(sql)), ("findings", Out::Array(fs))])
        })
        .collect();
    let mut top = vec![("syntax_ok", Out::Bool(error.is_none())), ("statements", Out::Array(items))];
    if let Some(e) = &error {
        top.push(("error", Out::Str(e)));
    }
    if let Some(p) = &position {
        top.push(("position", Out::Str(p)));
    }
    Writer::finish(&Out::object(top))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_from_messages() {
        assert_eq!(error_position("SELECT * FROMM t", "syntax error at or near \"FROMM\""), Some(10));
        assert_eq!(error_position("SELECT (", "syntax error at end of input"), Some(8));
        assert_eq!(strip_quotes("\"My \"\"Col\"\"\""), "My \"Col\"");
    }
}
