//! The trigger on `temporal_entities`: fills defaults, validates documents against
//! the active schema and counts writes of deprecated fields.
//!
//! Schema cache. The active schema is parsed once and cached per backend. A statement
//! trigger on `schema_versions` clears this backend's cache and queues a relcache
//! invalidation of that table, which other backends receive once the change commits.
//! At the first use in each top-level statement the trigger processes pending
//! invalidations (`AcceptInvalidationMessages`), and it loads the active version with
//! the latest snapshot, not the transaction's: a REPEATABLE READ transaction sees the
//! version committed when its statement started, like a READ COMMITTED one, and a
//! reload never caches an old version for the rest of the session. Invalidations that
//! arrive in the middle of a statement take effect at the next one, so one statement
//! applies one version throughout (its own transaction's changes excepted).
//!
//! Usage of deprecated fields. The row trigger only counts in backend memory, tagged
//! with the subtransaction, so nothing is locked per write. An AFTER ... FOR EACH
//! STATEMENT trigger appends one row per (entity type, field) to the append-only
//! `deprecated_field_usage_log`, as the table's owner (the user id is switched in C and
//! restored on every exit). Counts of aborted (sub)transactions are dropped. No SQL
//! function writes usage, so only real document writes are counted.
//!
//! Restores. A `COPY ... FROM` by a role with the owner's privileges (pg_restore) loads
//! rows verbatim: no defaults, no validation, no counting (see `pg::restoring_copy`).

use crate::jsonb::view::{key_order, JsonView};
use crate::jsonb::{Jsonb, Out, Value, Writer};
use crate::pg::errors::raise;
use crate::pg::restoring_copy::is_restoring_copy;
use crate::pg::settings::{DeprecatedPolicy, Validation, DEPRECATED_POLICY, VALIDATION};
use crate::schema::validate::{self, EntityRules, Rules};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTrigger};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::rc::Rc;

/// At most this many problems are reported per document (a hostile document may have millions).
const MAX_REPORTED: usize = 20;

/// Defaults of one entity as an owned, 4-byte-aligned jsonb object `{field: default}`.
struct Defaults(Vec<u32>);

impl Defaults {
    fn root(&self) -> Value<'_> {
        // SAFETY: the buffer holds a complete jsonb varlena, aligned for its u32 words.
        unsafe { Value::root((self.0.as_ptr() as *const u8).add(pg_sys::VARHDRSZ)) }
    }
}

struct Active {
    rules: Rules,
    defaults: HashMap<String, Defaults>,
}

/// Attribute numbers of the columns the trigger reads, found once per table and
/// checked against the tuple descriptor on every use (ALTER TABLE moves them).
#[derive(Clone, Copy)]
struct Columns {
    relid: pg_sys::Oid,
    valid_to: NonZeroUsize,
    is_deleted: NonZeroUsize,
    entity_type: NonZeroUsize,
    content: NonZeroUsize,
}

const COLUMN_NAMES: [&str; 4] = ["valid_to", "is_deleted", "entity_type", "content"];

/// Pending usage counts: (subtransaction, entity type, field) -> writes.
type Pending = HashMap<(pg_sys::SubTransactionId, String, String), i64>;

thread_local! {
    static COLUMNS: Cell<Option<Columns>> = const { Cell::new(None) };
    static CACHE: RefCell<Option<Rc<Option<Active>>>> = const { RefCell::new(None) };
    static CALLBACKS_REGISTERED: Cell<bool> = const { Cell::new(false) };
    /// The last schema definition `document_violations_in` parsed, by its bytes.
    static NAMED: RefCell<Option<(Vec<u8>, Rc<Active>)>> = const { RefCell::new(None) };
    static SCHEMA_VERSIONS_OID: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    static TEMPORAL_ENTITIES_OID: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    /// Another backend's (or a DDL) change to schema_versions arrived: reload at the next statement.
    static REMOTE_STALE: Cell<bool> = const { Cell::new(false) };
    /// Start of the top-level statement whose invalidations were last processed.
    static CHECKED_STATEMENT: Cell<Option<pg_sys::TimestampTz>> = const { Cell::new(None) };
    static PENDING: RefCell<Pending> = RefCell::new(HashMap::new());
}

#[pg_guard]
unsafe extern "C-unwind" fn relcache_changed(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid || relid == SCHEMA_VERSIONS_OID.get() {
        REMOTE_STALE.set(true);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn xact_end(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_ABORT | XACT_EVENT_PARALLEL_ABORT => {
            // This transaction's own schema changes are undone: forget what they taught us.
            CACHE.set(None);
            PENDING.with_borrow_mut(|p| p.clear());
            CHECKED_STATEMENT.set(None);
        }
        XACT_EVENT_COMMIT | XACT_EVENT_PARALLEL_COMMIT | XACT_EVENT_PREPARE => {
            PENDING.with_borrow_mut(|p| p.clear());
            CHECKED_STATEMENT.set(None);
        }
        _ => {}
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn subxact_end(
    event: pg_sys::SubXactEvent::Type,
    sub: pg_sys::SubTransactionId,
    parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::SubXactEvent::*;
    match event {
        SUBXACT_EVENT_ABORT_SUB => {
            CACHE.set(None);
            PENDING.with_borrow_mut(|p| p.retain(|k, _| k.0 != sub));
        }
        SUBXACT_EVENT_COMMIT_SUB => PENDING.with_borrow_mut(|p| {
            let moved: Vec<_> = p.keys().filter(|k| k.0 == sub).cloned().collect();
            for k in moved {
                let n = p.remove(&k).unwrap_or(0);
                *p.entry((parent, k.1, k.2)).or_insert(0) += n;
            }
        }),
        _ => {}
    }
}

fn register_callbacks() {
    if !CALLBACKS_REGISTERED.get() {
        // SAFETY: backend-local callbacks; they live as long as the backend.
        unsafe {
            pg_sys::CacheRegisterRelcacheCallback(Some(relcache_changed), pg_sys::Datum::from(0));
            pg_sys::RegisterXactCallback(Some(xact_end), std::ptr::null_mut());
            pg_sys::RegisterSubXactCallback(Some(subxact_end), std::ptr::null_mut());
        }
        CALLBACKS_REGISTERED.set(true);
    }
}

fn relation_oid(name: &std::ffi::CStr) -> pg_sys::Oid {
    // SAFETY: catalog lookups by name; missing objects give InvalidOid.
    unsafe {
        let nsp = pg_sys::get_namespace_oid(c"pgmigrate".as_ptr(), true);
        if nsp == pg_sys::InvalidOid {
            return pg_sys::InvalidOid;
        }
        pg_sys::get_relname_relid(name.as_ptr(), nsp)
    }
}

/// Read the active schema with the latest snapshot (never the transaction snapshot).
fn load() -> Rc<Option<Active>> {
    register_callbacks();
    SCHEMA_VERSIONS_OID.set(relation_oid(c"schema_versions"));
    TEMPORAL_ENTITIES_OID.set(relation_oid(c"temporal_entities"));
    let loaded = Spi::connect(|_client| {
        // SAFETY: a read-only SPI query under a freshly taken snapshot, pushed for its
        // duration; on error the abort path pops it.
        unsafe {
            pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
            let rc = pg_sys::SPI_execute(c"SELECT schema_definition FROM pgmigrate.schema_versions WHERE is_active".as_ptr(), true, 2);
            pg_sys::PopActiveSnapshot();
            if rc != pg_sys::SPI_OK_SELECT as i32 {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    format!("cannot read the active schema (SPI code {rc})"),
                    None,
                    None,
                );
            }
            let table = pg_sys::SPI_tuptable;
            if table.is_null() || pg_sys::SPI_processed == 0 {
                return None;
            }
            let mut is_null = false;
            let datum = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut is_null);
            Jsonb::from_datum(datum, is_null).map(|d| parse_active(&d))
        }
    });
    let active = Rc::new(loaded);
    CACHE.set(Some(active.clone()));
    active
}

fn parse_active(def: &Jsonb) -> Active {
    let root = def.root();
    let rules = validate::rules(root).unwrap_or_else(|e| crate::pg::errors::raise_schema(e));
    let mut defaults = HashMap::new();
    if let Some(ents) = root.get("entities") {
        for (entity, edef) in ents.entries() {
            let pairs: Vec<_> = edef
                .get("fields")
                .map(|f| f.pairs())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(name, fdef)| fdef.get("default").map(|d| (name, Out::Value(d))))
                .collect();
            if !pairs.is_empty() {
                defaults.insert(entity.to_string(), Defaults(Writer::to_words(&Out::Object(pairs))));
            }
        }
    }
    Active { rules, defaults }
}

/// The active schema as of the start of this statement (see the module comment).
fn active() -> Rc<Option<Active>> {
    // SAFETY: reads backend state.
    let statement = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    if CHECKED_STATEMENT.get() != Some(statement) {
        // SAFETY: processes queued invalidations, as any lock acquisition does.
        unsafe { pg_sys::AcceptInvalidationMessages() };
        if REMOTE_STALE.replace(false) {
            CACHE.set(None);
        }
        CHECKED_STATEMENT.set(Some(statement));
    }
    CACHE.with_borrow(|c| c.clone()).unwrap_or_else(load)
}

/// `content` with every default it lacks filled in; `None` when nothing is missing.
fn fill_defaults(content: Value<'_>, defaults: &Defaults) -> Option<Jsonb> {
    let have = content.pairs();
    let wanted = defaults.root().pairs();
    let missing: Vec<_> = wanted
        .iter()
        .filter(|(k, _)| content.as_object().is_some() && !have.iter().any(|(h, _)| h == k))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut pairs: Vec<_> = have.iter().map(|(k, v)| (*k, Out::Value(*v))).collect();
    pairs.extend(missing.into_iter().map(|(k, v)| (*k, Out::Value(*v))));
    pairs.sort_by(|a, b| key_order(a.0, b.0));
    Some(Writer::finish(&Out::Object(pairs)))
}

/// Up to MAX_REPORTED messages joined for a DETAIL, with how many were left out.
fn summary(messages: &[&str]) -> String {
    let mut out = messages.iter().take(MAX_REPORTED).copied().collect::<Vec<_>>().join("; ");
    if messages.len() > MAX_REPORTED {
        out.push_str(&format!("; and {} more", messages.len() - MAX_REPORTED));
    }
    out
}

fn check(entity: &str, rules: &EntityRules, content: Value<'_>) {
    let mode = VALIDATION.get();
    if mode == Validation::Off {
        return;
    }
    let problems = validate::violations(entity, rules, content);
    let Some(first) = problems.first() else {
        return;
    };
    let messages: Vec<&str> = problems.iter().map(|v| v.message.as_str()).collect();
    if mode == Validation::Enforce {
        raise(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            first.message.clone(),
            (problems.len() > 1).then(|| summary(&messages)),
            Some("Fix the document; only a privileged role can SET pg_migrate.validation = warn | off."),
        );
    }
    for m in messages.iter().take(MAX_REPORTED) {
        pgrx::warning!("{m}");
    }
    if problems.len() > MAX_REPORTED {
        pgrx::warning!("entity {}: {} more problems not shown", validate::shown(entity), problems.len() - MAX_REPORTED);
    }
}

fn note_deprecated(entity: &str, rules: &EntityRules, content: Value<'_>, count: bool) {
    let policy = DEPRECATED_POLICY.get();
    if policy == DeprecatedPolicy::Off {
        return;
    }
    let used = validate::deprecated_in(rules, content);
    if used.is_empty() {
        return;
    }
    let text = |f: &validate::FieldRule| {
        let msg = f.deprecated.as_deref().filter(|m| !m.is_empty()).unwrap_or("field is deprecated");
        format!(
            "entity {}: field \"{}\" is deprecated: {}",
            validate::shown(entity),
            validate::shown(&f.name),
            validate::shown(msg)
        )
    };
    if policy == DeprecatedPolicy::Error {
        raise(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            text(used[0]),
            None,
            Some("Stop writing the field, or have a privileged role SET pg_migrate.deprecated_field_policy = warn."),
        );
    }
    if count {
        // SAFETY: reads backend state.
        let sub = unsafe { pg_sys::GetCurrentSubTransactionId() };
        PENDING.with_borrow_mut(|p| {
            for f in &used {
                *p.entry((sub, entity.to_string(), f.name.clone())).or_insert(0) += 1;
            }
        });
    }
    for f in used.iter().take(MAX_REPORTED) {
        pgrx::warning!("{}", text(f));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("pg_migrate: {0}")]
    Tuple(#[from] pgrx::heap_tuple::PgHeapTupleError),
    #[error("pg_migrate: {0}")]
    Datum(#[from] pgrx::datum::TryFromDatumError),
    #[error("pg_migrate: the entity-store trigger must be a BEFORE INSERT OR UPDATE row trigger")]
    Misplaced,
    #[error("pg_migrate: the usage trigger must be an AFTER INSERT OR UPDATE statement trigger on pgmigrate.temporal_entities")]
    MisplacedUsage,
}

/// Do the cached attribute numbers still name the columns in this tuple's descriptor?
fn columns_match<A: WhoAllocated>(cols: &Columns, relid: pg_sys::Oid, tuple: &PgHeapTuple<'_, A>) -> bool {
    cols.relid == relid
        && [cols.valid_to, cols.is_deleted, cols.entity_type, cols.content]
            .iter()
            .zip(COLUMN_NAMES)
            .all(|(n, name)| tuple.get_attribute_by_index(*n).is_some_and(|a| !a.is_dropped() && a.name() == name))
}

/// Is this version of the row the current, live one? `(current and live, entity type)`.
fn live_type<A: WhoAllocated>(cols: &Columns, row: &PgHeapTuple<'_, A>) -> Result<(bool, Option<String>), TriggerError> {
    let current = row
        .get_by_index::<pgrx::datum::TimestampWithTimeZone>(cols.valid_to)?
        .is_some_and(|t| t.is_infinity());
    let deleted = row.get_by_index::<bool>(cols.is_deleted)?.unwrap_or(false);
    Ok((current && !deleted, row.get_by_index::<String>(cols.entity_type)?))
}

/// BEFORE INSERT OR UPDATE on temporal_entities: defaults, validation, deprecation.
/// A row is validated whenever it becomes current and live: on INSERT, and on UPDATE
/// unless the old row was already current and live with the same type and content
/// (so legacy rows can still be closed or tagged). Restores load rows verbatim.
#[pg_trigger(sql = false)]
fn temporal_entities_evolve<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TriggerError> {
    let mut new = trigger.new().ok_or(TriggerError::Misplaced)?.into_owned();
    let relid = trigger.relid().map_err(|_| TriggerError::Misplaced)?;
    let cols = match COLUMNS.get().filter(|c| columns_match(c, relid, &new)) {
        Some(c) => c,
        None => {
            let at = |name: &str| new.get_attribute_by_name(name).map(|(n, _)| n).ok_or(TriggerError::Misplaced);
            let c = Columns {
                relid,
                valid_to: at("valid_to")?,
                is_deleted: at("is_deleted")?,
                entity_type: at("entity_type")?,
                content: at("content")?,
            };
            COLUMNS.set(Some(c));
            c
        }
    };
    let (live, entity) = live_type(&cols, &new)?;
    let (Some(entity), true) = (entity, live) else {
        return Ok(Some(new));
    };
    if is_restoring_copy(relid) {
        return Ok(Some(new));
    }
    let active = active();
    let Some(active) = active.as_ref() else {
        return Ok(Some(new));
    };
    let Some(rules) = active.rules.entities.get(&entity) else {
        return Ok(Some(new));
    };
    let Some(mut content) = new.get_by_index::<Jsonb>(cols.content)? else {
        return Ok(Some(new));
    };

    let fresh = match trigger.old() {
        Some(old) => {
            let (was_live, old_entity) = live_type(&cols, &old)?;
            !was_live || old_entity.as_deref() != Some(entity.as_str()) || old.get_by_index::<Jsonb>(cols.content)?.is_none_or(|o| !o.same_bytes(&content))
        }
        None => true,
    };
    // Deprecated fields count only when the writer sent them, not when a default filled
    // them, and only for the extension's own table.
    if fresh {
        note_deprecated(&entity, rules, content.root(), relid == TEMPORAL_ENTITIES_OID.get());
    }
    if let Some(filled) = active.defaults.get(&entity).and_then(|d| fill_defaults(content.root(), d)) {
        content = filled;
        new.set_by_index(cols.content, content.clone())?;
    }
    if fresh {
        check(&entity, rules, content.root());
    }
    Ok(Some(new))
}

/// Restores the saved user id and security context when dropped (also while unwinding).
struct UserSwitch {
    user: pg_sys::Oid,
    context: i32,
}

impl UserSwitch {
    fn to(owner: pg_sys::Oid) -> UserSwitch {
        let (mut user, mut context) = (pg_sys::InvalidOid, 0);
        // SAFETY: reads and sets this backend's current user id, as SECURITY DEFINER calls do.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
            pg_sys::SetUserIdAndSecContext(
                owner,
                context | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION) as i32,
            );
        }
        UserSwitch { user, context }
    }
}

impl Drop for UserSwitch {
    fn drop(&mut self) {
        // SAFETY: restores the values saved by `to`.
        unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) };
    }
}

/// AFTER INSERT OR UPDATE statement trigger on temporal_entities: append the usage
/// counted by this (sub)transaction's row triggers to the log, as the log's owner.
#[pg_trigger(sql = false)]
fn temporal_entities_usage<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, TriggerError> {
    let relid = trigger.relid().map_err(|_| TriggerError::MisplacedUsage)?;
    if relid != relation_oid(c"temporal_entities") {
        return Err(TriggerError::MisplacedUsage);
    }
    // SAFETY: reads backend state.
    let sub = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let mut rows: Vec<(String, String, i64)> = PENDING.with_borrow_mut(|p| {
        let keys: Vec<_> = p.keys().filter(|k| k.0 == sub).cloned().collect();
        keys.into_iter()
            .map(|k| {
                let n = p.remove(&k).unwrap_or(0);
                (k.1, k.2, n)
            })
            .collect()
    });
    if rows.is_empty() {
        return Ok(None);
    }
    rows.sort();
    let log = relation_oid(c"deprecated_field_usage_log");
    // SAFETY: syscache lookup of an existing relation's owner.
    let owner = unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(log));
        if tuple.is_null() {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
                "pgmigrate.deprecated_field_usage_log does not exist",
                None,
                None,
            );
        }
        let form = pg_sys::GETSTRUCT(tuple) as pg_sys::Form_pg_class;
        let owner = (*form).relowner;
        pg_sys::ReleaseSysCache(tuple);
        owner
    };
    let (entities, rest): (Vec<String>, Vec<(String, i64)>) = rows.into_iter().map(|(e, f, n)| (e, (f, n))).unzip();
    let (fields, writes): (Vec<String>, Vec<i64>) = rest.into_iter().unzip();
    let _as_owner = UserSwitch::to(owner);
    // Every name is schema-qualified: this runs as the owner under the writer's search_path.
    Spi::run_with_args(
        "INSERT INTO pgmigrate.deprecated_field_usage_log (entity_type, field_name, writes) \
         SELECT u.e, u.f, u.w FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(e, f, w)",
        &[entities.into(), fields.into(), writes.into()],
    )
    .unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("cannot log deprecated field use: {e}"),
            None,
            None,
        )
    });
    Ok(None)
}

/// AFTER statement trigger on schema_versions: drop this backend's cache now, and make
/// every other backend's cache stale once the change commits.
#[pg_trigger(sql = false)]
fn schema_versions_changed<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, TriggerError> {
    let relid = trigger.relid().map_err(|_| TriggerError::Misplaced)?;
    CACHE.set(None);
    // SAFETY: queues a transactional relcache invalidation for an existing relation.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    Ok(None)
}

/// The active schema's complaints about one document (defaults filled first), for
/// integrity checks over stored entities. Empty when the document conforms.
#[pg_extern(stable, strict, sql = false)]
fn document_violations(entity_type: &str, content: Jsonb) -> Vec<String> {
    let active = active();
    match active.as_ref() {
        Some(active) => violations_under(active, entity_type, &content),
        None => Vec::new(),
    }
}

/// The complaints of a given schema definition (a published version's, which never
/// changes) about one document. The parsed definition is cached by its bytes, so a
/// batch checked against one version parses it once.
#[pg_extern(immutable, strict, sql = false)]
fn document_violations_in(schema_definition: Jsonb, entity_type: &str, content: Jsonb) -> Vec<String> {
    let key = schema_definition.bytes();
    let cached = NAMED.with_borrow(|c| c.as_ref().filter(|(k, _)| k.as_slice() == key).map(|(_, a)| a.clone()));
    let parsed = cached.unwrap_or_else(|| {
        let a = Rc::new(parse_active(&schema_definition));
        NAMED.set(Some((key.to_vec(), a.clone())));
        a
    });
    violations_under(&parsed, entity_type, &content)
}

fn violations_under(schema: &Active, entity_type: &str, content: &Jsonb) -> Vec<String> {
    let Some(rules) = schema.rules.entities.get(entity_type) else {
        return Vec::new();
    };
    let filled = schema.defaults.get(entity_type).and_then(|d| fill_defaults(content.root(), d));
    let doc = filled.as_ref().unwrap_or(content);
    validate::violations(entity_type, rules, doc.root()).into_iter().map(|v| v.message).collect()
}
