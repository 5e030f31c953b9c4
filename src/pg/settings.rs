//! The extension's settings (GUCs), registered when the library loads.

use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Validation {
    #[name = c"off"]
    Off,
    #[name = c"warn"]
    Warn,
    #[name = c"enforce"]
    Enforce,
}

#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeprecatedPolicy {
    #[name = c"off"]
    Off,
    #[name = c"warn"]
    Warn,
    #[name = c"error"]
    Error,
}

#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum CompatibilityMode {
    #[name = c"BACKWARD"]
    Backward,
    #[name = c"BACKWARD_TRANSITIVE"]
    BackwardTransitive,
    #[name = c"FORWARD"]
    Forward,
    #[name = c"FORWARD_TRANSITIVE"]
    ForwardTransitive,
    #[name = c"FULL"]
    Full,
    #[name = c"FULL_TRANSITIVE"]
    FullTransitive,
    #[name = c"NONE"]
    None,
}

pub static VALIDATION: GucSetting<Validation> = GucSetting::<Validation>::new(Validation::Enforce);
pub static DEPRECATED_POLICY: GucSetting<DeprecatedPolicy> = GucSetting::<DeprecatedPolicy>::new(DeprecatedPolicy::Warn);
pub static COMPATIBILITY_MODE: GucSetting<CompatibilityMode> = GucSetting::<CompatibilityMode>::new(CompatibilityMode::Backward);

/// Each of these weakens or changes enforcement, so only superusers and roles granted
/// `SET ON PARAMETER` may change them (PGC_SUSET).
pub fn register() {
    GucRegistry::define_enum_guc(
        c"pg_migrate.validation",
        c"How the entity-store trigger treats documents that break the active schema.",
        c"off skips validation, warn raises a WARNING, enforce raises an ERROR (SQLSTATE 23514).",
        &VALIDATION,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"pg_migrate.deprecated_field_policy",
        c"What a write that carries a deprecated field does.",
        c"off ignores it, warn raises a WARNING, error refuses the write. Writes are counted unless off.",
        &DEPRECATED_POLICY,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"pg_migrate.compatibility_mode",
        c"The compatibility mode activating a new schema version must satisfy.",
        c"BACKWARD, FORWARD, FULL (each optionally _TRANSITIVE) or NONE.",
        &COMPATIBILITY_MODE,
        GucContext::Suset,
        GucFlags::default(),
    );
}
