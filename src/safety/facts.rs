//! What one statement (or one ALTER TABLE command) does, as plain owned facts: extracted
//! from PostgreSQL's parse tree by `parse_tree`, completed from the catalog by
//! `catalog`, judged by `classify`. No pgrx types here.

use std::fmt;

/// PostgreSQL's table-level lock modes, weakest first (`LOCKMODE` 1..8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Lock {
    #[default]
    None,
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl Lock {
    /// From PostgreSQL's `LOCKMODE` number (lockdefs.h).
    pub fn from_mode(mode: i32) -> Lock {
        match mode {
            1 => Lock::AccessShare,
            2 => Lock::RowShare,
            3 => Lock::RowExclusive,
            4 => Lock::ShareUpdateExclusive,
            5 => Lock::Share,
            6 => Lock::ShareRowExclusive,
            7 => Lock::Exclusive,
            8 => Lock::AccessExclusive,
            _ => Lock::None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Lock::None => "none",
            Lock::AccessShare => "ACCESS SHARE",
            Lock::RowShare => "ROW SHARE",
            Lock::RowExclusive => "ROW EXCLUSIVE",
            Lock::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Lock::Share => "SHARE",
            Lock::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Lock::Exclusive => "EXCLUSIVE",
            Lock::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }
    /// Blocks ordinary writes (INSERT/UPDATE/DELETE take ROW EXCLUSIVE).
    pub fn blocks_writes(self) -> bool {
        self >= Lock::Share
    }
}

/// A relation as written: optional schema and name, as the parser folded them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rel {
    pub schema: Option<String>,
    pub name: String,
}

impl Rel {
    pub fn new(schema: Option<&str>, name: &str) -> Rel {
        Rel {
            schema: schema.map(str::to_string),
            name: name.to_string(),
        }
    }
    /// The same relation, as far as the text can tell: same name, and same schema when both say one.
    pub fn same(&self, other: &Rel) -> bool {
        self.name == other.name && (self.schema.is_none() || other.schema.is_none() || self.schema == other.schema)
    }
}

/// An identifier quoted when it needs quotes, as `quote_ident` does (keywords aside:
/// `to_regclass` does not need them quoted).
pub fn quote(ident: &str) -> String {
    let plain = ident.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        ident.to_string()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{}.{}", quote(s), quote(&self.name)),
            None => write!(f, "{}", quote(&self.name)),
        }
    }
}

/// One statement, or one command of an ALTER TABLE, as facts.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// What it is: "ADD COLUMN", "CREATE INDEX", "UPDATE", ...
    pub action: &'static str,
    pub table: Option<Rel>,
    pub column: Option<String>,
    pub constraint: Option<String>,
    /// The lock it takes on `table` (from AlterTableGetLockLevel, or the documented table).
    pub lock: Lock,
    /// A second table it locks (the table a foreign key references), and how.
    pub references: Option<Rel>,
    pub concurrent: bool,
    /// Runs only outside a transaction block (PreventInTransactionBlock).
    pub needs_autocommit: bool,
    pub transaction_control: bool,
    /// Constraint added NOT VALID / domain constraint NOT VALID.
    pub not_valid: bool,
    /// UPDATE / DELETE with a WHERE clause that is not a constant.
    pub has_where: bool,
    /// The statement sits inside a CTE (WITH x AS (DELETE ...)).
    pub in_cte: bool,
    /// VACUUM FULL / REINDEX CONCURRENTLY, read with defGetBoolean.
    pub full: bool,
    /// Functions called by a column default, `(schema, name)`; judged by `volatile_default`.
    pub default_functions: Vec<(Option<String>, String)>,
    /// A default calls a volatile function (from pg_proc.provolatile), or the type is serial.
    pub volatile_default: bool,
    pub has_default: bool,
    pub serial: bool,
    pub identity: bool,
    pub generated_stored: bool,
    pub not_null: bool,
    /// ADD COLUMN ... UNIQUE / PRIMARY KEY / ADD CONSTRAINT UNIQUE|PRIMARY KEY|EXCLUDE without USING INDEX.
    pub builds_index: bool,
    pub using_index: bool,
    /// ADD COLUMN ... CHECK / ADD CONSTRAINT CHECK: the constraint is verified by a scan.
    pub check: bool,
    /// CHECK (col IS NOT NULL): the column it proves not null.
    pub check_not_null_of: Option<String>,
    /// ALTER COLUMN TYPE: the new type as format_type prints it (None: unknown type).
    pub new_type: Option<String>,
    /// ALTER COLUMN TYPE ... USING something other than the column itself.
    pub using_expression: bool,
    /// ALTER COLUMN TYPE: the catalog says the change is binary-coercible (no rewrite).
    pub type_change_free: bool,
    /// SET NOT NULL: the live catalog has a validated CHECK (col IS NOT NULL).
    pub not_null_proven: bool,
    /// DROP ... CASCADE of a type, domain or extension (may drop columns).
    pub cascade: bool,
    /// CREATE TABLE / CREATE TABLE AS / SELECT INTO: the relation it creates.
    pub creates: Option<Rel>,
    /// The object a DROP names (a table, index, schema, database, ...).
    pub object_kind: &'static str,
}

impl Facts {
    pub fn new(action: &'static str, lock: Lock) -> Facts {
        Facts {
            action,
            lock,
            ..Facts::default()
        }
    }
    pub fn on(mut self, table: Option<Rel>) -> Facts {
        self.table = table;
        self
    }
}

/// A statement as the parser split it, with its facts.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub sql: String,
    pub facts: Vec<Facts>,
}

impl Statement {
    pub fn needs_autocommit(&self) -> bool {
        self.facts.iter().any(|f| f.needs_autocommit)
    }
    pub fn transaction_control(&self) -> bool {
        self.facts.iter().any(|f| f.transaction_control)
    }
}
