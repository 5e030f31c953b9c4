//! pg_migrate: zero-downtime schema and JSONB document evolution inside PostgreSQL.
//!
//! Pure logic lives in plain modules (`types`, `breaking`, `json_view`); the pgrx
//! layer (`jsonb`, `merge`, `schema_core`) converts datums and raises errors.

pgrx::pg_module_magic!();

pub mod breaking;
pub mod errors;
pub mod json_view;
pub mod jsonb;
pub mod merge;
pub mod schema_core;
pub mod types;

pgrx::extension_sql_file!("../sql/tables.sql", name = "tables", bootstrap);

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
