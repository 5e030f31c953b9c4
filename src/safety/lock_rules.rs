//! Table locks of the statements that are not ALTER TABLE, as PostgreSQL 15 documents
//! them (Chapter 13.3.1 "Table-Level Locks", and each command's reference page). ALTER
//! TABLE's commands take the level PostgreSQL itself computes (`AlterTableGetLockLevel`,
//! called on the raw commands in `parse_tree`).

use super::facts::Lock;

/// SELECT: "ACCESS SHARE ... The SELECT command acquires a lock of this mode on referenced
/// tables"; FOR UPDATE / FOR SHARE: "ROW SHARE ... Acquired by SELECT FOR UPDATE and SELECT FOR SHARE".
pub fn select(locking: bool) -> Lock {
    if locking {
        Lock::RowShare
    } else {
        Lock::AccessShare
    }
}

/// "ROW EXCLUSIVE ... The commands UPDATE, DELETE, INSERT, and MERGE acquire this lock mode on the target table".
pub const DML: Lock = Lock::RowExclusive;

/// "SHARE ... Acquired by CREATE INDEX (without CONCURRENTLY)"; "SHARE UPDATE EXCLUSIVE ...
/// Acquired by VACUUM (without FULL), ANALYZE, CREATE INDEX CONCURRENTLY, CREATE STATISTICS,
/// COMMENT ON, REINDEX CONCURRENTLY, and certain ALTER INDEX and ALTER TABLE variants".
pub fn create_index(concurrent: bool) -> Lock {
    if concurrent {
        Lock::ShareUpdateExclusive
    } else {
        Lock::Share
    }
}

/// DROP INDEX: "A normal DROP INDEX acquires an ACCESS EXCLUSIVE lock on the table,
/// blocking other accesses until the index drop can be completed. With [CONCURRENTLY], the
/// command instead waits until conflicting transactions have completed" (it takes
/// SHARE UPDATE EXCLUSIVE).
pub fn drop_index(concurrent: bool) -> Lock {
    if concurrent {
        Lock::ShareUpdateExclusive
    } else {
        Lock::AccessExclusive
    }
}

/// "ACCESS EXCLUSIVE ... Acquired by the DROP TABLE, TRUNCATE, REINDEX, CLUSTER, VACUUM
/// FULL, and REFRESH MATERIALIZED VIEW (without CONCURRENTLY) commands. Many forms of ALTER
/// INDEX and ALTER TABLE also acquire a lock at this level. This is also the default lock
/// mode for LOCK TABLE statements that do not specify a mode explicitly."
pub const DROP_TABLE: Lock = Lock::AccessExclusive;
pub const TRUNCATE: Lock = Lock::AccessExclusive;
pub const CLUSTER: Lock = Lock::AccessExclusive;

pub fn vacuum(full: bool) -> Lock {
    if full {
        Lock::AccessExclusive
    } else {
        Lock::ShareUpdateExclusive
    }
}

/// "EXCLUSIVE ... Acquired by REFRESH MATERIALIZED VIEW CONCURRENTLY."
pub fn refresh(concurrent: bool) -> Lock {
    if concurrent {
        Lock::Exclusive
    } else {
        Lock::AccessExclusive
    }
}

/// REINDEX reference page: "REINDEX is similar to a drop and recreate of the index in that
/// the index contents are rebuilt from scratch. However, the locking considerations are
/// rather different. REINDEX locks out writes but not reads of the index's parent table. It
/// also takes an ACCESS EXCLUSIVE lock on the specific index being processed" (so SHARE on
/// the table, ACCESS EXCLUSIVE on an index); CONCURRENTLY: SHARE UPDATE EXCLUSIVE.
pub fn reindex(concurrent: bool, index: bool) -> Lock {
    match (concurrent, index) {
        (true, _) => Lock::ShareUpdateExclusive,
        (false, true) => Lock::AccessExclusive,
        (false, false) => Lock::Share,
    }
}

/// "SHARE ROW EXCLUSIVE ... Acquired by CREATE TRIGGER and some forms of ALTER TABLE."
pub const CREATE_TRIGGER: Lock = Lock::ShareRowExclusive;

/// ALTER TABLE: "Adding a foreign key constraint requires a SHARE ROW EXCLUSIVE lock on the
/// referenced table, in addition to the lock on the table receiving the constraint."
pub const REFERENCED_BY_NEW_FOREIGN_KEY: Lock = Lock::ShareRowExclusive;

/// COMMENT ON, CREATE STATISTICS, ANALYZE: SHARE UPDATE EXCLUSIVE (see `create_index`).
pub const SHARE_UPDATE_EXCLUSIVE: Lock = Lock::ShareUpdateExclusive;

/// ALTER TABLE RENAME / SET SCHEMA and DROP of a table-like object: "An ACCESS EXCLUSIVE
/// lock is acquired unless explicitly noted"; ALTER INDEX RENAME takes SHARE UPDATE EXCLUSIVE.
pub fn rename(index: bool) -> Lock {
    if index {
        Lock::ShareUpdateExclusive
    } else {
        Lock::AccessExclusive
    }
}

/// ALTER DOMAIN ADD CONSTRAINT / VALIDATE CONSTRAINT / SET NOT NULL check every column of
/// the domain's type, holding SHARE on each table that uses it.
pub const DOMAIN_CHECK: Lock = Lock::Share;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_levels() {
        assert_eq!(create_index(false).name(), "SHARE");
        assert_eq!(create_index(true).name(), "SHARE UPDATE EXCLUSIVE");
        assert_eq!(refresh(true).name(), "EXCLUSIVE");
        assert_eq!(reindex(false, false).name(), "SHARE");
        assert_eq!(reindex(false, true).name(), "ACCESS EXCLUSIVE");
        assert_eq!(vacuum(false), Lock::ShareUpdateExclusive);
        assert_eq!(Lock::from_mode(6), Lock::ShareRowExclusive);
        assert!(Lock::Share.blocks_writes() && !Lock::ShareUpdateExclusive.blocks_writes());
    }
}
