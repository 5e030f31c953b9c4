//! Transformation pipelines: a definition (MAP, FILTER, AGGREGATE, JOIN, CUSTOM steps) is
//! parsed with serde into typed structs (`def`) and compiled into one set-based SQL
//! statement per batch (`compile`): PostgreSQL evaluates every rule over the whole batch,
//! jsonpath predicates with its own `jsonb_path_match`, lookups and joins as one join per
//! batch. `pg` is the thin layer PostgreSQL calls; `worker` the background workers that
//! share a parallel run.

pub mod compile;
pub mod def;
pub mod pg;
pub mod worker;
