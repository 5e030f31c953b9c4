//! Canary routing: a stable, growing share of keys served by the new color of a
//! blue-green deployment, judged on metrics, promoted or rolled back.
//!
//! `hash`, `options` and `judge` are pure Rust with plain tests; `pg` is the thin layer
//! PostgreSQL calls (the orchestration is PL/pgSQL under sql/canary/).

pub mod hash;
pub mod judge;
pub mod options;
mod pg;
