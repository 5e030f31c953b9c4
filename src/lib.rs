//! pg_migrate: zero-downtime schema and JSONB document evolution inside PostgreSQL.
//!
//! Pure logic lives in plain modules (`types`, `breaking`, `json_view`); the pgrx
//! layer (`jsonb`, `merge`, `schema_core`) converts datums and raises errors.

pgrx::pg_module_magic!();

use pgrx::prelude::*;

pub mod breaking;
pub mod compat;
pub mod engine;
pub mod entity_store;
pub mod errors;
pub mod json_view;
pub mod jsonb;
pub mod merge;
pub mod pipeline;
pub mod plan;
pub mod registry;
#[path = "pg/restoring_copy.rs"] pub mod restoring_copy;
pub mod safety;
pub mod schema_core;
pub mod settings;
pub mod sqlcheck;
pub mod types;
pub mod validate;

// Every SQL object is declared in its source file under sql/ (no SQL is generated from
// Rust attributes); scripts/build_sql.sh assembles them into this one install script.
pgrx::extension_sql_file!("../sql/generated/install.sql", name = "install", bootstrap);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
