//! Plumbing shared by every capability: raising errors, the extension's settings, and
//! telling a restore (pg_restore's COPY) from an application write.

pub mod errors;
pub mod restoring_copy;
pub mod settings;
