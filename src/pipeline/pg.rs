//! The thin PostgreSQL layer of pipelines: parse and compile a definition for the
//! PL/pgSQL runner, raising 22023 naming the JSON path of anything wrong.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

use super::compile::compile;
use super::def::{parse, parse_options, ErrorMode};
use crate::pg::errors::raise;

fn mode(m: ErrorMode) -> &'static str {
    match m {
        ErrorMode::Skip => "SKIP",
        ErrorMode::Retry => "RETRY",
        ErrorMode::Fail => "FAIL",
    }
}

/// Compiled SQL may call helper functions of this version's SQL script: with a library
/// newer than the installed SQL (binaries upgraded, ALTER EXTENSION UPDATE not run yet)
/// such a pipeline is refused at registration, not left to fail on every document.
fn require_helpers(sql: &[String]) {
    const HELPERS: [(&str, &str); 3] = [
        ("pgmigrate._pipeline_shape_error(", "pgmigrate._pipeline_shape_error(text, jsonb)"),
        ("pgmigrate._pipeline_number(", "pgmigrate._pipeline_number(text)"),
        ("pgmigrate._pipeline_timestamp(", "pgmigrate._pipeline_timestamp(text)"),
    ];
    // SAFETY: reads a backend-global flag (the update script compiles while it runs).
    if unsafe { pgrx::pg_sys::creating_extension } {
        return;
    }
    for (call, signature) in HELPERS {
        if !sql.iter().any(|s| s.contains(call)) {
            continue;
        }
        let there = Spi::get_one_with_args::<bool>("SELECT pg_catalog.to_regprocedure($1) IS NOT NULL", &[signature.into()])
            .ok()
            .flatten()
            .unwrap_or(false);
        if !there {
            raise(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("this pipeline needs {signature}, which pg_migrate's SQL in this database does not have yet"),
                Some(format!("The library is {}; the extension's SQL objects are older.", env!("CARGO_PKG_VERSION"))),
                Some("Run ALTER EXTENSION pg_migrate UPDATE, then register the pipeline again."),
            );
        }
    }
}

/// `_pipeline_compile(definition) → jsonb`: the definition's settings and its SQL.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn _pipeline_compile(definition: JsonB) -> JsonB {
    let p = parse(&definition.0).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid pipeline definition at {}: {}", e.path, e.message),
            None,
            Some("See docs/pipelines.md for the definition's shape: {name, steps: [{name, type, config, condition, errorHandling}], batchSize, parallel, validation}."),
        )
    });
    let c = compile(&p);
    require_helpers(&c.steps_sql);
    let steps: Vec<_> = p
        .steps
        .iter()
        .map(|s| json!({"name": s.name, "errorHandling": mode(s.error_handling)}))
        .collect();
    JsonB(json!({
        "name": p.name,
        "description": p.description,
        "batchSize": p.batch_size,
        "parallel": p.parallel,
        "maxRetries": p.max_retries,
        "entityType": p.entity_type,
        "query": p.query,
        "validation": {
            "input": p.validation.input,
            "output": p.validation.output,
            "errorHandling": mode(p.validation.error_handling),
            "schemaVersion": p.validation.schema_version,
        },
        "steps": steps,
        "stepsSql": c.steps_sql,
        "stepOut": c.step_out,
        "jsonpaths": c.jsonpaths,
        "functions": c.functions,
        "tables": c.tables,
        "wholeInput": c.whole_input,
        "builtinOnly": c.builtin_only,
    }))
}

/// `_pipeline_options(options) → jsonb`: run options checked and normalized.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn _pipeline_options(options: Option<JsonB>) -> JsonB {
    let v = options.map_or(serde_json::Value::Null, |j| j.0);
    let o = parse_options(&v).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid pipeline option at {}: {}", e.path, e.message),
            None,
            Some("Options: entityType, outputEntityType, batchSize, restart, lockTimeoutMs, query, workers, join."),
        )
    });
    JsonB(serde_json::to_value(o).unwrap_or_default())
}
