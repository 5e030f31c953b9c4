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
pub mod plan;
pub mod registry;
#[path = "pg/restoring_copy.rs"] pub mod restoring_copy;
pub mod safety;
pub mod schema_core;
pub mod settings;
pub mod sqlcheck;
pub mod types;
pub mod validate;

pgrx::extension_sql_file!("../sql/tables.sql", name = "tables", bootstrap);
// Everything added after 0.1.0 lives in the upgrade scripts, which fresh installs run too.
pgrx::extension_sql_file!("../sql/pg_migrate--0.1.0--0.2.0.sql", name = "v0_2_0");
pgrx::extension_sql_file!("../sql/pg_migrate--0.2.0--0.3.0.sql", name = "v0_3_0");
pgrx::extension_sql_file!("../sql/pg_migrate--0.3.0--0.4.0.sql", name = "v0_4_0", finalize);

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
