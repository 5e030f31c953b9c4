//! Schema evolution: type rules (`types`), breaking changes (`breaking`), compatibility
//! modes (`compat`), document validation (`validate`) — pure logic — and the thin layer
//! over them: the SQL functions (`sql_functions`, `check_compatibility`) and the
//! entity-store trigger (`entity_trigger`).

pub mod breaking;
pub mod check_compatibility;
pub mod compat;
pub mod entity_trigger;
pub mod sql_functions;
pub mod types;
pub mod validate;
