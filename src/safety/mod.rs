//! Pre-flight safety: scripts split by PostgreSQL's parser, read from the parse tree
//! (`parse_tree`, the only pgrx-facing reader), completed from the catalog (`catalog`),
//! judged by plain rules (`facts`, `lock_rules`, `classify`), served as SQL functions
//! (`analyze_sql`); plus the dependency order of migrations (`migration_order`).

pub mod analyze_sql;
pub mod catalog;
pub mod classify;
pub mod facts;
pub mod lock_rules;
pub mod parse_tree;
