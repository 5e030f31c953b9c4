//! Breaking-change detection between two entity schemas
//! (`{"entities": {"<Entity>": {"fields": {"<field>": {"type", "nullable", "default"}}}}}`).
//!
//! The result matches the reference PL/pgSQL function change for change and in the
//! same order; `FIELD_REQUIRED_ADDED` changes, which the reference never reports,
//! come after all of them. Malformed shapes are refused with the JSON path.

use crate::json_view::{parse_pg_bool, JsonView};
use crate::types;
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
    fn on(mut self, argument: &'static str) -> Self {
        self.argument = Some(argument);
        self
    }
}

/// Append a key to a JSON path, quoting it unless it is a plain identifier.
pub fn path_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
        format!("{path}.\"{escaped}\"")
    }
}

fn malformed(path: String, what: &str, kind: &str) -> SchemaError {
    SchemaError { argument: None, path, problem: format!("{what} must be a JSON object, not {kind}") }
}

/// A schema's `entities` object; `None` when the schema has none.
pub fn entities<'a, V: JsonView<'a>>(schema: Option<V>) -> Result<Option<V>, SchemaError> {
    let Some(schema) = schema else { return Ok(None) };
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

/// A field's `nullable` flag read as the reference reads it (`(f->>'nullable')::boolean`).
pub fn nullable<'a, V: JsonView<'a>>(field: V, path: &str) -> Result<Option<bool>, SchemaError> {
    let Some(text) = field.get("nullable").and_then(|n| n.text()) else { return Ok(None) };
    parse_pg_bool(&text).map(Some).ok_or_else(|| SchemaError {
        argument: None,
        path: path_key(path, "nullable"),
        problem: format!("\"nullable\" must be a boolean, not \"{text}\""),
    })
}

/// One validated entity: its name, definition path and fields (if any).
struct Entity<'a, V> {
    name: &'a str,
    path: String,
    fields: Option<V>,
}

/// Every entity of a schema, each field definition checked to be an object with a
/// readable `nullable`.
fn validated<'a, V: JsonView<'a>>(ents: Option<V>) -> Result<Vec<Entity<'a, V>>, SchemaError> {
    let Some(ents) = ents else { return Ok(Vec::new()) };
    let base = "$.entities";
    let mut out = Vec::new();
    for (name, def) in ents.entries() {
        let path = path_key(base, name);
        let fields = fields(def, &path)?;
        if let Some(fs) = fields {
            let fpath = path_key(&path, "fields");
            for (fname, fdef) in fs.entries() {
                let p = path_key(&fpath, fname);
                if !fdef.is_object() {
                    return Err(malformed(p, "a field definition", fdef.kind().name()));
                }
                nullable(fdef, &p)?;
            }
        }
        out.push(Entity { name, path, fields });
    }
    Ok(out)
}

/// `detect_breaking_changes(old_schema, new_schema)`.
pub fn detect<'a, V: JsonView<'a>>(old: Option<V>, new: Option<V>) -> Result<Vec<Change<'a>>, SchemaError> {
    let old_entities = entities(old).and_then(validated).map_err(|e| e.on("old_schema"))?;
    let new_ents = entities(new).map_err(|e| e.on("new_schema"))?;
    validated(new_ents).map_err(|e| e.on("new_schema"))?;
    let mut changes = Vec::new();

    // The reference compares against a missing `entities` with SQL NULL logic, which
    // reports nothing; so do we.
    let Some(new_ents) = new_ents else { return Ok(changes) };

    for e in &old_entities {
        if new_ents.get(e.name).is_none() {
            changes.push(Change {
                kind: ChangeKind::EntityRemoved,
                entity: e.name,
                field: None,
                types: None,
                high: true,
                description: format!("Entity {} was removed", e.name),
            });
        }
    }

    // Pairs of (old entity, new fields) present on both sides.
    let mut pairs = Vec::new();
    for e in &old_entities {
        let Some(new_def) = new_ents.get(e.name) else { continue };
        let Some(new_fields) = fields(new_def, &e.path).map_err(|x| x.on("new_schema"))? else { continue };
        pairs.push((e, new_fields));
    }

    for (e, new_fields) in &pairs {
        let Some(old_fields) = e.fields else { continue };
        let old_list = old_fields.entries();
        for (f, _) in &old_list {
            if new_fields.get(f).is_none() {
                changes.push(Change {
                    kind: ChangeKind::FieldRemoved,
                    entity: e.name,
                    field: Some(f),
                    types: None,
                    high: true,
                    description: format!("Field {f} was removed from {}", e.name),
                });
            }
        }
        for (f, old_def) in &old_list {
            let Some(new_def) = new_fields.get(f) else { continue };
            let ot = old_def.get("type").and_then(|t| t.text());
            let nt = new_def.get("type").and_then(|t| t.text());
            if let (Some(ot), Some(nt)) = (ot, nt) {
                if ot != nt {
                    changes.push(Change {
                        kind: ChangeKind::FieldTypeChanged,
                        entity: e.name,
                        field: Some(f),
                        high: !types::is_compatible(&ot, &nt),
                        description: format!("Field type changed from {ot} to {nt}"),
                        types: Some((ot, nt)),
                    });
                }
            }
            // Already validated, so the paths are only needed for the signature.
            if nullable(*old_def, "")? == Some(true) && nullable(new_def, "")? == Some(false) {
                changes.push(Change {
                    kind: ChangeKind::FieldNullabilityChanged,
                    entity: e.name,
                    field: Some(f),
                    types: None,
                    high: true,
                    description: format!("Field {f} is no longer nullable"),
                });
            }
        }
    }

    for (e, new_fields) in &pairs {
        for (f, def) in new_fields.entries() {
            let is_new = e.fields.is_none_or(|old| old.get(f).is_none());
            if is_new && nullable(def, "")? == Some(false) && def.get("default").is_none() {
                changes.push(Change {
                    kind: ChangeKind::FieldRequiredAdded,
                    entity: e.name,
                    field: Some(f),
                    types: None,
                    high: true,
                    description: format!("Required field {f} was added to {} without a default", e.name),
                });
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_view::test_value::{obj, s, V};

    fn field(ty: &str, nullable: Option<bool>) -> V {
        let mut p = vec![("type", s(ty))];
        if let Some(n) = nullable {
            p.push(("nullable", V::Bool(n)));
        }
        obj(p)
    }

    fn schema(ents: Vec<(&str, Vec<(&str, V)>)>) -> V {
        obj(vec![("entities", obj(ents.into_iter().map(|(e, fs)| (e, obj(vec![("fields", obj(fs))]))).collect()))])
    }

    fn kinds(c: &[Change]) -> Vec<(&'static str, String)> {
        c.iter().map(|c| (c.kind.as_str(), format!("{}.{}", c.entity, c.field.unwrap_or("")))).collect()
    }

    #[test]
    fn reports_in_reference_order() {
        let old = schema(vec![
            ("User", vec![("id", field("integer", Some(false))), ("email", field("varchar", Some(true))), ("age", field("integer", None))]),
            ("Order", vec![("id", field("integer", None))]),
        ]);
        let new = schema(vec![("User", vec![("id", field("bigint", Some(false))), ("email", field("text", Some(false)))])]);
        let c = detect(Some(&old), Some(&new)).unwrap();
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
        let c = detect(Some(&old), Some(&new)).unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].high);
    }

    #[test]
    fn required_added_only_without_default() {
        let old = schema(vec![("A", vec![])]);
        let with_default = obj(vec![("type", s("string")), ("nullable", V::Bool(false)), ("default", s("x"))]);
        let new = schema(vec![("A", vec![("a", field("string", Some(false))), ("b", with_default), ("c", field("string", Some(true)))])]);
        let c = detect(Some(&old), Some(&new)).unwrap();
        assert_eq!(kinds(&c), vec![("FIELD_REQUIRED_ADDED", "A.a".into())]);
    }

    #[test]
    fn missing_parts_follow_the_reference() {
        let old = schema(vec![("A", vec![("x", field("text", None))])]);
        assert!(detect(Some(&old), Some(&obj(vec![]))).unwrap().is_empty());
        assert!(detect(Some(&old), None).unwrap().is_empty());
        assert!(detect::<&V>(None, Some(&old)).unwrap().is_empty());
        let no_fields = obj(vec![("entities", obj(vec![("A", obj(vec![]))]))]);
        assert!(detect(Some(&old), Some(&no_fields)).unwrap().is_empty());
    }

    #[test]
    fn malformed_input_names_the_path() {
        let bad = obj(vec![("entities", V::Arr(vec![]))]);
        let e = detect(Some(&bad), None).unwrap_err();
        assert_eq!((e.argument, e.path.as_str()), (Some("old_schema"), "$.entities"));
        let bad = obj(vec![("entities", obj(vec![("My Entity", obj(vec![("fields", obj(vec![("f", s("text"))]))]))]))]);
        let e = detect(None, Some(&bad)).unwrap_err();
        assert_eq!(e.path, "$.entities.\"My Entity\".fields.f");
        let bad = obj(vec![("entities", obj(vec![("A", obj(vec![("fields", obj(vec![("f", obj(vec![("nullable", s("maybe"))]))]))]))]))]);
        let e = detect(Some(&bad), None).unwrap_err();
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
}
