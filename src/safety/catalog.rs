//! Facts only the live catalog knows: whether a default calls a volatile function
//! (`pg_proc.provolatile`), whether a type change is binary-coercible, whether a
//! validated CHECK (col IS NOT NULL) already proves SET NOT NULL.

use super::facts::{Facts, Statement};
use crate::schema::types;
use pgrx::prelude::*;

/// Any function of that name the default could call is volatile; an unknown function
/// counts as volatile (it may be created earlier in the script).
fn volatile(schema: Option<&str>, name: &str) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT coalesce(bool_or(p.provolatile = 'v'), true) FROM pg_catalog.pg_proc p
          WHERE p.proname = $2
            AND CASE WHEN $1 IS NULL THEN pg_catalog.pg_function_is_visible(p.oid)
                     ELSE p.pronamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1) END",
        &[schema.into(), name.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(true)
}

fn current_type(f: &Facts) -> Option<String> {
    let (Some(table), Some(column)) = (&f.table, &f.column) else {
        return None;
    };
    Spi::get_one_with_args::<String>(
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
        &[table.to_string().into(), column.as_str().into()],
    )
    .ok()
    .flatten()
}

/// A validated CHECK constraint on the table whose expression is `col IS NOT NULL`
/// (alone or ANDed with others).
fn not_null_proven(f: &Facts) -> bool {
    let (Some(table), Some(column)) = (&f.table, &f.column) else {
        return false;
    };
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                         WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.contype = 'c' AND c.convalidated
                           AND pg_catalog.pg_get_constraintdef(c.oid) !~* '\\mOR\\M'
                           AND pg_catalog.strpos(pg_catalog.pg_get_constraintdef(c.oid), pg_catalog.quote_ident($2) || ' IS NOT NULL') > 0)",
        &[table.to_string().into(), column.as_str().into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// Complete the facts of each statement from the catalog, resolving unqualified names
/// along `search_path` when given (the caller's otherwise).
pub fn complete(statements: &mut [Statement], search_path: Option<&str>) {
    if statements
        .iter()
        .all(|s| s.facts.iter().all(|f| !matches!(f.action, "ADD COLUMN" | "ALTER COLUMN TYPE" | "SET NOT NULL")))
    {
        return;
    }
    let previous = search_path.and_then(|path| {
        let old = Spi::get_one::<String>("SELECT pg_catalog.current_setting('search_path')").ok().flatten();
        Spi::run_with_args("SELECT pg_catalog.set_config('search_path', $1, true)", &[path.into()]).ok()?;
        old
    });
    lookups(statements);
    if let Some(old) = previous {
        let _ = Spi::run_with_args("SELECT pg_catalog.set_config('search_path', $1, true)", &[old.as_str().into()]);
    }
}

fn lookups(statements: &mut [Statement]) {
    for st in statements.iter_mut() {
        for f in st.facts.iter_mut() {
            pgrx::check_for_interrupts!();
            if f.action == "ADD COLUMN" {
                f.volatile_default = f.serial || f.default_functions.iter().any(|(s, n)| volatile(s.as_deref(), n));
            }
            if f.action == "ALTER COLUMN TYPE" {
                if let (Some(old), Some(new)) = (current_type(f), f.new_type.clone()) {
                    if let (Ok(old), Ok(new)) = (types::parse(&old), types::parse(&new)) {
                        f.type_change_free = types::rewrite(&old, &new) == types::Rewrite::None;
                    }
                }
            }
            if f.action == "SET NOT NULL" {
                f.not_null_proven = not_null_proven(f);
            }
        }
    }
}
