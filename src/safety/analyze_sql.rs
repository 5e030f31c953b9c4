//! SQL surface of the pre-flight checks: scripts split and read by PostgreSQL's parser,
//! completed from the catalog, judged statement by statement in the context of the
//! migration's steps and transactions.

use super::classify::{judge, Context, Finding, Place};
use super::facts::Statement;
use super::{catalog, parse_tree};
use crate::jsonb::view::{JsonView, Kind};
use crate::jsonb::Jsonb;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// One step to analyze: its kind (SQL, VALIDATE, FUNCTION), script, condition, and
/// whether it runs in a transaction block.
pub struct Step {
    pub kind: String,
    pub script: Option<String>,
    pub condition: Option<String>,
    pub transactional: bool,
}

/// JSON string literal.
fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn finding_json(f: &Finding) -> String {
    let mut parts = vec![
        format!("\"action\": {}", js(f.action)),
        format!("\"lock\": {}", js(f.lock.name())),
        format!("\"rewrite\": {}", f.rewrite),
        format!("\"scan\": {}", f.scan),
        format!("\"data_loss\": {}", f.data_loss),
        format!("\"needs_autocommit\": {}", f.needs_autocommit),
        format!("\"severity\": {}", js(f.severity)),
        format!("\"code\": {}", js(f.code)),
    ];
    if let Some(t) = &f.table {
        parts.push(format!("\"table\": {}", js(t)));
    }
    if let Some(c) = &f.column {
        parts.push(format!("\"column\": {}", js(c)));
    }
    if let Some(r) = f.recommendation {
        parts.push(format!("\"recommendation\": {}", js(r)));
    }
    format!("{{{}}}", parts.join(", "))
}

/// `(SELECT (<condition>\n))`, as the engine wraps it: the text to parse and how many
/// characters precede the condition.
fn condition_query(cond: &str) -> (String, usize) {
    let trimmed = cond.trim_end_matches(|c: char| c.is_whitespace() || c == ';');
    (format!("SELECT ({trimmed}\n)"), "SELECT (".len())
}

/// Analyze steps in order, with what earlier steps did (tables they created, constraints
/// they added NOT VALID) and where the engine commits (around non-transactional steps).
/// Each step's analysis, as the members of a JSON object (without step number and flag).
pub fn analyze(steps: &[Step], search_path: Option<&str>) -> Vec<Vec<String>> {
    let mut ctx = Context::default();
    let mut tx = 0usize;
    let mut previous_transactional = true;
    let mut out = Vec::new();
    for step in steps {
        pgrx::check_for_interrupts!();
        let mut obj = Vec::new();
        let mut error: Option<(String, Option<usize>, &str)> = None;
        if let Some(cond) = &step.condition {
            let (q, offset) = condition_query(cond);
            if let Err(e) = parse_tree::parse(&q) {
                let pos = e.position.map(|p| p.saturating_sub(offset).clamp(1, cond.chars().count().max(1)));
                error = Some((e.message, pos, "condition"));
            }
        }
        let mut statements: Vec<Statement> = Vec::new();
        if error.is_none() && step.kind != "FUNCTION" {
            if let Some(script) = &step.script {
                match parse_tree::parse(script) {
                    Ok(s) => statements = s,
                    Err(e) => error = Some((e.message, e.position, "script")),
                }
            }
        }
        catalog::complete(&mut statements, search_path);
        let several = statements.len() > 1;
        // The engine runs a step whose one statement needs autocommit as a phase of its own,
        // outside any transaction block (run_migration), just as if it were marked
        // "transaction": false; execute_migration refuses such a step with a HINT.
        let transactional = step.transactional && !(statements.len() == 1 && statements[0].needs_autocommit());
        if !transactional || !previous_transactional {
            tx += 1;
        }
        previous_transactional = transactional;
        let mut items = Vec::new();
        for (i, st) in statements.iter().enumerate() {
            let place = Place {
                transaction: tx,
                in_transaction_block: transactional,
            };
            let mut findings = judge(&mut ctx, st, place);
            if !transactional && st.needs_autocommit() && several {
                for f in findings.iter_mut().filter(|f| f.needs_autocommit) {
                    f.severity = "CRITICAL";
                    f.code = "AUTOCOMMIT_NOT_ALONE";
                    f.recommendation = Some("A statement that cannot run in a transaction block must be the only statement of its step: PostgreSQL runs a multi-statement string as one transaction.");
                }
            }
            if step.transactional && !transactional {
                // Isolated by the engine: flagged (execute_migration refuses it), not blocking.
                for f in findings.iter_mut().take(1) {
                    if f.severity != "CRITICAL" && f.severity != "HIGH" {
                        f.severity = "MEDIUM";
                    }
                    if f.code == "SAFE" {
                        f.code = "NEEDS_RUN_MIGRATION";
                    }
                    if f.recommendation.is_none() {
                        f.recommendation = Some("Runs outside a transaction as a phase of its own: run the migration with CALL pgmigrate.run_migration (execute_migration refuses it).");
                    }
                }
            }
            if !transactional && st.needs_autocommit() {
                tx += 1;
            }
            items.push(format!(
                "{{\"index\": {}, \"sql\": {}, \"needs_autocommit\": {}, \"transaction_control\": {}, \"findings\": [{}]}}",
                js(&(i + 1).to_string()),
                js(&st.sql),
                st.needs_autocommit(),
                st.transaction_control(),
                findings.iter().map(finding_json).collect::<Vec<_>>().join(", ")
            ));
        }
        obj.push(format!("\"syntax_ok\": {}", error.is_none()));
        obj.push(format!("\"statements\": [{}]", items.join(", ")));
        if let Some((message, position, at)) = &error {
            obj.push(format!("\"error\": {}", js(message)));
            obj.push(format!("\"error_in\": {}", js(at)));
            if let Some(p) = position {
                obj.push(format!("\"position\": {}", js(&p.to_string())));
            }
        }
        out.push(obj);
    }
    out
}

/// JSON text as a jsonb datum (PostgreSQL's own input function).
fn to_jsonb(text: String) -> Jsonb {
    let c = std::ffi::CString::new(text).unwrap_or_else(|_| {
        crate::pg::errors::raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "analyze_sql built a report containing a NUL byte",
            None,
            None,
        )
    });
    // SAFETY: jsonb_in reads a NUL-terminated cstring and returns a new jsonb datum.
    let datum = unsafe { pgrx::direct_function_call_as_datum(pg_sys::jsonb_in, &[Some(pg_sys::Datum::from(c.as_ptr()))]) };
    // SAFETY: a non-null jsonb datum.
    datum.and_then(|d| unsafe { Jsonb::from_datum(d, false) }).unwrap_or_else(|| {
        crate::pg::errors::raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "jsonb_in returned no value for analyze_sql's report",
            None,
            None,
        )
    })
}

/// Steps as migrations hold them: `[{type, script, condition, transaction}]` or plain strings.
fn steps_of(steps: &Jsonb) -> Vec<Step> {
    let root = steps.root();
    let items = if root.kind() == Kind::Array { root.elements() } else { vec![root] };
    items
        .into_iter()
        .map(|v| match v.kind() {
            Kind::Object => Step {
                kind: v.get("type").and_then(|t| t.text()).map(|t| t.to_uppercase()).unwrap_or_else(|| "SQL".into()),
                script: v.get("script").and_then(|t| t.text()).map(|t| t.into_owned()),
                condition: v.get("condition").and_then(|t| t.text()).map(|t| t.into_owned()),
                transactional: !v
                    .get("transaction")
                    .is_some_and(|t| t.kind() == Kind::Boolean && t.text().as_deref() == Some("false")),
            },
            _ => Step {
                kind: "SQL".into(),
                script: v.text().map(|t| t.into_owned()),
                condition: None,
                transactional: true,
            },
        })
        .collect()
}

/// `analyze_steps(steps jsonb, search_path text DEFAULT NULL)`: each step analysed in the
/// context of the ones before it; unqualified names resolve along `search_path` (the
/// caller's when NULL).
#[pg_extern(stable, sql = false)]
fn analyze_steps(steps: Option<Jsonb>, search_path: Option<&str>) -> Option<Jsonb> {
    let steps = steps_of(&steps?);
    let items: Vec<String> = analyze(&steps, search_path)
        .into_iter()
        .zip(&steps)
        .enumerate()
        .map(|(n, (mut members, step))| {
            members.insert(0, format!("\"step\": {}, \"transaction\": {}", n + 1, step.transactional));
            format!("{{{}}}", members.join(", "))
        })
        .collect();
    Some(to_jsonb(format!("[{}]", items.join(", "))))
}

/// `analyze_sql(script text, transaction boolean DEFAULT true)`: one script, as one step.
#[pg_extern(stable, strict, sql = false)]
fn analyze_sql(script: &str, transaction: bool) -> Jsonb {
    let step = Step {
        kind: "SQL".into(),
        script: Some(script.to_string()),
        condition: None,
        transactional: transaction,
    };
    let members = analyze(&[step], None).pop().unwrap_or_default();
    to_jsonb(format!("{{{}}}", members.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_conditions() {
        assert_eq!(js("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(condition_query("SELECT 1; \n").0, "SELECT (SELECT 1\n)");
        assert_eq!(condition_query("true -- yes").0, "SELECT (true -- yes\n)");
    }
}
