//! The trigger on `temporal_entities`: fills defaults, validates documents against
//! the active schema and counts writes of deprecated fields.
//!
//! The active schema is parsed once per backend and cached. A statement-level
//! trigger on `schema_versions` sends a relcache invalidation for that table on
//! every change, which PostgreSQL delivers to this backend at the next command
//! (and to other backends at commit, or drops on rollback); the callback marks
//! the cache stale.

use crate::errors::raise;
use crate::json_view::{key_order, JsonView};
use crate::jsonb::{Jsonb, Out, Value, Writer};
use crate::settings::{DeprecatedPolicy, Validation, DEPRECATED_POLICY, VALIDATION};
use crate::validate::{self, EntityRules, Rules};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTrigger};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::rc::Rc;

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

/// Attribute numbers of the columns the trigger reads, found once per table.
#[derive(Clone, Copy)]
struct Columns {
    relid: pg_sys::Oid,
    valid_to: NonZeroUsize,
    is_deleted: NonZeroUsize,
    entity_type: NonZeroUsize,
    content: NonZeroUsize,
}

thread_local! {
    static COLUMNS: Cell<Option<Columns>> = const { Cell::new(None) };
    static CACHE: RefCell<Option<Rc<Option<Active>>>> = const { RefCell::new(None) };
    static CALLBACK_REGISTERED: Cell<bool> = const { Cell::new(false) };
    static SCHEMA_VERSIONS_OID: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

#[pg_guard]
unsafe extern "C-unwind" fn relcache_changed(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid || relid == SCHEMA_VERSIONS_OID.get() {
        CACHE.set(None);
    }
}

fn load() -> Rc<Option<Active>> {
    if !CALLBACK_REGISTERED.get() {
        // SAFETY: registering a backend-local callback; it lives as long as the backend.
        unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(relcache_changed), pg_sys::Datum::from(0)) };
        CALLBACK_REGISTERED.set(true);
    }
    let loaded = Spi::connect(|client| {
        let oid = client
            .select("SELECT 'pgmigrate.schema_versions'::regclass::oid", None, &[])?
            .first()
            .get_one::<pg_sys::Oid>()?;
        SCHEMA_VERSIONS_OID.set(oid.unwrap_or(pg_sys::InvalidOid));
        let def = client
            .select("SELECT (SELECT schema_definition FROM pgmigrate.schema_versions WHERE is_active)", None, &[])?
            .first()
            .get_one::<Jsonb>()?;
        Ok::<_, pgrx::spi::Error>(def.map(|d| parse_active(&d)))
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot read the active schema: {e}"), None, None));
    let active = Rc::new(loaded);
    CACHE.set(Some(active.clone()));
    active
}

fn parse_active(def: &Jsonb) -> Active {
    let root = def.root();
    let rules = validate::rules(root).unwrap_or_else(|e| crate::errors::raise_schema(e));
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

fn active() -> Rc<Option<Active>> {
    CACHE.with_borrow(|c| c.clone()).unwrap_or_else(load)
}

/// `content` with every default it lacks filled in; `None` when nothing is missing.
fn fill_defaults(content: Value<'_>, defaults: &Defaults) -> Option<Jsonb> {
    let have = content.pairs();
    let wanted = defaults.root().pairs();
    let missing: Vec<_> = wanted.iter().filter(|(k, _)| content.as_object().is_some() && !have.iter().any(|(h, _)| h == k)).collect();
    if missing.is_empty() {
        return None;
    }
    let mut pairs: Vec<_> = have.iter().map(|(k, v)| (*k, Out::Value(*v))).collect();
    pairs.extend(missing.into_iter().map(|(k, v)| (*k, Out::Value(*v))));
    pairs.sort_by(|a, b| key_order(a.0, b.0));
    Some(Writer::finish(&Out::Object(pairs)))
}

fn check(entity: &str, rules: &EntityRules, content: Value<'_>) {
    let mode = VALIDATION.get();
    if mode == Validation::Off {
        return;
    }
    let problems = validate::violations(entity, rules, content);
    let Some(first) = problems.first() else { return };
    let detail = (problems.len() > 1).then(|| problems.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; "));
    if mode == Validation::Enforce {
        raise(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            first.message.clone(),
            detail,
            Some("Fix the document, or SET pg_migrate.validation = warn | off."),
        );
    }
    for p in &problems {
        pgrx::warning!("{}", p.message);
    }
}

fn note_deprecated(entity: &str, rules: &EntityRules, content: Value<'_>) {
    let policy = DEPRECATED_POLICY.get();
    if policy == DeprecatedPolicy::Off {
        return;
    }
    let used = validate::deprecated_in(rules, content);
    if used.is_empty() {
        return;
    }
    let names: Vec<String> = used.iter().map(|f| f.name.clone()).collect();
    let text = |f: &validate::FieldRule| {
        let msg = f.deprecated.as_deref().filter(|m| !m.is_empty()).unwrap_or("field is deprecated");
        format!("entity {entity}: field \"{}\" is deprecated: {msg}", f.name)
    };
    if policy == DeprecatedPolicy::Error {
        raise(
            PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
            text(used[0]),
            None,
            Some("Stop writing the field, or SET pg_migrate.deprecated_field_policy = warn."),
        );
    }
    Spi::run_with_args(
        "SELECT pgmigrate.record_deprecated_use($1, $2)",
        &[entity.into(), names.into()],
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("cannot count deprecated field use: {e}"), None, None));
    for f in used {
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
}

/// BEFORE INSERT OR UPDATE on temporal_entities: defaults, validation, deprecation.
/// Only current, live rows are checked, and an UPDATE only when its content changed.
#[pg_trigger(sql = false)]
fn temporal_entities_evolve<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TriggerError> {
    let mut new = trigger.new().ok_or(TriggerError::Misplaced)?.into_owned();
    let relid = trigger.relid().map_err(|_| TriggerError::Misplaced)?;
    let cols = match COLUMNS.get().filter(|c| c.relid == relid) {
        Some(c) => c,
        None => {
            let at = |name: &str| new.get_attribute_by_name(name).map(|(n, _)| n).ok_or(TriggerError::Misplaced);
            let c = Columns { relid, valid_to: at("valid_to")?, is_deleted: at("is_deleted")?, entity_type: at("entity_type")?, content: at("content")? };
            COLUMNS.set(Some(c));
            c
        }
    };
    let current = new.get_by_index::<pgrx::datum::TimestampWithTimeZone>(cols.valid_to)?.is_some_and(|t| t.is_infinity());
    let deleted = new.get_by_index::<bool>(cols.is_deleted)?.unwrap_or(false);
    let entity = new.get_by_index::<String>(cols.entity_type)?;
    let (Some(entity), true, false) = (entity, current, deleted) else { return Ok(Some(new)) };
    let active = active();
    let Some(active) = active.as_ref() else { return Ok(Some(new)) };
    let Some(rules) = active.rules.entities.get(&entity) else { return Ok(Some(new)) };
    let Some(mut content) = new.get_by_index::<Jsonb>(cols.content)? else { return Ok(Some(new)) };

    let changed = match trigger.old() {
        Some(old) => old.get_by_index::<Jsonb>(cols.content)?.is_none_or(|o| !o.same_bytes(&content)),
        None => true,
    };
    // Deprecated fields count only when the writer sent them, not when a default filled them.
    if changed {
        note_deprecated(&entity, rules, content.root());
    }
    if let Some(filled) = active.defaults.get(&entity).and_then(|d| fill_defaults(content.root(), d)) {
        content = filled;
        new.set_by_index(cols.content, content.clone())?;
    }
    if changed {
        check(&entity, rules, content.root());
    }
    Ok(Some(new))
}

/// AFTER statement trigger on schema_versions: make every backend's cache stale.
#[pg_trigger(sql = false)]
fn schema_versions_changed<'a>(trigger: &'a PgTrigger<'a>) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, TriggerError> {
    let relid = trigger.relid().map_err(|_| TriggerError::Misplaced)?;
    // SAFETY: queues a transactional relcache invalidation for an existing relation.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    Ok(None)
}

/// The active schema's complaints about one document (defaults filled first), for
/// integrity checks over stored entities. Empty when the document conforms.
#[pg_extern(stable, strict, sql = false)]
fn document_violations(entity_type: &str, content: Jsonb) -> Vec<String> {
    let active = active();
    let Some(active) = active.as_ref() else { return Vec::new() };
    let Some(rules) = active.rules.entities.get(entity_type) else { return Vec::new() };
    let filled = active.defaults.get(entity_type).and_then(|d| fill_defaults(content.root(), d));
    let doc = filled.as_ref().unwrap_or(&content);
    validate::violations(entity_type, rules, doc.root()).into_iter().map(|v| v.message).collect()
}
