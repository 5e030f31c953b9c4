//! Rules over facts: the risk each statement carries for a live table, in the context of
//! the script (and migration) it belongs to. Plain Rust; tested with plain #[test]s.

use super::facts::{Facts, Lock, Rel, Statement};

/// One risk (or all-clear) for one statement or ALTER TABLE command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub action: &'static str,
    pub table: Option<String>,
    pub column: Option<String>,
    pub lock: Lock,
    pub rewrite: bool,
    pub scan: bool,
    pub data_loss: bool,
    pub needs_autocommit: bool,
    pub severity: &'static str,
    pub code: &'static str,
    pub recommendation: Option<&'static str>,
}

impl Finding {
    fn risk(mut self, severity: &'static str, code: &'static str, recommendation: &'static str) -> Self {
        self.severity = severity;
        self.code = code;
        self.recommendation = Some(recommendation);
        self
    }
}

/// What the script has done so far, across the steps of one phase list (forward, ...).
#[derive(Debug, Default)]
pub struct Context {
    /// Relations created earlier: new and empty, nobody else uses them yet.
    created: Vec<Rel>,
    /// Constraints added NOT VALID: (table, constraint, transaction they were added in).
    not_valid: Vec<(Rel, String, usize)>,
    /// Columns proven not null by a validated CHECK (col IS NOT NULL) added by the script.
    not_null_checks: Vec<(Rel, String)>,
    /// NOT VALID CHECK (col IS NOT NULL) constraints: (table, constraint, column).
    pending_not_null: Vec<(Rel, String, String)>,
}

/// Where a statement runs: its transaction (a number that changes at every commit) and
/// whether that is a transaction block at all.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub transaction: usize,
    pub in_transaction_block: bool,
}

impl Context {
    fn is_new(&self, table: &Option<Rel>) -> bool {
        table.as_ref().is_some_and(|t| self.created.iter().any(|c| c.same(t)))
    }
    fn proven_not_null(&self, table: &Option<Rel>, column: &Option<String>) -> bool {
        match (table, column) {
            (Some(t), Some(c)) => self.not_null_checks.iter().any(|(r, col)| r.same(t) && col == c),
            _ => false,
        }
    }

    /// Judge one statement's facts, then remember what it did.
    pub fn judge(&mut self, st: &Statement, place: Place) -> Vec<Finding> {
        let mut out = Vec::new();
        for f in &st.facts {
            out.extend(self.judge_one(f, place));
        }
        for f in &st.facts {
            self.remember(f, place);
        }
        out
    }

    fn remember(&mut self, f: &Facts, place: Place) {
        if let Some(c) = &f.creates {
            self.created.push(c.clone());
        }
        let (Some(t), Some(name)) = (&f.table, &f.constraint) else {
            return;
        };
        match f.action {
            "ADD CHECK" | "ADD FOREIGN KEY" if f.not_valid => {
                self.not_valid.push((t.clone(), name.clone(), place.transaction));
                if let Some(col) = &f.check_not_null_of {
                    self.pending_not_null.push((t.clone(), name.clone(), col.clone()));
                }
            }
            "ADD CHECK" => {
                if let Some(col) = &f.check_not_null_of {
                    self.not_null_checks.push((t.clone(), col.clone()));
                }
            }
            "VALIDATE CONSTRAINT" => {
                let proven: Vec<String> = self
                    .pending_not_null
                    .iter()
                    .filter(|(r, c, _)| r.same(t) && c == name)
                    .map(|(_, _, col)| col.clone())
                    .collect();
                for col in proven {
                    self.not_null_checks.push((t.clone(), col));
                }
            }
            _ => {}
        }
    }

    fn judge_one(&self, f: &Facts, place: Place) -> Vec<Finding> {
        let mut base = Finding {
            action: f.action,
            table: f.table.as_ref().map(|t| t.to_string()),
            column: f.column.clone(),
            lock: f.lock,
            rewrite: false,
            scan: false,
            data_loss: false,
            needs_autocommit: f.needs_autocommit,
            severity: "LOW",
            code: "SAFE",
            recommendation: None,
        };
        if f.transaction_control {
            return vec![base.risk(
                "CRITICAL",
                "TRANSACTION_CONTROL",
                "Remove COMMIT/ROLLBACK/BEGIN/SAVEPOINT from the step: the engine controls transactions (run_migration commits between phases; mark a step \"transaction\": false to run it on its own).",
            )];
        }
        let mut extra = Vec::new();
        if let Some(r) = &f.references {
            // A new foreign key also locks the table it references (unless that table is new).
            let mut other = Finding {
                action: "FOREIGN KEY (referenced table)",
                table: Some(r.to_string()),
                column: None,
                lock: super::lock_rules::REFERENCED_BY_NEW_FOREIGN_KEY,
                rewrite: false,
                scan: false,
                data_loss: false,
                needs_autocommit: false,
                severity: "LOW",
                code: "SAFE",
                recommendation: None,
            };
            if !self.is_new(&Some(r.clone())) {
                other = other.risk(
                    "MEDIUM",
                    "LOCKS_REFERENCED_TABLE",
                    "The foreign key takes SHARE ROW EXCLUSIVE on the referenced table too (writes to it wait): run it with a short lock_timeout.",
                );
            }
            extra.push(other);
        }
        let new_table = self.is_new(&f.table);
        let judged = self.rules(f, &mut base, new_table);
        let mut judged = match judged {
            Some(j) => j,
            None => base,
        };
        if new_table && judged.severity != "CRITICAL" {
            // Created by this migration: empty, and no other session uses it yet.
            judged.rewrite = false;
            judged.scan = false;
            judged.data_loss = false;
            judged.severity = "LOW";
            judged.code = "NEW_TABLE";
            judged.recommendation = None;
        }
        if f.needs_autocommit && place.in_transaction_block {
            judged = judged.risk(
                "CRITICAL",
                "NEEDS_AUTOCOMMIT",
                "This statement cannot run inside a transaction block: put it in a step of its own marked \"transaction\": false and run the migration with CALL pgmigrate.run_migration.",
            );
        }
        let mut out = vec![judged];
        out.extend(extra);
        out
    }

    /// The rule for one kind of statement; None leaves the all-clear.
    fn rules(&self, f: &Facts, b: &mut Finding, new_table: bool) -> Option<Finding> {
        let b = b.clone();
        let blocking = f.lock.blocks_writes();
        Some(match f.action {
            "ADD COLUMN" => {
                let rewrite = f.volatile_default || f.serial || f.identity || f.generated_stored;
                if rewrite {
                    Finding { rewrite: true, ..b }.risk(
                        "HIGH",
                        "TABLE_REWRITE",
                        "Add the column without a volatile default (or identity / stored generated expression), backfill it in batches, then set the default.",
                    )
                } else if f.builds_index {
                    Finding { scan: true, ..b }.risk(
                        "HIGH",
                        "INDEX_BUILD_UNDER_LOCK",
                        "Add the column plain, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX.",
                    )
                } else if f.check {
                    Finding { scan: true, ..b }.risk(
                        "HIGH",
                        "CONSTRAINT_SCAN",
                        "Add the column plain, then the CHECK constraint NOT VALID, and VALIDATE CONSTRAINT in a later step.",
                    )
                } else if f.not_null && !f.has_default {
                    b.risk(
                        "MEDIUM",
                        "NOT_NULL_WITHOUT_DEFAULT",
                        "Adding a NOT NULL column without a default fails on a non-empty table; add a default or add it nullable and backfill.",
                    )
                } else {
                    return None;
                }
            }
            "ALTER COLUMN TYPE" => {
                if f.type_change_free && !f.using_expression {
                    Finding { code: "NO_REWRITE", ..b }
                } else {
                    Finding { rewrite: true, ..b }.risk(
                        "HIGH",
                        "TABLE_REWRITE",
                        "Add a new column of the new type, backfill it in batches and switch readers, instead of rewriting the table under an exclusive lock.",
                    )
                }
            }
            "SET NOT NULL" => {
                if f.not_null_proven || self.proven_not_null(&f.table, &f.column) {
                    Finding { code: "NOT_NULL_PROVEN", ..b }
                } else {
                    Finding { scan: true, ..b }.risk(
                        "HIGH",
                        "FULL_SCAN_UNDER_LOCK",
                        "Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later step, then SET NOT NULL (it reuses the validated constraint).",
                    )
                }
            }
            "ADD CHECK" if !f.not_valid => Finding { scan: true, ..b }.risk(
                "HIGH",
                "CONSTRAINT_SCAN",
                "Add the constraint NOT VALID, then VALIDATE CONSTRAINT in a separate step.",
            ),
            "ADD FOREIGN KEY" if !f.not_valid => Finding { scan: true, ..b }.risk(
                "HIGH",
                "CONSTRAINT_SCAN",
                "Add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a separate step (SHARE UPDATE EXCLUSIVE only).",
            ),
            "ADD UNIQUE/PRIMARY KEY" | "ADD EXCLUSION" if f.builds_index => Finding { scan: true, ..b }.risk(
                "HIGH",
                "INDEX_BUILD_UNDER_LOCK",
                "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX.",
            ),
            "VALIDATE CONSTRAINT" => Finding { scan: true, ..b },
            "DROP COLUMN" => Finding { data_loss: true, ..b }.risk(
                "HIGH",
                "DATA_LOSS",
                "Stop reading and writing the column first (deprecate it), back it up, and drop it in a later release.",
            ),
            "RENAME TABLE" | "RENAME COLUMN" | "SET SCHEMA" => b.risk(
                "MEDIUM",
                "BREAKS_READERS",
                "Renames break running clients; add the new name alongside (a view or a generated column) and switch readers first.",
            ),
            "SET TABLESPACE" | "SET LOGGED/UNLOGGED" | "SET ACCESS METHOD" => Finding { rewrite: true, ..b }.risk(
                "HIGH",
                "TABLE_REWRITE",
                "This rewrites the table under ACCESS EXCLUSIVE: do it in a maintenance window, or copy the data online (pg_repack).",
            ),
            "ATTACH PARTITION" => Finding { scan: true, ..b }.risk(
                "MEDIUM",
                "PARTITION_SCAN",
                "Add a CHECK constraint matching the partition bound to the table (NOT VALID, then VALIDATE) before attaching, so the attach skips its scan.",
            ),
            "DETACH PARTITION" if !f.concurrent => b.risk(
                "MEDIUM",
                "BLOCKS_TABLE",
                "Use DETACH PARTITION ... CONCURRENTLY (SHARE UPDATE EXCLUSIVE) in a step marked \"transaction\": false.",
            ),
            "CREATE INDEX" | "CREATE UNIQUE INDEX" => {
                if f.concurrent {
                    Finding { scan: true, ..b }
                } else {
                    Finding { scan: true, ..b }.risk(
                        "HIGH",
                        "BLOCKS_WRITES",
                        "Use CREATE INDEX CONCURRENTLY (in a step marked \"transaction\": false) so writes continue while the index builds.",
                    )
                }
            }
            "DROP INDEX" if !f.concurrent => b.risk(
                "MEDIUM",
                "BLOCKS_TABLE",
                "Use DROP INDEX CONCURRENTLY (in a step marked \"transaction\": false).",
            ),
            "DROP TABLE" | "DROP SCHEMA" | "DROP DATABASE" => Finding { data_loss: true, ..b }.risk(
                "HIGH",
                "DATA_LOSS",
                "Rename or move it aside first and drop it in a later release, after a backup.",
            ),
            "DROP" if f.cascade => Finding { data_loss: true, ..b }.risk(
                "HIGH",
                "DATA_LOSS",
                "CASCADE also drops the columns and tables that depend on it: drop those explicitly first, after a backup.",
            ),
            "TRUNCATE" => Finding { data_loss: true, ..b }.risk("HIGH", "DATA_LOSS", "Delete in batches with a WHERE clause after a backup, or keep the rows."),
            "VACUUM FULL" => Finding { rewrite: true, ..b }.risk("HIGH", "TABLE_REWRITE", "Use pg_repack or pg_squeeze to reclaim space online."),
            "CLUSTER" => Finding { rewrite: true, ..b }.risk("HIGH", "TABLE_REWRITE", "Use pg_repack to reorder the table online."),
            "REINDEX" if !f.concurrent => b.risk(
                "MEDIUM",
                "BLOCKS_WRITES",
                "Use REINDEX ... CONCURRENTLY (in a step marked \"transaction\": false).",
            ),
            "REFRESH MATERIALIZED VIEW" if !f.concurrent => {
                b.risk("MEDIUM", "BLOCKS_READS", "Add a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY.")
            }
            "LOCK TABLE" if blocking => b.risk("MEDIUM", "EXPLICIT_LOCK", "Keep explicit locks short and set lock_timeout."),
            "UPDATE" if !f.has_where => Finding { scan: true, ..b }.risk(
                "MEDIUM",
                "FULL_TABLE_UPDATE",
                "Update in batches (by key ranges) and commit between them, so locks and WAL stay small.",
            ),
            "DELETE" if f.has_where => Finding { data_loss: true, ..b }.risk(
                "MEDIUM",
                "DATA_LOSS",
                "Keep a copy of the deleted rows (DELETE ... RETURNING into an archive table).",
            ),
            "DELETE" => Finding {
                data_loss: true,
                scan: true,
                ..b
            }
            .risk(
                "HIGH",
                "DATA_LOSS",
                "A DELETE without WHERE empties the table: archive the rows first or add a WHERE clause.",
            ),
            "ALTER DOMAIN ADD CONSTRAINT" if !f.not_valid => Finding { scan: true, ..b }.risk(
                "HIGH",
                "CONSTRAINT_SCAN",
                "Add the domain constraint NOT VALID, then ALTER DOMAIN ... VALIDATE CONSTRAINT in a separate step.",
            ),
            "ALTER DOMAIN SET NOT NULL" | "ALTER DOMAIN VALIDATE CONSTRAINT" => Finding { scan: true, ..b },
            "CREATE TABLE PARTITION OF" if !new_table => b.risk(
                "MEDIUM",
                "BLOCKS_TABLE",
                "CREATE TABLE ... PARTITION OF locks the parent ACCESS EXCLUSIVE: create the table, then ATTACH PARTITION (SHARE UPDATE EXCLUSIVE).",
            ),
            _ => return None,
        })
    }
}

/// The NOT VALID constraint added earlier in the same transaction as this VALIDATE, if any:
/// its lock is then held through the validating scan.
pub fn validates_in_same_transaction(ctx: &Context, f: &Facts, place: Place) -> bool {
    match (f.action, &f.table, &f.constraint) {
        ("VALIDATE CONSTRAINT", Some(t), Some(c)) => ctx
            .not_valid
            .iter()
            .any(|(r, n, tx)| r.same(t) && n == c && *tx == place.transaction && place.in_transaction_block),
        _ => false,
    }
}

/// Judge a statement: its findings, with a VALIDATE of a constraint added NOT VALID in
/// the same transaction flagged.
pub fn judge(ctx: &mut Context, st: &Statement, place: Place) -> Vec<Finding> {
    let same_tx: Vec<bool> = st.facts.iter().map(|f| validates_in_same_transaction(ctx, f, place)).collect();
    let mut out = ctx.judge(st, place);
    if same_tx.iter().any(|b| *b) {
        for f in out.iter_mut().filter(|f| f.action == "VALIDATE CONSTRAINT" && f.code == "SAFE") {
            f.severity = "HIGH";
            f.code = "VALIDATE_IN_SAME_TRANSACTION";
            f.recommendation = Some(
                "The lock taken to add the constraint NOT VALID is held until commit, through the validating scan: VALIDATE CONSTRAINT in a later step marked \"transaction\": false (a separate phase of run_migration).",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(n: &str) -> Option<Rel> {
        Some(Rel::new(None, n))
    }
    fn st(facts: Vec<Facts>) -> Statement {
        Statement { sql: String::new(), facts }
    }
    const TX: Place = Place {
        transaction: 0,
        in_transaction_block: true,
    };
    const AUTO: Place = Place {
        transaction: 1,
        in_transaction_block: false,
    };

    fn one(ctx: &mut Context, f: Facts, place: Place) -> Finding {
        judge(ctx, &st(vec![f]), place).remove(0)
    }

    #[test]
    fn new_tables_block_nobody() {
        let mut ctx = Context::default();
        let idx = Facts::new("CREATE INDEX", Lock::Share).on(rel("t"));
        assert_eq!(one(&mut ctx, idx.clone(), TX).code, "BLOCKS_WRITES");
        ctx.judge(
            &st(vec![Facts {
                creates: Some(Rel::new(Some("public"), "t")),
                ..Facts::new("CREATE TABLE", Lock::None)
            }]),
            TX,
        );
        let f = one(&mut ctx, idx, TX);
        assert_eq!((f.code, f.severity, f.lock), ("NEW_TABLE", "LOW", Lock::Share));
        // Another schema's t is not the new one.
        assert_eq!(
            one(&mut ctx, Facts::new("CREATE INDEX", Lock::Share).on(Some(Rel::new(Some("other"), "t"))), TX).code,
            "BLOCKS_WRITES"
        );
    }

    #[test]
    fn autocommit_and_transaction_control() {
        let mut ctx = Context::default();
        let cic = Facts {
            concurrent: true,
            needs_autocommit: true,
            ..Facts::new("CREATE INDEX", Lock::ShareUpdateExclusive).on(rel("t"))
        };
        assert_eq!(one(&mut ctx, cic.clone(), TX).severity, "CRITICAL");
        let f = one(&mut ctx, cic, AUTO);
        assert_eq!((f.severity, f.scan, f.needs_autocommit), ("LOW", true, true));
        let commit = Facts {
            transaction_control: true,
            ..Facts::new("COMMIT", Lock::None)
        };
        assert_eq!(one(&mut ctx, commit.clone(), TX).code, "TRANSACTION_CONTROL");
        assert_eq!(one(&mut ctx, commit, AUTO).code, "TRANSACTION_CONTROL");
    }

    #[test]
    fn not_valid_then_validate() {
        let add = Facts {
            not_valid: true,
            constraint: Some("c".into()),
            ..Facts::new("ADD CHECK", Lock::AccessExclusive).on(rel("t"))
        };
        let validate = Facts {
            constraint: Some("c".into()),
            ..Facts::new("VALIDATE CONSTRAINT", Lock::ShareUpdateExclusive).on(rel("t"))
        };
        let mut ctx = Context::default();
        assert_eq!(one(&mut ctx, add.clone(), TX).severity, "LOW");
        assert_eq!(one(&mut ctx, validate.clone(), TX).code, "VALIDATE_IN_SAME_TRANSACTION");
        let mut ctx = Context::default();
        one(&mut ctx, add, TX);
        let f = one(
            &mut ctx,
            validate,
            Place {
                transaction: 1,
                in_transaction_block: false,
            },
        );
        assert_eq!((f.code, f.scan), ("SAFE", true));
    }

    #[test]
    fn set_not_null_proven_by_a_check() {
        let set = Facts {
            column: Some("email".into()),
            ..Facts::new("SET NOT NULL", Lock::AccessExclusive).on(rel("users"))
        };
        let mut ctx = Context::default();
        assert_eq!(one(&mut ctx, set.clone(), TX).code, "FULL_SCAN_UNDER_LOCK");
        assert_eq!(
            one(
                &mut ctx,
                Facts {
                    not_null_proven: true,
                    ..set.clone()
                },
                TX
            )
            .code,
            "NOT_NULL_PROVEN"
        );
        // Proven by the script itself: NOT VALID, then VALIDATE.
        let add = Facts {
            not_valid: true,
            constraint: Some("nn".into()),
            check_not_null_of: Some("email".into()),
            ..Facts::new("ADD CHECK", Lock::AccessExclusive).on(rel("users"))
        };
        one(&mut ctx, add, TX);
        assert_eq!(one(&mut ctx, set.clone(), TX).code, "FULL_SCAN_UNDER_LOCK");
        one(
            &mut ctx,
            Facts {
                constraint: Some("nn".into()),
                ..Facts::new("VALIDATE CONSTRAINT", Lock::ShareUpdateExclusive).on(rel("users"))
            },
            AUTO,
        );
        assert_eq!(one(&mut ctx, set, TX).code, "NOT_NULL_PROVEN");
    }

    #[test]
    fn add_column_rules() {
        let mut ctx = Context::default();
        let add = Facts::new("ADD COLUMN", Lock::AccessExclusive).on(rel("t"));
        assert_eq!(one(&mut ctx, add.clone(), TX).code, "SAFE");
        assert!(
            one(
                &mut ctx,
                Facts {
                    volatile_default: true,
                    ..add.clone()
                },
                TX
            )
            .rewrite
        );
        assert!(one(&mut ctx, Facts { identity: true, ..add.clone() }, TX).rewrite);
        assert_eq!(
            one(
                &mut ctx,
                Facts {
                    builds_index: true,
                    ..add.clone()
                },
                TX
            )
            .code,
            "INDEX_BUILD_UNDER_LOCK"
        );
        let fk = judge(
            &mut ctx,
            &st(vec![Facts {
                references: rel("orgs"),
                ..add.clone()
            }]),
            TX,
        );
        assert_eq!(fk.len(), 2);
        assert_eq!(
            (fk[1].table.as_deref(), fk[1].lock, fk[1].code),
            (Some("orgs"), Lock::ShareRowExclusive, "LOCKS_REFERENCED_TABLE")
        );
        assert_eq!(one(&mut ctx, Facts { not_null: true, ..add }, TX).code, "NOT_NULL_WITHOUT_DEFAULT");
    }

    #[test]
    fn quoting() {
        assert_eq!(Rel::new(Some("My Schema"), "t\"x").to_string(), "\"My Schema\".\"t\"\"x\"");
        assert_eq!(Rel::new(None, "users_2").to_string(), "users_2");
    }
}
