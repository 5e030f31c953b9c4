//! What a DDL/DML statement does to a live table: the lock it takes, whether it
//! rewrites or scans the table, whether it can lose data, and what to do instead.
//!
//! Statements arrive already split and syntax-checked by PostgreSQL's own parser;
//! this classifies one statement's tokens.

/// A lexical token; words are lower-cased, quoted identifiers keep their spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Ident(String),
    Literal,
    Num(String),
    Sym(char),
}

fn lex(sql: &str) -> Vec<Tok> {
    let b: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && b.get(i + 1) == Some(&'-') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '\'' {
            i += 1;
            while i < b.len() {
                if b[i] == '\'' && b.get(i + 1) == Some(&'\'') {
                    i += 2;
                } else if b[i] == '\'' {
                    break;
                } else {
                    i += 1;
                }
            }
            i += 1;
            out.push(Tok::Literal);
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            while i < b.len() {
                if b[i] == '"' && b.get(i + 1) == Some(&'"') {
                    s.push('"');
                    i += 2;
                } else if b[i] == '"' {
                    break;
                } else {
                    s.push(b[i]);
                    i += 1;
                }
            }
            i += 1;
            out.push(Tok::Ident(s));
        } else if c == '$' && (b.get(i + 1) == Some(&'$') || b.get(i + 1).is_some_and(|c| c.is_alphabetic() || *c == '_')) {
            // Dollar quote: $tag$ ... $tag$
            let start = i;
            let mut j = i + 1;
            while j < b.len() && b[j] != '$' && (b[j].is_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            if j < b.len() && b[j] == '$' {
                let tag: String = b[start..=j].iter().collect();
                let body: String = b[j + 1..].iter().collect();
                let end = body.find(&tag).map(|p| j + 1 + body[..p].chars().count() + tag.chars().count());
                i = end.unwrap_or(b.len());
                out.push(Tok::Literal);
            } else {
                out.push(Tok::Sym('$'));
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let mut s = String::new();
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$') {
                s.extend(b[i].to_lowercase());
                i += 1;
            }
            out.push(Tok::Word(s));
        } else if c.is_ascii_digit() {
            let mut s = String::new();
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '.') {
                s.push(b[i]);
                i += 1;
            }
            out.push(Tok::Num(s));
        } else {
            out.push(Tok::Sym(c));
            i += 1;
        }
    }
    out
}

/// One risk (or all-clear) for one statement or ALTER TABLE action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub action: &'static str,
    pub table: Option<String>,
    pub column: Option<String>,
    /// For ALTER COLUMN TYPE: the new type, so the caller can check the old one.
    pub new_type: Option<String>,
    pub lock: &'static str,
    pub rewrite: bool,
    pub scan: bool,
    pub data_loss: bool,
    /// Cannot run inside a transaction block (the migration engine uses one).
    pub needs_autocommit: bool,
    pub severity: &'static str,
    pub code: &'static str,
    pub recommendation: Option<&'static str>,
}

impl Finding {
    fn new(action: &'static str, lock: &'static str) -> Self {
        Finding {
            action,
            table: None,
            column: None,
            new_type: None,
            lock,
            rewrite: false,
            scan: false,
            data_loss: false,
            needs_autocommit: false,
            severity: "LOW",
            code: "SAFE",
            recommendation: None,
        }
    }
    fn risk(mut self, severity: &'static str, code: &'static str, recommendation: &'static str) -> Self {
        self.severity = severity;
        self.code = code;
        self.recommendation = Some(recommendation);
        self
    }
    fn on(mut self, table: Option<String>) -> Self {
        self.table = table;
        self
    }
}

const VOLATILE: &[&str] = &["random", "clock_timestamp", "gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "nextval", "timeofday", "setseed"];

struct Cursor<'a> {
    t: &'a [Tok],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn word(&self, k: usize) -> Option<&str> {
        match self.t.get(self.i + k) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }
    fn is(&self, w: &str) -> bool {
        self.word(0) == Some(w)
    }
    fn eat(&mut self, w: &str) -> bool {
        let hit = self.is(w);
        if hit {
            self.i += 1;
        }
        hit
    }
    fn eat_all(&mut self, ws: &[&str]) -> bool {
        let save = self.i;
        for w in ws {
            if !self.eat(w) {
                self.i = save;
                return false;
            }
        }
        true
    }
    /// A possibly qualified name: `a`, `"A"`, `s.t`.
    fn name(&mut self) -> Option<String> {
        let mut parts = Vec::new();
        loop {
            match self.t.get(self.i) {
                Some(Tok::Word(w)) => parts.push(w.clone()),
                Some(Tok::Ident(s)) => parts.push(format!("\"{}\"", s.replace('"', "\"\""))),
                _ => break,
            }
            self.i += 1;
            if self.t.get(self.i) == Some(&Tok::Sym('.')) {
                self.i += 1;
            } else {
                break;
            }
        }
        (!parts.is_empty()).then(|| parts.join("."))
    }
    fn skip_if_exists(&mut self) {
        self.eat_all(&["if", "exists"]);
        self.eat_all(&["if", "not", "exists"]);
    }
    fn rest(&self) -> &'a [Tok] {
        &self.t[self.i.min(self.t.len())..]
    }
}

fn has_word(t: &[Tok], w: &str) -> bool {
    t.iter().any(|x| matches!(x, Tok::Word(v) if v == w))
}

/// Split ALTER TABLE actions at top-level commas.
fn actions(t: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, x) in t.iter().enumerate() {
        match x {
            Tok::Sym('(') => depth += 1,
            Tok::Sym(')') => depth -= 1,
            Tok::Sym(',') if depth == 0 => {
                out.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&t[start..]);
    out
}

fn volatile_default(t: &[Tok]) -> bool {
    let Some(pos) = t.iter().position(|x| matches!(x, Tok::Word(w) if w == "default")) else { return false };
    t[pos + 1..].windows(2).any(|w| matches!((&w[0], &w[1]), (Tok::Word(f), Tok::Sym('(')) if VOLATILE.contains(&f.as_str())))
}

fn type_text(t: &[Tok]) -> String {
    let mut s = String::new();
    for x in t {
        match x {
            Tok::Word(w) if matches!(w.as_str(), "using" | "collate") => break,
            Tok::Word(w) => {
                if !s.is_empty() && !s.ends_with('(') {
                    s.push(' ');
                }
                s.push_str(w);
            }
            Tok::Ident(i) => s.push_str(i),
            Tok::Num(n) => s.push_str(n),
            Tok::Literal => s.push('?'),
            Tok::Sym(c) => s.push(*c),
        }
    }
    s.replace(" (", "(").replace(" ,", ",").replace(", ", ",")
}

fn alter_table(c: &mut Cursor, out: &mut Vec<Finding>) {
    c.skip_if_exists();
    c.eat("only");
    let table = c.name();
    let ae = "ACCESS EXCLUSIVE";
    for a in actions(c.rest()) {
        let mut x = Cursor { t: a, i: 0 };
        let f = if x.eat("add") {
            if x.eat("constraint") {
                x.name();
            }
            let is_constraint = ["check", "foreign", "unique", "primary", "exclude"].iter().any(|k| x.is(k));
            if is_constraint {
                let not_valid = a.windows(2).any(|w| w == [Tok::Word("not".into()), Tok::Word("valid".into())]);
                if x.is("foreign") {
                    let f = Finding::new("ADD FOREIGN KEY", "SHARE ROW EXCLUSIVE");
                    if not_valid {
                        f
                    } else {
                        Finding { scan: true, ..f }.risk("HIGH", "CONSTRAINT_SCAN", "Add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a separate step (SHARE UPDATE EXCLUSIVE only).")
                    }
                } else if x.is("check") {
                    let f = Finding::new("ADD CHECK", ae);
                    if not_valid {
                        f
                    } else {
                        Finding { scan: true, ..f }.risk("HIGH", "CONSTRAINT_SCAN", "Add the constraint NOT VALID, then VALIDATE CONSTRAINT in a separate step.")
                    }
                } else if has_word(a, "using") && has_word(a, "index") {
                    Finding::new("ADD CONSTRAINT USING INDEX", ae)
                } else {
                    Finding { scan: true, ..Finding::new("ADD UNIQUE/PRIMARY KEY", ae) }
                        .risk("HIGH", "INDEX_BUILD_UNDER_LOCK", "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX.")
                }
            } else {
                x.eat("column");
                x.skip_if_exists();
                let col = x.name();
                let generated = has_word(a, "generated") && has_word(a, "stored");
                let serial = ["serial", "bigserial", "smallserial"].iter().any(|s| x.is(s));
                let mut f = Finding { column: col, ..Finding::new("ADD COLUMN", ae) };
                if volatile_default(a) || generated || serial {
                    f.rewrite = true;
                    f = f.risk("HIGH", "TABLE_REWRITE", "Add the column without a volatile default, backfill it in batches, then set the default.");
                } else if has_word(a, "not") && has_word(a, "null") && !has_word(a, "default") {
                    f = f.risk("MEDIUM", "NOT_NULL_WITHOUT_DEFAULT", "Adding a NOT NULL column without a default fails on a non-empty table; add a default or add it nullable and backfill.");
                }
                f
            }
        } else if x.eat("alter") {
            x.eat("column");
            let col = x.name();
            if x.eat_all(&["set", "data", "type"]) || x.eat("type") {
                Finding { column: col, new_type: Some(type_text(x.rest())), rewrite: true, ..Finding::new("ALTER COLUMN TYPE", ae) }
                    .risk("HIGH", "TABLE_REWRITE", "Add a new column of the new type, backfill it in batches and switch readers, instead of rewriting the table under an exclusive lock.")
            } else if x.eat_all(&["set", "not", "null"]) {
                Finding { column: col, scan: true, ..Finding::new("SET NOT NULL", ae) }.risk(
                    "HIGH",
                    "FULL_SCAN_UNDER_LOCK",
                    "Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (it reuses the validated constraint).",
                )
            } else if x.eat_all(&["drop", "not", "null"]) || x.is("set") || x.is("drop") {
                Finding { column: col, ..Finding::new("ALTER COLUMN", ae) }
            } else {
                Finding { column: col, ..Finding::new("ALTER COLUMN", ae) }
            }
        } else if x.eat("drop") {
            if x.eat("constraint") {
                Finding::new("DROP CONSTRAINT", ae)
            } else {
                x.eat("column");
                x.skip_if_exists();
                Finding { column: x.name(), data_loss: true, ..Finding::new("DROP COLUMN", ae) }
                    .risk("HIGH", "DATA_LOSS", "Stop reading and writing the column first (deprecate it), back it up, and drop it in a later release.")
            }
        } else if x.eat_all(&["validate", "constraint"]) {
            Finding { scan: true, ..Finding::new("VALIDATE CONSTRAINT", "SHARE UPDATE EXCLUSIVE") }
        } else if x.eat("rename") {
            Finding::new("RENAME", ae).risk("MEDIUM", "BREAKS_READERS", "Renames break running clients; add the new name alongside (a view or a generated column) and switch readers first.")
        } else if x.eat_all(&["set", "tablespace"]) {
            Finding { rewrite: true, ..Finding::new("SET TABLESPACE", ae) }.risk("HIGH", "TABLE_REWRITE", "Move the table during a maintenance window.")
        } else if x.eat_all(&["set", "logged"]) || x.eat_all(&["set", "unlogged"]) {
            Finding { rewrite: true, ..Finding::new("SET LOGGED/UNLOGGED", ae) }.risk("HIGH", "TABLE_REWRITE", "Change persistence during a maintenance window.")
        } else {
            Finding::new("ALTER TABLE", ae)
        };
        out.push(f.on(table.clone()));
    }
}

/// Classify one statement. Most statements give one finding; ALTER TABLE one per action.
pub fn classify(sql: &str) -> Vec<Finding> {
    let toks = lex(sql);
    let mut c = Cursor { t: &toks, i: 0 };
    let mut out = Vec::new();
    let ae = "ACCESS EXCLUSIVE";
    if c.eat_all(&["alter", "table"]) {
        alter_table(&mut c, &mut out);
        return out;
    }
    let f = if c.eat("create") {
        let unique = c.eat("unique");
        if c.eat("index") {
            let concurrently = c.eat("concurrently");
            c.skip_if_exists();
            if !c.is("on") {
                c.name();
            }
            c.eat("on");
            c.eat("only");
            let table = c.name();
            let action = if unique { "CREATE UNIQUE INDEX" } else { "CREATE INDEX" };
            if concurrently {
                Finding { scan: true, needs_autocommit: true, ..Finding::new(action, "SHARE UPDATE EXCLUSIVE") }
                    .on(table)
                    .risk("MEDIUM", "NEEDS_AUTOCOMMIT", "CONCURRENTLY cannot run inside a transaction block: run it outside the migration engine.")
            } else {
                Finding { scan: true, ..Finding::new(action, "SHARE") }
                    .on(table)
                    .risk("HIGH", "BLOCKS_WRITES", "Use CREATE INDEX CONCURRENTLY so writes continue while the index builds.")
            }
        } else {
            Finding::new("CREATE", "none")
        }
    } else if c.eat("drop") {
        let what = c.word(0).unwrap_or("").to_string();
        c.i += 1;
        let concurrently = c.eat("concurrently");
        c.skip_if_exists();
        let target = c.name();
        match what.as_str() {
            "table" | "schema" | "materialized" => Finding { data_loss: true, ..Finding::new("DROP TABLE", ae) }
                .on(target)
                .risk("HIGH", "DATA_LOSS", "Rename or move the table aside first and drop it in a later release, after a backup."),
            "index" if concurrently => Finding { needs_autocommit: true, ..Finding::new("DROP INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE") }.on(target),
            "index" => Finding::new("DROP INDEX", ae).on(target).risk("MEDIUM", "BLOCKS_TABLE", "Use DROP INDEX CONCURRENTLY."),
            _ => Finding::new("DROP", ae).on(target),
        }
    } else if c.eat("truncate") {
        c.eat("table");
        c.eat("only");
        Finding { data_loss: true, ..Finding::new("TRUNCATE", ae) }.on(c.name()).risk("HIGH", "DATA_LOSS", "Delete in batches with a WHERE clause after a backup, or keep the rows.")
    } else if c.eat("vacuum") {
        let full = c.eat("full") || has_word(c.rest(), "full") && c.rest().first() == Some(&Tok::Sym('('));
        if c.rest().first() == Some(&Tok::Sym('(')) {
            while c.i < toks.len() && toks[c.i] != Tok::Sym(')') {
                c.i += 1;
            }
            c.i += 1;
        }
        let table = c.name();
        if full {
            Finding { rewrite: true, needs_autocommit: true, ..Finding::new("VACUUM FULL", ae) }
                .on(table)
                .risk("HIGH", "TABLE_REWRITE", "Use pg_repack or pg_squeeze to reclaim space online.")
        } else {
            Finding { needs_autocommit: true, ..Finding::new("VACUUM", "SHARE UPDATE EXCLUSIVE") }.on(table)
        }
    } else if c.eat("cluster") {
        Finding { rewrite: true, ..Finding::new("CLUSTER", ae) }.on(c.name()).risk("HIGH", "TABLE_REWRITE", "Use pg_repack to reorder the table online.")
    } else if c.eat("reindex") {
        let kind = c.word(0).unwrap_or("").to_string();
        c.i += 1;
        let concurrently = c.eat("concurrently");
        let target = c.name();
        if concurrently {
            Finding { needs_autocommit: true, ..Finding::new("REINDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE") }.on(target)
        } else {
            let lock = if kind == "index" { ae } else { "SHARE" };
            Finding::new("REINDEX", lock).on(target).risk("MEDIUM", "BLOCKS_WRITES", "Use REINDEX ... CONCURRENTLY.")
        }
    } else if c.eat("refresh") {
        c.eat_all(&["materialized", "view"]);
        let concurrently = c.eat("concurrently");
        let target = c.name();
        if concurrently {
            Finding::new("REFRESH MATERIALIZED VIEW CONCURRENTLY", "EXCLUSIVE").on(target)
        } else {
            Finding::new("REFRESH MATERIALIZED VIEW", ae).on(target).risk("MEDIUM", "BLOCKS_READS", "Add a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY.")
        }
    } else if c.eat("lock") {
        c.eat("table");
        let target = c.name();
        let mode = if has_word(c.rest(), "share") && !has_word(c.rest(), "exclusive") { "SHARE" } else { ae };
        Finding::new("LOCK TABLE", mode).on(target).risk("MEDIUM", "EXPLICIT_LOCK", "Keep explicit locks short and set lock_timeout.")
    } else if c.eat("update") {
        c.eat("only");
        let table = c.name();
        let f = Finding::new("UPDATE", "ROW EXCLUSIVE").on(table);
        if has_word(c.rest(), "where") {
            f
        } else {
            Finding { scan: true, ..f }.risk("MEDIUM", "FULL_TABLE_UPDATE", "Update in batches (by key ranges) and commit between them, so locks and WAL stay small.")
        }
    } else if c.eat_all(&["delete", "from"]) {
        c.eat("only");
        let table = c.name();
        let f = Finding { data_loss: true, ..Finding::new("DELETE", "ROW EXCLUSIVE") }.on(table);
        if has_word(c.rest(), "where") {
            f.risk("MEDIUM", "DATA_LOSS", "Keep a copy of the deleted rows (DELETE ... RETURNING into an archive table).")
        } else {
            Finding { scan: true, ..f }.risk("HIGH", "DATA_LOSS", "A DELETE without WHERE empties the table: archive the rows first or add a WHERE clause.")
        }
    } else if c.eat("insert") || c.eat("select") || c.eat("with") || c.eat("copy") {
        Finding::new("DML", "ROW EXCLUSIVE")
    } else {
        Finding::new("OTHER", "none")
    };
    out.push(f);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Finding {
        classify(sql).remove(0)
    }

    #[test]
    fn add_column_defaults() {
        let f = one("ALTER TABLE users ADD COLUMN id2 uuid DEFAULT gen_random_uuid()");
        assert!(f.rewrite && f.severity == "HIGH" && f.table.as_deref() == Some("users"));
        let f = one("ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now()");
        assert!(!f.rewrite && f.severity == "LOW");
        assert_eq!(one("alter table s.\"Users\" add column n bigserial").table.as_deref(), Some("s.\"Users\""));
        assert!(one("ALTER TABLE t ADD COLUMN n int NOT NULL").severity == "MEDIUM");
    }

    #[test]
    fn constraints_and_types() {
        assert_eq!(one("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)").code, "CONSTRAINT_SCAN");
        assert_eq!(one("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID").severity, "LOW");
        assert_eq!(one("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u (id)").lock, "SHARE ROW EXCLUSIVE");
        let f = one("ALTER TABLE t ALTER COLUMN price TYPE numeric(12, 2) USING price::numeric");
        assert_eq!((f.column.as_deref(), f.new_type.as_deref()), (Some("price"), Some("numeric(12,2)")));
        assert_eq!(one("ALTER TABLE t ALTER COLUMN a SET NOT NULL").code, "FULL_SCAN_UNDER_LOCK");
        let many = classify("ALTER TABLE t ADD COLUMN a int, DROP COLUMN b, ALTER COLUMN c SET DEFAULT 1");
        assert_eq!(many.iter().map(|f| f.action).collect::<Vec<_>>(), ["ADD COLUMN", "DROP COLUMN", "ALTER COLUMN"]);
    }

    #[test]
    fn other_statements() {
        assert_eq!(one("CREATE INDEX idx ON t (a)").lock, "SHARE");
        assert!(one("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx ON ONLY t (a)").needs_autocommit);
        assert_eq!(one("CREATE INDEX CONCURRENTLY idx ON t (a)").table.as_deref(), Some("t"));
        assert!(one("DROP TABLE IF EXISTS old_users").data_loss);
        assert!(one("TRUNCATE TABLE logs").data_loss);
        assert!(one("VACUUM FULL big").rewrite);
        assert!(one("VACUUM (FULL, ANALYZE) big").rewrite);
        assert!(!one("VACUUM ANALYZE big").rewrite);
        assert!(one("CLUSTER t USING idx").rewrite);
        assert_eq!(one("UPDATE t SET a = 1").code, "FULL_TABLE_UPDATE");
        assert_eq!(one("UPDATE t SET a = 1 WHERE id < 100").severity, "LOW");
        assert_eq!(one("DELETE FROM t").severity, "HIGH");
        assert_eq!(one("INSERT INTO t VALUES (1)").severity, "LOW");
    }

    #[test]
    fn lexer_skips_literals_and_comments() {
        // Keywords inside strings, comments and dollar quotes do not count.
        assert_eq!(one("UPDATE t SET note = 'where' -- where\n").code, "FULL_TABLE_UPDATE");
        assert_eq!(one("UPDATE t SET note = $x$ where $x$ /* where */").code, "FULL_TABLE_UPDATE");
    }
}
