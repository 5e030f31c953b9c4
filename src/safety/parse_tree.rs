//! The thin PostgreSQL layer: split a script with `raw_parser` and read each statement's
//! parse tree (RawStmt → AlterTableStmt / AlterTableCmd, ColumnDef, Constraint, IndexStmt,
//! UpdateStmt, DeleteStmt, CTEs, VacuumStmt, ReindexStmt, LockStmt, DropStmt, ...) into
//! owned `Facts`. ALTER TABLE lock levels come from `AlterTableGetLockLevel`.

use super::facts::{Facts, Lock, Rel, Statement};
use super::lock_rules as doc;
use pgrx::pg_sys::{self, NodeTag};
use pgrx::PgTryBuilder;
use std::ffi::{c_char, c_void, CStr, CString};

/// A syntax error: PostgreSQL's message and its cursor position (1-based characters).
pub struct SyntaxError {
    pub message: String,
    pub position: Option<usize>,
}

/// Runs while PostgreSQL raises an error inside `parse`: keeps the error's cursorpos,
/// which the copy of the error handed to Rust does not carry.
unsafe extern "C-unwind" fn remember_position(arg: *mut c_void) {
    // SAFETY: `arg` is the `i32` that `parse` registered and outlives the callback.
    unsafe { *(arg as *mut i32) = pg_sys::geterrposition() };
}

/// Statements of a script as PostgreSQL's parser splits them, with their facts, or the
/// parser's syntax error. Errors that are not about the script (out of memory, cancel) propagate.
pub fn parse(script: &str) -> Result<Vec<Statement>, SyntaxError> {
    let Ok(c) = CString::new(script) else {
        return Err(SyntaxError {
            message: "the script contains a NUL byte".into(),
            position: script.find('\0').map(|b| script[..b].chars().count() + 1),
        });
    };
    let mut position: i32 = 0;
    let mut callback = pg_sys::ErrorContextCallback {
        // SAFETY: reading the backend's error context stack.
        previous: unsafe { pg_sys::error_context_stack },
        callback: Some(remember_position),
        arg: (&mut position as *mut i32).cast(),
    };
    // SAFETY: the callback is popped again below, on success and on error, before
    // `position` goes out of scope.
    unsafe { pg_sys::error_context_stack = &mut callback };
    let result = PgTryBuilder::new(|| {
        // SAFETY: raw_parser reads the NUL-terminated script and returns a List of RawStmt.
        let list = unsafe { pg_sys::raw_parser(c.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT) };
        // Past the parser: errors from here on are not syntax errors.
        unsafe { pg_sys::error_context_stack = callback.previous };
        let mut out = Vec::new();
        for raw in unsafe { nodes(list) } {
            pgrx::check_for_interrupts!();
            let raw = raw as *const pg_sys::RawStmt;
            // SAFETY: raw_parser's list holds RawStmt nodes.
            let (start, len) = unsafe { ((*raw).stmt_location.max(0) as usize, (*raw).stmt_len) };
            let len = if len > 0 { len as usize } else { script.len().saturating_sub(start) };
            let sql = script.get(start..start + len).unwrap_or("").trim().to_string();
            let facts = unsafe { statement((*raw).stmt) };
            out.push(Statement { sql, facts });
        }
        Ok(out)
    })
    .catch_others(|e| match e {
        pg_sys::panic::CaughtError::PostgresError(ref r) if is_about_the_script(r.sql_error_code()) => Err(r.message().to_string()),
        e => e.rethrow(),
    })
    .finally(|| unsafe {
        if std::ptr::eq(pg_sys::error_context_stack, &callback) {
            pg_sys::error_context_stack = callback.previous;
        }
    })
    .execute();
    result.map_err(|message| SyntaxError {
        message,
        position: usize::try_from(position).ok().filter(|p| *p > 0),
    })
}

/// Errors the parser raises about the text itself (syntax, invalid escapes, too deep
/// nesting, ...), reported rather than raised; everything else propagates.
fn is_about_the_script(code: pgrx::PgSqlErrorCode) -> bool {
    use pgrx::PgSqlErrorCode::*;
    !matches!(
        code,
        ERRCODE_OUT_OF_MEMORY | ERRCODE_QUERY_CANCELED | ERRCODE_ADMIN_SHUTDOWN | ERRCODE_CRASH_SHUTDOWN | ERRCODE_INTERNAL_ERROR | ERRCODE_DATA_CORRUPTED
    )
}

// ---- reading nodes ----

unsafe fn nodes(list: *mut pg_sys::List) -> Vec<*mut pg_sys::Node> {
    if list.is_null() {
        return Vec::new();
    }
    (0..(*list).length as usize)
        .map(|k| (*(*list).elements.add(k)).ptr_value as *mut pg_sys::Node)
        .collect()
}

unsafe fn tag(node: *const pg_sys::Node) -> Option<NodeTag> {
    (!node.is_null()).then(|| (*node).type_)
}

unsafe fn cstr(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

unsafe fn str_val(node: *mut pg_sys::Node) -> Option<String> {
    if tag(node) == Some(NodeTag::T_String) {
        cstr((*(node as *mut pg_sys::String)).sval)
    } else {
        None
    }
}

/// A qualified name list (`[schema,] name`), as for DROP or function names.
unsafe fn name_list(list: *mut pg_sys::List) -> Option<(Option<String>, String)> {
    let parts: Vec<String> = nodes(list).into_iter().filter_map(|n| str_val(n)).collect();
    let (name, rest) = parts.split_last()?;
    Some((rest.last().cloned(), name.clone()))
}

unsafe fn rel(rv: *const pg_sys::RangeVar) -> Option<Rel> {
    if rv.is_null() {
        return None;
    }
    Some(Rel {
        schema: cstr((*rv).schemaname),
        name: cstr((*rv).relname).unwrap_or_default(),
    })
}

/// A DefElem option's value with PostgreSQL's own boolean rules (`defGetBoolean`:
/// no value is true; true/false/on/off/1/0). A value it refuses counts as given.
unsafe fn option_true(options: *mut pg_sys::List, name: &str) -> bool {
    for n in nodes(options) {
        if tag(n) != Some(NodeTag::T_DefElem) {
            continue;
        }
        let d = n as *mut pg_sys::DefElem;
        if cstr((*d).defname).as_deref() == Some(name) {
            return PgTryBuilder::new(|| pg_sys::defGetBoolean(d)).catch_others(|_| true).execute();
        }
    }
    false
}

/// The lock PostgreSQL takes for these raw ALTER TABLE commands.
unsafe fn alter_table_lock(cmd: *mut pg_sys::Node) -> Lock {
    let list = pg_sys::lappend(std::ptr::null_mut(), cmd.cast());
    let mode = PgTryBuilder::new(|| pg_sys::AlterTableGetLockLevel(list))
        .catch_others(|_| pg_sys::AccessExclusiveLock as i32)
        .execute();
    Lock::from_mode(mode)
}

struct Walk {
    out: Vec<Facts>,
    functions: Vec<(Option<String>, String)>,
    depth: usize,
}

/// Visits every node of a raw expression or statement tree (subqueries, CTEs, ...):
/// DML anywhere becomes facts, function calls are collected.
unsafe extern "C-unwind" fn walker(node: *mut pg_sys::Node, ctx: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    pg_sys::check_stack_depth();
    let w = &mut *(ctx as *mut Walk);
    match tag(node) {
        Some(NodeTag::T_FuncCall) => {
            if let Some(name) = name_list((*(node as *mut pg_sys::FuncCall)).funcname) {
                w.functions.push(name);
            }
        }
        Some(NodeTag::T_UpdateStmt) => {
            let u = node as *mut pg_sys::UpdateStmt;
            w.out.push(Facts {
                has_where: real_where((*u).whereClause),
                in_cte: w.depth > 0,
                ..Facts::new("UPDATE", doc::DML).on(rel((*u).relation))
            });
        }
        Some(NodeTag::T_DeleteStmt) => {
            let d = node as *mut pg_sys::DeleteStmt;
            w.out.push(Facts {
                has_where: real_where((*d).whereClause),
                in_cte: w.depth > 0,
                ..Facts::new("DELETE", doc::DML).on(rel((*d).relation))
            });
        }
        Some(NodeTag::T_InsertStmt) => {
            let i = node as *mut pg_sys::InsertStmt;
            w.out.push(Facts {
                in_cte: w.depth > 0,
                ..Facts::new("INSERT", doc::DML).on(rel((*i).relation))
            });
        }
        Some(NodeTag::T_MergeStmt) => {
            let m = node as *mut pg_sys::MergeStmt;
            w.out.push(Facts {
                has_where: true,
                ..Facts::new("MERGE", doc::DML).on(rel((*m).relation))
            });
        }
        _ => {}
    }
    w.depth += 1;
    let r = pg_sys::raw_expression_tree_walker(node, Some(walker), ctx);
    w.depth -= 1;
    r
}

/// A WHERE clause that filters: not absent, not a constant (WHERE true).
unsafe fn real_where(clause: *mut pg_sys::Node) -> bool {
    !clause.is_null() && tag(clause) != Some(NodeTag::T_A_Const)
}

unsafe fn walk(node: *mut pg_sys::Node) -> Walk {
    let mut w = Walk {
        out: Vec::new(),
        functions: Vec::new(),
        depth: 0,
    };
    walker(node, (&mut w as *mut Walk).cast());
    w
}

/// `CHECK (col IS NOT NULL)`: the column.
unsafe fn not_null_check_column(expr: *mut pg_sys::Node) -> Option<String> {
    if tag(expr) != Some(NodeTag::T_NullTest) {
        return None;
    }
    let t = expr as *mut pg_sys::NullTest;
    if (*t).nulltesttype != pg_sys::NullTestType::IS_NOT_NULL {
        return None;
    }
    let arg = (*t).arg as *mut pg_sys::Node;
    if tag(arg) != Some(NodeTag::T_ColumnRef) {
        return None;
    }
    let fields = nodes((*(arg as *mut pg_sys::ColumnRef)).fields);
    if fields.len() != 1 {
        return None;
    }
    str_val(fields[0])
}

/// Facts of a column definition (ADD COLUMN, CREATE TABLE).
unsafe fn column_def(def: *mut pg_sys::ColumnDef, mut f: Facts) -> Facts {
    f.column = cstr((*def).colname);
    // No type in CREATE TABLE ... PARTITION OF / OF type column options.
    let type_name = (*def).typeName;
    if let Some((_, ty)) = if type_name.is_null() { None } else { name_list((*type_name).names) } {
        f.serial = matches!(ty.as_str(), "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8");
    }
    if !(*def).raw_default.is_null() {
        f.has_default = true;
        f.default_functions.extend(walk((*def).raw_default).functions);
    }
    f.identity |= (*def).identity != 0;
    f.generated_stored |= (*def).generated != 0;
    f.not_null |= (*def).is_not_null;
    for c in nodes((*def).constraints) {
        if tag(c) != Some(NodeTag::T_Constraint) {
            continue;
        }
        let c = c as *mut pg_sys::Constraint;
        use pg_sys::ConstrType::*;
        match (*c).contype {
            CONSTR_NOTNULL | CONSTR_PRIMARY => {
                f.not_null = true;
                f.builds_index |= (*c).contype == CONSTR_PRIMARY;
            }
            CONSTR_DEFAULT => {
                f.has_default = true;
                f.default_functions.extend(walk((*c).raw_expr).functions);
            }
            CONSTR_IDENTITY => f.identity = true,
            CONSTR_GENERATED => f.generated_stored = true,
            CONSTR_UNIQUE | CONSTR_EXCLUSION => f.builds_index = true,
            CONSTR_CHECK => f.check = true,
            CONSTR_FOREIGN => f.references = rel((*c).pktable),
            _ => {}
        }
    }
    f
}

/// Facts of a table constraint (ALTER TABLE ADD CONSTRAINT).
unsafe fn constraint(c: *mut pg_sys::Constraint, lock: Lock, table: Option<Rel>) -> Facts {
    use pg_sys::ConstrType::*;
    let mut f = Facts::new("ADD CONSTRAINT", lock).on(table);
    f.constraint = cstr((*c).conname);
    f.not_valid = (*c).skip_validation;
    match (*c).contype {
        CONSTR_CHECK => {
            f.action = "ADD CHECK";
            f.check = true;
            f.check_not_null_of = not_null_check_column((*c).raw_expr);
        }
        CONSTR_FOREIGN => {
            f.action = "ADD FOREIGN KEY";
            f.references = rel((*c).pktable);
        }
        CONSTR_PRIMARY | CONSTR_UNIQUE => {
            f.using_index = !(*c).indexname.is_null();
            f.action = if f.using_index {
                "ADD CONSTRAINT USING INDEX"
            } else {
                "ADD UNIQUE/PRIMARY KEY"
            };
            f.builds_index = !f.using_index;
        }
        CONSTR_EXCLUSION => {
            f.action = "ADD EXCLUSION";
            f.builds_index = true;
        }
        _ => {}
    }
    f
}

/// The new type of ALTER COLUMN TYPE as format_type prints it (None: unknown type).
unsafe fn type_text(t: *mut pg_sys::TypeName) -> Option<String> {
    PgTryBuilder::new(|| {
        let mut oid = pg_sys::InvalidOid;
        let mut typmod: i32 = -1;
        pg_sys::typenameTypeIdAndMod(std::ptr::null_mut(), t, &mut oid, &mut typmod);
        cstr(pg_sys::format_type_with_typemod(oid, typmod))
    })
    .catch_others(|_| None)
    .execute()
}

#[allow(non_upper_case_globals)]
unsafe fn alter_table(s: *mut pg_sys::AlterTableStmt) -> Vec<Facts> {
    let table = rel((*s).relation);
    let mut out = Vec::new();
    for cmd in nodes((*s).cmds) {
        if tag(cmd) != Some(NodeTag::T_AlterTableCmd) {
            continue;
        }
        let lock = alter_table_lock(cmd);
        let c = cmd as *mut pg_sys::AlterTableCmd;
        let name = cstr((*c).name);
        let def = (*c).def;
        use pg_sys::AlterTableType::*;
        let f = |action| Facts {
            column: name.clone(),
            ..Facts::new(action, lock).on(table.clone())
        };
        let facts = match (*c).subtype {
            AT_AddColumn | AT_AddColumnRecurse | AT_AddColumnToView if tag(def) == Some(NodeTag::T_ColumnDef) => {
                column_def(def as *mut pg_sys::ColumnDef, f("ADD COLUMN"))
            }
            AT_ColumnDefault => f(if def.is_null() { "DROP DEFAULT" } else { "SET DEFAULT" }),
            AT_DropNotNull => f("DROP NOT NULL"),
            AT_SetNotNull => f("SET NOT NULL"),
            AT_DropExpression => f("DROP EXPRESSION"),
            AT_SetStatistics => f("SET STATISTICS"),
            AT_SetOptions | AT_ResetOptions => f("SET ATTRIBUTE OPTIONS"),
            AT_SetStorage => f("SET STORAGE"),
            AT_SetCompression => f("SET COMPRESSION"),
            AT_DropColumn | AT_DropColumnRecurse => f("DROP COLUMN"),
            AT_AddConstraint | AT_AddConstraintRecurse if tag(def) == Some(NodeTag::T_Constraint) => {
                constraint(def as *mut pg_sys::Constraint, lock, table.clone())
            }
            AT_AlterConstraint => f("ALTER CONSTRAINT"),
            AT_ValidateConstraint | AT_ValidateConstraintRecurse => Facts {
                constraint: name.clone(),
                ..Facts::new("VALIDATE CONSTRAINT", lock).on(table.clone())
            },
            AT_DropConstraint | AT_DropConstraintRecurse => Facts {
                constraint: name.clone(),
                ..Facts::new("DROP CONSTRAINT", lock).on(table.clone())
            },
            AT_AlterColumnType if tag(def) == Some(NodeTag::T_ColumnDef) => {
                let d = def as *mut pg_sys::ColumnDef;
                let using = (*d).raw_default;
                let plain = using.is_null()
                    || (tag(using) == Some(NodeTag::T_ColumnRef)
                        && nodes((*(using as *mut pg_sys::ColumnRef)).fields).last().and_then(|n| str_val(*n)) == name);
                Facts {
                    new_type: type_text((*d).typeName),
                    using_expression: !plain,
                    ..f("ALTER COLUMN TYPE")
                }
            }
            AT_ChangeOwner => f("OWNER TO"),
            AT_ClusterOn | AT_DropCluster => f("CLUSTER ON"),
            AT_SetLogged | AT_SetUnLogged => f("SET LOGGED/UNLOGGED"),
            AT_SetAccessMethod => f("SET ACCESS METHOD"),
            AT_SetTableSpace => f("SET TABLESPACE"),
            AT_SetRelOptions | AT_ResetRelOptions | AT_ReplaceRelOptions => f("SET STORAGE PARAMETERS"),
            AT_EnableTrig | AT_EnableAlwaysTrig | AT_EnableReplicaTrig | AT_DisableTrig | AT_EnableTrigAll | AT_DisableTrigAll | AT_EnableTrigUser
            | AT_DisableTrigUser => f("ENABLE/DISABLE TRIGGER"),
            AT_EnableRule | AT_EnableAlwaysRule | AT_EnableReplicaRule | AT_DisableRule => f("ENABLE/DISABLE RULE"),
            AT_AddInherit | AT_DropInherit => f("INHERIT"),
            AT_ReplicaIdentity => f("REPLICA IDENTITY"),
            AT_EnableRowSecurity | AT_DisableRowSecurity | AT_ForceRowSecurity | AT_NoForceRowSecurity => f("ROW LEVEL SECURITY"),
            AT_AttachPartition => f("ATTACH PARTITION"),
            AT_DetachPartition => {
                let concurrent = tag(def) == Some(NodeTag::T_PartitionCmd) && (*(def as *mut pg_sys::PartitionCmd)).concurrent;
                Facts {
                    concurrent,
                    needs_autocommit: concurrent,
                    ..f("DETACH PARTITION")
                }
            }
            AT_DetachPartitionFinalize => f("DETACH PARTITION FINALIZE"),
            AT_AddIdentity | AT_SetIdentity | AT_DropIdentity => f("IDENTITY"),
            _ => f("ALTER TABLE"),
        };
        out.push(facts);
    }
    out
}

unsafe fn drop(s: *mut pg_sys::DropStmt) -> Vec<Facts> {
    use pg_sys::ObjectType::*;
    let cascade = (*s).behavior == pg_sys::DropBehavior::DROP_CASCADE;
    let (action, kind, lock) = match (*s).removeType {
        OBJECT_TABLE | OBJECT_FOREIGN_TABLE => ("DROP TABLE", "table", doc::DROP_TABLE),
        OBJECT_INDEX if (*s).concurrent => ("DROP INDEX CONCURRENTLY", "index", doc::drop_index(true)),
        OBJECT_INDEX => ("DROP INDEX", "index", doc::drop_index(false)),
        OBJECT_SCHEMA => ("DROP SCHEMA", "schema", Lock::AccessExclusive),
        OBJECT_VIEW => ("DROP VIEW", "view", Lock::AccessExclusive),
        OBJECT_MATVIEW => ("DROP MATERIALIZED VIEW", "materialized view", Lock::AccessExclusive),
        OBJECT_SEQUENCE => ("DROP SEQUENCE", "sequence", Lock::AccessExclusive),
        OBJECT_TRIGGER | OBJECT_RULE | OBJECT_POLICY => ("DROP ON TABLE", "table", Lock::AccessExclusive),
        OBJECT_TYPE | OBJECT_DOMAIN | OBJECT_EXTENSION => ("DROP", "type", Lock::AccessExclusive),
        _ => ("DROP", "object", Lock::None),
    };
    let mut out = Vec::new();
    for o in nodes((*s).objects) {
        let name = match tag(o) {
            Some(NodeTag::T_List) => {
                let mut parts: Vec<String> = nodes(o as *mut pg_sys::List).into_iter().filter_map(|n| str_val(n)).collect();
                if action == "DROP ON TABLE" {
                    parts.pop(); // the trigger, rule or policy: the rest names its table
                }
                parts.split_last().map(|(n, rest)| Rel {
                    schema: rest.last().cloned(),
                    name: n.clone(),
                })
            }
            Some(NodeTag::T_String) => str_val(o).map(|n| Rel { schema: None, name: n }),
            Some(NodeTag::T_TypeName) => name_list((*(o as *mut pg_sys::TypeName)).names).map(|(s, n)| Rel { schema: s, name: n }),
            _ => None,
        };
        let mut f = Facts {
            concurrent: (*s).concurrent,
            needs_autocommit: (*s).concurrent,
            object_kind: kind,
            ..Facts::new(action, lock).on(name)
        };
        f.cascade = cascade && kind == "type";
        out.push(f);
    }
    out
}

/// Facts of one statement's parse tree.
unsafe fn statement(node: *mut pg_sys::Node) -> Vec<Facts> {
    pg_sys::check_stack_depth();
    let Some(t) = tag(node) else {
        return Vec::new();
    };
    let one = |f: Facts| vec![f];
    match t {
        NodeTag::T_AlterTableStmt => alter_table(node as *mut pg_sys::AlterTableStmt),
        NodeTag::T_SelectStmt | NodeTag::T_InsertStmt | NodeTag::T_UpdateStmt | NodeTag::T_DeleteStmt | NodeTag::T_MergeStmt => {
            let mut w = walk(node);
            if t == NodeTag::T_SelectStmt {
                let s = node as *mut pg_sys::SelectStmt;
                if !(*s).intoClause.is_null() {
                    // SELECT INTO creates a table.
                    w.out.insert(
                        0,
                        Facts {
                            creates: rel((*(*s).intoClause).rel),
                            ..Facts::new("CREATE TABLE AS", Lock::None)
                        },
                    );
                } else {
                    w.out.insert(0, Facts::new("SELECT", doc::select(!(*s).lockingClause.is_null())));
                }
            }
            w.out
        }
        NodeTag::T_IndexStmt => {
            let s = node as *mut pg_sys::IndexStmt;
            let action = if (*s).unique { "CREATE UNIQUE INDEX" } else { "CREATE INDEX" };
            one(Facts {
                concurrent: (*s).concurrent,
                needs_autocommit: (*s).concurrent,
                ..Facts::new(action, doc::create_index((*s).concurrent)).on(rel((*s).relation))
            })
        }
        NodeTag::T_DropStmt => drop(node as *mut pg_sys::DropStmt),
        NodeTag::T_DropdbStmt => {
            let s = node as *mut pg_sys::DropdbStmt;
            one(Facts {
                needs_autocommit: true,
                object_kind: "database",
                ..Facts::new("DROP DATABASE", Lock::AccessExclusive).on(cstr((*s).dbname).map(|n| Rel { schema: None, name: n }))
            })
        }
        NodeTag::T_CreatedbStmt | NodeTag::T_CreateTableSpaceStmt | NodeTag::T_DropTableSpaceStmt | NodeTag::T_AlterSystemStmt => one(Facts {
            needs_autocommit: true,
            ..Facts::new("OUTSIDE TRANSACTION", Lock::None)
        }),
        NodeTag::T_TruncateStmt => {
            let s = node as *mut pg_sys::TruncateStmt;
            nodes((*s).relations)
                .into_iter()
                .map(|r| Facts::new("TRUNCATE", doc::TRUNCATE).on(rel(r as *const pg_sys::RangeVar)))
                .collect()
        }
        NodeTag::T_VacuumStmt => {
            let s = node as *mut pg_sys::VacuumStmt;
            let full = option_true((*s).options, "full");
            let vacuum = (*s).is_vacuumcmd;
            let f = Facts {
                full,
                needs_autocommit: vacuum,
                ..Facts::new(
                    match (vacuum, full) {
                        (true, true) => "VACUUM FULL",
                        (true, false) => "VACUUM",
                        _ => "ANALYZE",
                    },
                    doc::vacuum(full),
                )
            };
            let rels: Vec<Facts> = nodes((*s).rels)
                .into_iter()
                .filter(|r| tag(*r) == Some(NodeTag::T_VacuumRelation))
                .map(|r| f.clone().on(rel((*(r as *mut pg_sys::VacuumRelation)).relation)))
                .collect();
            if rels.is_empty() {
                vec![f]
            } else {
                rels
            }
        }
        NodeTag::T_ClusterStmt => {
            let s = node as *mut pg_sys::ClusterStmt;
            one(Facts {
                needs_autocommit: (*s).relation.is_null(),
                ..Facts::new("CLUSTER", doc::CLUSTER).on(rel((*s).relation))
            })
        }
        NodeTag::T_ReindexStmt => {
            let s = node as *mut pg_sys::ReindexStmt;
            let concurrent = option_true((*s).params, "concurrently");
            use pg_sys::ReindexObjectType::*;
            let (index, many) = match (*s).kind {
                REINDEX_OBJECT_INDEX => (true, false),
                REINDEX_OBJECT_TABLE => (false, false),
                _ => (false, true),
            };
            let target = rel((*s).relation).or_else(|| cstr((*s).name).map(|n| Rel { schema: None, name: n }));
            one(Facts {
                concurrent,
                needs_autocommit: concurrent || many,
                ..Facts::new(if concurrent { "REINDEX CONCURRENTLY" } else { "REINDEX" }, doc::reindex(concurrent, index)).on(target)
            })
        }
        NodeTag::T_RefreshMatViewStmt => {
            let s = node as *mut pg_sys::RefreshMatViewStmt;
            one(Facts {
                concurrent: (*s).concurrent,
                ..Facts::new(
                    if (*s).concurrent {
                        "REFRESH MATERIALIZED VIEW CONCURRENTLY"
                    } else {
                        "REFRESH MATERIALIZED VIEW"
                    },
                    doc::refresh((*s).concurrent),
                )
                .on(rel((*s).relation))
            })
        }
        NodeTag::T_LockStmt => {
            let s = node as *mut pg_sys::LockStmt;
            let lock = Lock::from_mode((*s).mode);
            nodes((*s).relations)
                .into_iter()
                .map(|r| Facts::new("LOCK TABLE", lock).on(rel(r as *const pg_sys::RangeVar)))
                .collect()
        }
        NodeTag::T_CreateStmt => {
            let s = node as *mut pg_sys::CreateStmt;
            let created = rel((*s).relation);
            let mut out = Vec::new();
            if !(*s).partbound.is_null() {
                let parent = nodes((*s).inhRelations).first().and_then(|r| rel(*r as *const pg_sys::RangeVar));
                out.push(Facts::new("CREATE TABLE PARTITION OF", Lock::AccessExclusive).on(parent));
            }
            out.push(Facts {
                creates: created.clone(),
                ..Facts::new("CREATE TABLE", Lock::None)
            });
            // Foreign keys lock the tables they reference.
            for e in nodes((*s).tableElts) {
                let refs: Vec<Rel> = match tag(e) {
                    Some(NodeTag::T_ColumnDef) => column_def(e as *mut pg_sys::ColumnDef, Facts::default()).references.into_iter().collect(),
                    Some(NodeTag::T_Constraint) if (*(e as *mut pg_sys::Constraint)).contype == pg_sys::ConstrType::CONSTR_FOREIGN => {
                        rel((*(e as *mut pg_sys::Constraint)).pktable).into_iter().collect()
                    }
                    _ => Vec::new(),
                };
                for r in refs {
                    out.push(Facts {
                        references: Some(r),
                        ..Facts::new("CREATE TABLE", Lock::None).on(created.clone())
                    });
                }
            }
            out
        }
        NodeTag::T_CreateTableAsStmt => {
            let s = node as *mut pg_sys::CreateTableAsStmt;
            let into = (*s).into;
            one(Facts {
                creates: if into.is_null() { None } else { rel((*into).rel) },
                ..Facts::new("CREATE TABLE AS", Lock::None)
            })
        }
        NodeTag::T_CreateTrigStmt => {
            let s = node as *mut pg_sys::CreateTrigStmt;
            one(Facts::new("CREATE TRIGGER", doc::CREATE_TRIGGER).on(rel((*s).relation)))
        }
        NodeTag::T_AlterDomainStmt => {
            let s = node as *mut pg_sys::AlterDomainStmt;
            let domain = name_list((*s).typeName).map(|(s, n)| Rel { schema: s, name: n });
            let f = |a, l| Facts::new(a, l).on(domain.clone());
            one(match (*s).subtype as u8 {
                b'C' => {
                    let not_valid = tag((*s).def) == Some(NodeTag::T_Constraint) && (*((*s).def as *mut pg_sys::Constraint)).skip_validation;
                    Facts {
                        not_valid,
                        ..f("ALTER DOMAIN ADD CONSTRAINT", if not_valid { Lock::None } else { doc::DOMAIN_CHECK })
                    }
                }
                b'V' => f("ALTER DOMAIN VALIDATE CONSTRAINT", doc::DOMAIN_CHECK),
                b'O' => f("ALTER DOMAIN SET NOT NULL", doc::DOMAIN_CHECK),
                _ => f("ALTER DOMAIN", Lock::None),
            })
        }
        NodeTag::T_RenameStmt => {
            let s = node as *mut pg_sys::RenameStmt;
            use pg_sys::ObjectType::*;
            let (action, lock) = match (*s).renameType {
                OBJECT_TABLE | OBJECT_VIEW | OBJECT_MATVIEW | OBJECT_FOREIGN_TABLE => ("RENAME TABLE", doc::rename(false)),
                OBJECT_COLUMN => ("RENAME COLUMN", doc::rename(false)),
                OBJECT_INDEX => ("RENAME INDEX", doc::rename(true)),
                OBJECT_TABCONSTRAINT => ("RENAME CONSTRAINT", doc::rename(false)),
                _ => ("RENAME", Lock::None),
            };
            one(Facts {
                column: cstr((*s).subname),
                ..Facts::new(action, lock).on(rel((*s).relation))
            })
        }
        NodeTag::T_AlterObjectSchemaStmt => {
            let s = node as *mut pg_sys::AlterObjectSchemaStmt;
            let r = rel((*s).relation);
            one(if r.is_some() {
                Facts::new("SET SCHEMA", Lock::AccessExclusive).on(r)
            } else {
                Facts::new("SET SCHEMA", Lock::None)
            })
        }
        NodeTag::T_TransactionStmt => one(Facts {
            transaction_control: true,
            ..Facts::new("TRANSACTION CONTROL", Lock::None)
        }),
        NodeTag::T_CopyStmt => {
            let s = node as *mut pg_sys::CopyStmt;
            let lock = if (*s).is_from { doc::DML } else { doc::select(false) };
            one(Facts::new(if (*s).is_from { "COPY FROM" } else { "COPY TO" }, lock).on(rel((*s).relation)))
        }
        NodeTag::T_CommentStmt => one(Facts::new("COMMENT", doc::SHARE_UPDATE_EXCLUSIVE)),
        NodeTag::T_CreateStatsStmt => one(Facts::new("CREATE STATISTICS", doc::SHARE_UPDATE_EXCLUSIVE)),
        NodeTag::T_ExplainStmt => {
            // EXPLAIN ANALYZE runs the statement.
            let s = node as *mut pg_sys::ExplainStmt;
            if option_true((*s).options, "analyze") {
                statement((*s).query)
            } else {
                one(Facts::new("EXPLAIN", Lock::None))
            }
        }
        NodeTag::T_ViewStmt
        | NodeTag::T_CreateFunctionStmt
        | NodeTag::T_CreateSeqStmt
        | NodeTag::T_CompositeTypeStmt
        | NodeTag::T_CreateEnumStmt
        | NodeTag::T_CreateDomainStmt
        | NodeTag::T_CreateExtensionStmt
        | NodeTag::T_CreateSchemaStmt => one(Facts::new("CREATE", Lock::None)),
        _ => one(Facts::new("OTHER", Lock::None)),
    }
}
