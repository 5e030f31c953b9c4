//! Native support for the migration engine (the orchestration itself is PL/pgSQL in
//! sql/0.4.0/): running stored SQL as the role that stored it, calling pg_migrate's
//! privileged functions with the caller's identity, and the per-step timer.

pub mod job_worker;
pub mod migration_order;
pub mod migration_order_sql;
pub mod owner_call;
pub mod run_as;
pub mod run_lock;
pub mod step_timer;
