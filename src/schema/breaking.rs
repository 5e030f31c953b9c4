//! Breaking-change detection between two entity schemas
//! (`{"entities": {"<Entity>": {"fields": {"<field>": {"type", "nullable", "default"}}}}}`).
//!
//! The result matches the reference PL/pgSQL function change for change and in the
//! same order; `FIELD_REQUIRED_ADDED` changes, which the reference never reports,
//! come after all of them. Malformed shapes are refused with the JSON path.

use crate::jsonb::view::{key_order, JsonView};
use crate::schema::types;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    EntityRemoved,
    FieldRemoved,
    FieldTypeChanged,
    FieldNullabilityChanged,
    FieldRequiredAdded,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::EntityRemoved => "ENTITY_REMOVED",
            ChangeKind::FieldRemoved => "FIELD_REMOVED",
            ChangeKind::FieldTypeChanged => "FIELD_TYPE_CHANGED",
            ChangeKind::FieldNullabilityChanged => "FIELD_NULLABILITY_CHANGED",
            ChangeKind::FieldRequiredAdded => "FIELD_REQUIRED_ADDED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    pub kind: ChangeKind,
    pub entity: &'a str,
    pub field: Option<&'a str>,
    /// Old and new `type` texts, for `FIELD_TYPE_CHANGED`.
    pub types: Option<(Cow<'a, str>, Cow<'a, str>)>,
    /// `true` for HIGH, `false` for MEDIUM.
    pub high: bool,
    pub description: String,
}

impl Change<'_> {
    pub fn severity(&self) -> &'static str {
        if self.high {
            "HIGH"
        } else {
            "MEDIUM"
        }
    }
}

/// A malformed schema: the JSON path of the offending value and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The SQL argument holding the value, when known.
    pub argument: Option<&'static str>,
    /// A JSON path such as `$.entities."My Entity".fields`.
    pub path: String,
    pub problem: String,
}

impl SchemaError {
    pub fn on_arg(mut self, argument: &'static str) -> Self {
        self.argument = Some(argument);
        self
    }
}

/// A schema refused, with a hint of its own when the general one (what a schema looks
/// like) does not help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: SchemaError,
    pub hint: Option<&'static str>,
}

impl From<SchemaError> for Refusal {
    fn from(error: SchemaError) -> Self {
        Refusal { error, hint: None }
    }
}

impl Refusal {
    pub fn on_arg(mut self, argument: &'static str) -> Self {
        self.error.argument = Some(argument);
        self
    }
}

/// Parse a field's `type` text; a refused name names the field's `type` path.
pub fn parse_type(text: &str, field_path: &dyn Fn() -> String) -> Result<types::Ty, Refusal> {
    types::parse(text).map_err(|e| Refusal {
        error: SchemaError {
            argument: None,
            path: path_key(&field_path(), "type"),
            problem: e.message(),
        },
        hint: Some(e.hint()),
    })
}

/// Append a key to a JSON path, quoting it unless it is a plain identifier.
/// Keys past 60 characters are shortened so messages stay readable.
pub fn path_key(path: &str, key: &str) -> String {
    let short;
    let key = match key.char_indices().nth(60) {
        Some((cut, _)) => {
            short = format!("{}...", &key[..cut]);
            short.as_str()
        }
        None => key,
    };
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
        format!("{path}.\"{escaped}\"")
    }
}

fn malformed(path: String, what: &str, kind: &str) -> SchemaError {
    SchemaError {
        argument: None,
        path,
        problem: format!("{what} must be a JSON object, not {kind}"),
    }
}

/// A schema's `entities` object; `None` when the schema has none.
pub fn entities<'a, V: JsonView<'a>>(schema: Option<V>) -> Result<Option<V>, SchemaError> {
    let Some(schema) = schema else {
        return Ok(None);
    };
    if !schema.is_object() {
        return Err(malformed("$".into(), "a schema", schema.kind().name()));
    }
    match schema.get("entities") {
        None => Ok(None),
        Some(e) if e.is_object() => Ok(Some(e)),
        Some(e) => Err(malformed("$.entities".into(), "\"entities\"", e.kind().name())),
    }
}

/// An entity definition's `fields` object; `None` when it has none.
pub fn fields<'a, V: JsonView<'a>>(entity: V, path: &str) -> Result<Option<V>, SchemaError> {
    if !entity.is_object() {
        return Err(malformed(path.to_string(), "an entity definition", entity.kind().name()));
    }
    match entity.get("fields") {
        None => Ok(None),
        Some(f) if f.is_object() => Ok(Some(f)),
        Some(f) => Err(malformed(path_key(path, "fields"), "\"fields\"", f.kind().name())),
    }
}

/// `text::boolean` (`boolin`): surrounding whitespace trimmed, then PostgreSQL's own
/// `parse_bool`. Plain unit tests run without a server and use json_view's replica.
#[cfg(not(test))]
fn text_to_bool(s: &str) -> Option<bool> {
    let v = s.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'));
    let mut out = false;
    // SAFETY: parse_bool_with_len reads exactly `len` bytes of `value`, writes `result`
    // and never raises an error.
    let ok = unsafe { pgrx::pg_sys::parse_bool_with_len(v.as_ptr().cast(), v.len(), &mut out) };
    ok.then_some(out)
}

#[cfg(test)]
fn text_to_bool(s: &str) -> Option<bool> {
    crate::jsonb::view::parse_pg_bool(s)
}

/// A field's `nullable` flag read as the reference reads it (`(f->>'nullable')::boolean`).
pub fn nullable<'a, V: JsonView<'a>>(field: V, path: &str) -> Result<Option<bool>, SchemaError> {
    let Some(text) = field.get("nullable").and_then(|n| n.text()) else {
        return Ok(None);
    };
    text_to_bool(&text).map(Some).ok_or_else(|| SchemaError {
        argument: None,
        path: path_key(path, "nullable"),
        problem: format!("\"nullable\" must be a boolean, not \"{}\"", types::shorten(&text)),
    })
}

/// A field definition, read once.
struct Field<'a> {
    name: &'a str,
    ty: Option<Cow<'a, str>>,
    parsed: Option<types::Ty>,
    nullable: Option<bool>,
    has_default: bool,
}

/// An entity definition; `fields` is `None` when it has no `fields` key.
struct Entity<'a> {
    name: &'a str,
    fields: Option<Vec<Field<'a>>>,
}

/// Every entity of a schema's `entities` object, each definition checked. Paths are
/// only built when something is wrong.
fn read_entities<'a, V: JsonView<'a>>(ents: Option<V>, tick: &mut dyn FnMut()) -> Result<Option<Vec<Entity<'a>>>, Refusal> {
    let Some(ents) = ents else { return Ok(None) };
    let entity_path = |name: &str| path_key("$.entities", name);
    let mut out = Vec::new();
    for (name, def) in ents.entries() {
        tick();
        let Some(fs) = fields(def, "").map_err(|e| SchemaError {
            path: format!("{}{}", entity_path(name), e.path),
            ..e
        })?
        else {
            out.push(Entity { name, fields: None });
            continue;
        };
        let mut list = Vec::new();
        for (fname, fdef) in fs.entries() {
            tick();
            let field_path = || path_key(&path_key(&entity_path(name), "fields"), fname);
            if !fdef.is_object() {
                return Err(malformed(field_path(), "a field definition", fdef.kind().name()).into());
            }
            let nullable = nullable(fdef, "").map_err(|e| SchemaError {
                path: format!("{}{}", field_path(), e.path),
                ..e
            })?;
            let ty = fdef.get("type").and_then(|t| t.text());
            // Types are compared as text, as the reference does; a refused name is refused here.
            let parsed = match &ty {
                Some(t) => Some(parse_type(t, &field_path)?),
                None => None,
            };
            list.push(Field {
                name: fname,
                ty,
                parsed,
                nullable,
                has_default: fdef.get("default").is_some(),
            });
        }
        out.push(Entity { name, fields: Some(list) });
    }
    Ok(Some(out))
}

/// Pair up two lists sorted in jsonb key order: `(left, Some(right))` where the names match.
fn join<'l, 'r, L, R>(left: &'l [L], right: &'r [R], lname: impl Fn(&L) -> &str, rname: impl Fn(&R) -> &str) -> Vec<(&'l L, Option<&'r R>)> {
    let mut out = Vec::with_capacity(left.len());
    let mut j = 0;
    for l in left {
        let key = lname(l);
        while j < right.len() && key_order(rname(&right[j]).as_bytes(), key.as_bytes()).is_lt() {
            j += 1;
        }
        let hit = right.get(j).filter(|r| rname(r) == key);
        out.push((l, hit));
    }
    out
}

/// `detect_breaking_changes(old_schema, new_schema)`.
/// `tick` runs once per entity, field and pair: the caller checks for interrupts there.
pub fn detect<'a, V: JsonView<'a>>(old: Option<V>, new: Option<V>, tick: &mut dyn FnMut()) -> Result<Vec<Change<'a>>, Refusal> {
    let old_entities = read_entities(entities(old).map_err(|e| e.on_arg("old_schema"))?, tick)
        .map_err(|e| e.on_arg("old_schema"))?
        .unwrap_or_default();
    let new_entities = read_entities(entities(new).map_err(|e| e.on_arg("new_schema"))?, tick).map_err(|e| e.on_arg("new_schema"))?;
    let mut changes = Vec::new();

    // The reference compares against a missing `entities` with SQL NULL logic, which
    // reports nothing; so do we.
    let Some(new_entities) = new_entities else {
        return Ok(changes);
    };
    let entity_pairs = join(&old_entities, &new_entities, |e| e.name, |e| e.name);

    for (e, _) in entity_pairs.iter().filter(|(_, n)| n.is_none()) {
        changes.push(Change {
            kind: ChangeKind::EntityRemoved,
            entity: e.name,
            field: None,
            types: None,
            high: true,
            description: format!("Entity {} was removed", e.name),
        });
    }

    // Entities on both sides whose new definition has fields, with their field pairs.
    let mut both = Vec::new();
    for (old_e, new_e) in &entity_pairs {
        let Some(new_fields) = new_e.and_then(|n| n.fields.as_ref()) else {
            continue;
        };
        let old_fields = old_e.fields.as_deref().unwrap_or_default();
        both.push((old_e.name, join(old_fields, new_fields, |f| f.name, |f| f.name), new_fields, old_fields));
    }

    for (entity, pairs, _, _) in &both {
        for (f, _) in pairs.iter().filter(|(_, n)| n.is_none()) {
            tick();
            changes.push(Change {
                kind: ChangeKind::FieldRemoved,
                entity,
                field: Some(f.name),
                types: None,
                high: true,
                description: format!("Field {} was removed from {entity}", f.name),
            });
        }
        for (old_f, new_f) in pairs {
            tick();
            let Some(new_f) = new_f else { continue };
            if let (Some(ot), Some(nt), Some(op), Some(np)) = (&old_f.ty, &new_f.ty, &old_f.parsed, &new_f.parsed) {
                if ot != nt {
                    changes.push(Change {
                        kind: ChangeKind::FieldTypeChanged,
                        entity,
                        field: Some(old_f.name),
                        high: !types::widens(op, np),
                        description: format!("Field type changed from {ot} to {nt}"),
                        types: Some((ot.clone(), nt.clone())),
                    });
                }
            }
            if old_f.nullable == Some(true) && new_f.nullable == Some(false) {
                changes.push(Change {
                    kind: ChangeKind::FieldNullabilityChanged,
                    entity,
                    field: Some(old_f.name),
                    types: None,
                    high: true,
                    description: format!("Field {} is no longer nullable", old_f.name),
                });
            }
        }
    }

    for (entity, _, new_fields, old_fields) in &both {
        for (f, old) in join(new_fields, old_fields, |f| f.name, |f| f.name) {
            tick();
            if old.is_none() && f.nullable == Some(false) && !f.has_default {
                changes.push(Change {
                    kind: ChangeKind::FieldRequiredAdded,
                    entity,
                    field: Some(f.name),
                    types: None,
                    high: true,
                    description: format!("Required field {} was added to {entity} without a default", f.name),
                });
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonb::view::test_value::{obj, s, V};

    fn field(ty: &str, nullable: Option<bool>) -> V {
        let mut p = vec![("type", s(ty))];
        if let Some(n) = nullable {
            p.push(("nullable", V::Bool(n)));
        }
        obj(p)
    }

    fn schema(ents: Vec<(&str, Vec<(&str, V)>)>) -> V {
        obj(vec![(
            "entities",
            obj(ents.into_iter().map(|(e, fs)| (e, obj(vec![("fields", obj(fs))]))).collect()),
        )])
    }

    fn kinds(c: &[Change]) -> Vec<(&'static str, String)> {
        c.iter().map(|c| (c.kind.as_str(), format!("{}.{}", c.entity, c.field.unwrap_or("")))).collect()
    }

    #[test]
    fn reports_in_reference_order() {
        let old = schema(vec![
            (
                "User",
                vec![
                    ("id", field("integer", Some(false))),
                    ("email", field("varchar", Some(true))),
                    ("age", field("integer", None)),
                ],
            ),
            ("Order", vec![("id", field("integer", None))]),
        ]);
        let new = schema(vec![(
            "User",
            vec![("id", field("bigint", Some(false))), ("email", field("text", Some(false)))],
        )]);
        let c = detect(Some(&old), Some(&new), &mut || {}).unwrap();
        assert_eq!(
            kinds(&c),
            vec![
                ("ENTITY_REMOVED", "Order.".into()),
                ("FIELD_REMOVED", "User.age".into()),
                ("FIELD_TYPE_CHANGED", "User.id".into()),
                ("FIELD_TYPE_CHANGED", "User.email".into()),
                ("FIELD_NULLABILITY_CHANGED", "User.email".into()),
            ]
        );
        assert!(c.iter().filter(|c| c.kind == ChangeKind::FieldTypeChanged).all(|c| !c.high));
        assert_eq!(c[2].description, "Field type changed from integer to bigint");
    }

    #[test]
    fn narrowing_is_high() {
        let old = schema(vec![("A", vec![("n", field("bigint", None))])]);
        let new = schema(vec![("A", vec![("n", field("integer", None))])]);
        let c = detect(Some(&old), Some(&new), &mut || {}).unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].high);
    }

    #[test]
    fn required_added_only_without_default() {
        let old = schema(vec![("A", vec![])]);
        let with_default = obj(vec![("type", s("string")), ("nullable", V::Bool(false)), ("default", s("x"))]);
        let new = schema(vec![(
            "A",
            vec![("a", field("string", Some(false))), ("b", with_default), ("c", field("string", Some(true)))],
        )]);
        let c = detect(Some(&old), Some(&new), &mut || {}).unwrap();
        assert_eq!(kinds(&c), vec![("FIELD_REQUIRED_ADDED", "A.a".into())]);
    }

    #[test]
    fn missing_parts_follow_the_reference() {
        let old = schema(vec![("A", vec![("x", field("text", None))])]);
        assert!(detect(Some(&old), Some(&obj(vec![])), &mut || {}).unwrap().is_empty());
        assert!(detect(Some(&old), None, &mut || {}).unwrap().is_empty());
        assert!(detect::<&V>(None, Some(&old), &mut || {}).unwrap().is_empty());
        let no_fields = obj(vec![("entities", obj(vec![("A", obj(vec![]))]))]);
        assert!(detect(Some(&old), Some(&no_fields), &mut || {}).unwrap().is_empty());
    }

    #[test]
    fn malformed_input_names_the_path() {
        let bad = obj(vec![("entities", V::Arr(vec![]))]);
        let e = detect(Some(&bad), None, &mut || {}).unwrap_err().error;
        assert_eq!((e.argument, e.path.as_str()), (Some("old_schema"), "$.entities"));
        let bad = obj(vec![("entities", obj(vec![("My Entity", obj(vec![("fields", obj(vec![("f", s("text"))]))]))]))]);
        let e = detect(None, Some(&bad), &mut || {}).unwrap_err().error;
        assert_eq!(e.path, "$.entities.\"My Entity\".fields.f");
        let bad = obj(vec![(
            "entities",
            obj(vec![("A", obj(vec![("fields", obj(vec![("f", obj(vec![("nullable", s("maybe"))]))]))]))]),
        )]);
        let e = detect(Some(&bad), None, &mut || {}).unwrap_err().error;
        assert_eq!(e.path, "$.entities.A.fields.f.nullable");
    }

    #[test]
    fn nullable_reads_like_postgres() {
        let f = |n: V| obj(vec![("nullable", n)]);
        assert_eq!(nullable(&f(s("yes")), "").unwrap(), Some(true));
        assert_eq!(nullable(&f(V::Num("0".into())), "").unwrap(), Some(false));
        assert_eq!(nullable(&f(V::Null), "").unwrap(), None);
        assert!(nullable(&f(V::Num("2".into())), "").is_err());
    }

    #[test]
    fn hostile_types_are_refused_and_bounds_ignored() {
        let deep = format!("int{}", "[]".repeat(60_000));
        let new = schema(vec![("A", vec![("f", field(&deep, None))])]);
        let r = detect(None, Some(&new), &mut || {}).unwrap_err();
        assert_eq!(
            (r.error.argument, r.error.path.as_str(), r.hint.is_some()),
            (Some("new_schema"), "$.entities.A.fields.f.type", true)
        );
        // Texts differ, so the reference reports the change; the types are the same, so it is not HIGH.
        let old = schema(vec![("A", vec![("f", field("int[3]", None))])]);
        let new = schema(vec![("A", vec![("f", field("int[]", None))])]);
        let c = detect(Some(&old), Some(&new), &mut || {}).unwrap();
        assert_eq!((c.len(), c[0].high), (1, false));
    }

    #[test]
    fn detect_is_linear() {
        let names: Vec<String> = (0..100_000).map(|i| format!("f{i}")).collect();
        let old = schema(vec![("A", names.iter().map(|n| (n.as_str(), field("integer", Some(true)))).collect())]);
        let new = schema(vec![("A", names.iter().map(|n| (n.as_str(), field("bigint", Some(false)))).collect())]);
        let mut ticks = 0usize;
        let c = detect(Some(&old), Some(&new), &mut || ticks += 1).unwrap();
        assert_eq!(c.len(), 200_000);
        assert!(ticks <= 4 * 100_000 + 10, "{ticks}");
    }
}
