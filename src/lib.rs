//! pg_migrate: zero-downtime schema and JSONB document evolution inside PostgreSQL.
//!
//! One folder per capability. Pure logic (type rules, breaking changes, compatibility,
//! validation, dependency order, statement classification, jsonb views) lives in plain
//! modules with plain tests; the modules that call into PostgreSQL are thin:
//! - `pg`: errors, settings (GUCs), restore detection — shared plumbing;
//! - `jsonb`: PostgreSQL's binary jsonb read and written in place, and the deep merge;
//! - `schema`: type rules, breaking changes, compatibility modes, document validation,
//!   the SQL functions over them, and the entity-store trigger;
//! - `engine`: running stored SQL as its author, entry points that know their caller,
//!   the step timer, dependency order, the background worker for autocommit steps;
//! - `safety`: the pre-flight statement analysis.

pgrx::pg_module_magic!();

use pgrx::prelude::*;

pub mod canary;
pub mod engine;
pub mod jsonb;
pub mod pg;
pub mod pipeline;
pub mod safety;
pub mod schema;

// Every SQL object is declared in its source file under sql/ (no SQL is generated from
// Rust attributes); scripts/build_sql.sh assembles them into this one install script.
pgrx::extension_sql_file!("../sql/generated/install.sql", name = "install", bootstrap);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::settings::register();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
