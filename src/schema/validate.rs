//! Entity documents checked against the active schema: declared JSON types,
//! required fields, closed entities, defaults to fill in, deprecated fields.
//!
//! The schema is parsed once into owned rules (`Rules`) that a backend caches.

use crate::jsonb::view::{JsonView, Kind};
use crate::schema::breaking::{entities, fields, nullable, path_key, SchemaError};
use std::collections::HashMap;

/// What a declared type allows a JSON value to be; `None` when not checked.
fn expected_kind(ty: &str) -> Option<Kind> {
    let t = ty.trim().to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim();
    Some(match base {
        "string"
        | "text"
        | "varchar"
        | "character varying"
        | "char"
        | "character"
        | "bpchar"
        | "uuid"
        | "date"
        | "timestamp"
        | "timestamptz"
        | "timestamp with time zone"
        | "timestamp without time zone"
        | "time"
        | "timetz"
        | "interval"
        | "bytea" => Kind::String,
        "number" | "integer" | "int" | "int2" | "int4" | "int8" | "smallint" | "bigint" | "numeric" | "decimal" | "real" | "float4" | "float8"
        | "double precision" | "float" => Kind::Number,
        "boolean" | "bool" => Kind::Boolean,
        "object" => Kind::Object,
        "array" => Kind::Array,
        _ if t.ends_with("[]") => Kind::Array,
        _ => return None,
    })
}

#[derive(Debug, Clone)]
pub struct FieldRule {
    pub name: String,
    pub ty: Option<String>,
    kind: Option<Kind>,
    pub required: bool,
    pub has_default: bool,
    pub deprecated: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EntityRules {
    pub fields: Vec<FieldRule>,
    pub closed: bool,
}

impl EntityRules {
    pub fn field(&self, name: &str) -> Option<&FieldRule> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The rules of one schema version, by entity type.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub entities: HashMap<String, EntityRules>,
}

/// Parse a schema definition into rules.
pub fn rules<'a, V: JsonView<'a>>(schema: V) -> Result<Rules, SchemaError> {
    let mut out = Rules::default();
    let Some(ents) = entities(Some(schema))? else {
        return Ok(out);
    };
    for (name, def) in ents.entries() {
        let path = path_key("$.entities", name);
        let mut rules = EntityRules {
            closed: def
                .get("additional_fields")
                .is_some_and(|v| v.kind() == Kind::Boolean && v.text().as_deref() == Some("false")),
            ..Default::default()
        };
        for (fname, fdef) in fields(def, &path)?.map(|f| f.entries()).unwrap_or_default() {
            let fpath = path_key(&path_key(&path, "fields"), fname);
            if !fdef.is_object() {
                return Err(SchemaError {
                    argument: None,
                    path: fpath,
                    problem: format!("a field definition must be a JSON object, not {}", fdef.kind().name()),
                });
            }
            let ty = fdef.get("type").and_then(|t| t.text()).map(|t| t.into_owned());
            let deprecated = fdef.get("deprecated").filter(|d| d.text().as_deref() == Some("true")).map(|_| {
                fdef.get("deprecation_message")
                    .and_then(|m| m.text())
                    .map(|m| m.into_owned())
                    .unwrap_or_default()
            });
            rules.fields.push(FieldRule {
                name: fname.to_string(),
                kind: ty.as_deref().and_then(expected_kind),
                ty,
                required: nullable(fdef, &fpath)? == Some(false),
                has_default: fdef.get("default").is_some(),
                deprecated,
            });
        }
        out.entities.insert(name.to_string(), rules);
    }
    Ok(out)
}

/// A name or key as shown in a message: at most 64 characters, control characters
/// escaped, so a hostile key cannot flood the log or forge lines.
pub fn shown(name: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One way a document breaks its entity's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

/// Check a document (after defaults are filled in) against an entity's rules.
pub fn violations<'a, V: JsonView<'a>>(entity: &str, rules: &EntityRules, content: V) -> Vec<Violation> {
    let mut out = Vec::new();
    let entity = &shown(entity);
    let mut declared_present = 0;
    for f in &rules.fields {
        let value = content.get(&f.name);
        declared_present += usize::from(value.is_some());
        match value {
            None if f.required => out.push(Violation {
                field: f.name.clone(),
                message: format!(
                    "entity {entity}: required field \"{}\" is missing (expected {})",
                    shown(&f.name),
                    shown(f.ty.as_deref().unwrap_or("a value"))
                ),
            }),
            Some(v) if v.kind() == Kind::Null && f.required => out.push(Violation {
                field: f.name.clone(),
                message: format!(
                    "entity {entity}: required field \"{}\" is null (expected {})",
                    shown(&f.name),
                    shown(f.ty.as_deref().unwrap_or("a value"))
                ),
            }),
            Some(v) if v.kind() != Kind::Null && f.kind.is_some_and(|k| k != v.kind()) => {
                let expected = f.kind.map(Kind::name).unwrap_or_default();
                let declared =
                    f.ty.as_deref()
                        .filter(|t| *t != expected)
                        .map(|t| format!(" (declared {})", shown(t)))
                        .unwrap_or_default();
                out.push(Violation {
                    field: f.name.clone(),
                    message: format!(
                        "entity {entity}: field \"{}\" must be {expected}{declared}, not {}",
                        shown(&f.name),
                        v.kind().name()
                    ),
                })
            }
            _ => {}
        }
    }
    // Only when the document has more keys than declared fields are present does it
    // need the (slower) walk that names the undeclared ones.
    if rules.closed && content.len() > declared_present {
        for (k, _) in content.entries() {
            if rules.field(k).is_none() {
                out.push(Violation {
                    field: k.to_string(),
                    message: format!(
                        "entity {entity}: field \"{}\" is not declared and the entity is closed (\"additional_fields\": false)",
                        shown(k)
                    ),
                });
            }
        }
    }
    out
}

/// Deprecated fields a document carries, with their messages.
pub fn deprecated_in<'a, 'r, V: JsonView<'a>>(rules: &'r EntityRules, content: V) -> Vec<&'r FieldRule> {
    rules
        .fields
        .iter()
        .filter(|f| f.deprecated.is_some() && content.get(&f.name).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonb::view::test_value::{obj, s, V};

    fn schema() -> V {
        let f = |ty: &str, nullable: bool| obj(vec![("type", s(ty)), ("nullable", V::Bool(nullable))]);
        obj(vec![(
            "entities",
            obj(vec![(
                "User",
                obj(vec![
                    ("additional_fields", V::Bool(false)),
                    (
                        "fields",
                        obj(vec![
                            ("email", f("string", false)),
                            ("age", f("integer", true)),
                            (
                                "old",
                                obj(vec![
                                    ("type", s("string")),
                                    ("deprecated", V::Bool(true)),
                                    ("deprecation_message", s("use email")),
                                ]),
                            ),
                            ("plan", obj(vec![("type", s("string")), ("nullable", V::Bool(false)), ("default", s("free"))])),
                        ]),
                    ),
                ]),
            )]),
        )])
    }

    #[test]
    fn valid_document_passes() {
        let r = rules(&schema()).unwrap();
        let doc = obj(vec![("email", s("a@b")), ("age", V::Num("3".into())), ("plan", s("pro"))]);
        assert!(violations("User", &r.entities["User"], &doc).is_empty());
    }

    #[test]
    fn each_violation_is_named() {
        let r = rules(&schema()).unwrap();
        let doc = obj(vec![("age", s("three")), ("plan", V::Null), ("extra", V::Bool(true))]);
        let v: Vec<_> = violations("User", &r.entities["User"], &doc).into_iter().map(|v| v.field).collect();
        assert_eq!(v, vec!["age", "plan", "email", "extra"]);
    }

    #[test]
    fn deprecated_fields_found() {
        let r = rules(&schema()).unwrap();
        let doc = obj(vec![("old", s("x")), ("email", s("e"))]);
        let d = deprecated_in(&r.entities["User"], &doc);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].deprecated.as_deref(), Some("use email"));
    }

    #[test]
    fn shown_names_are_bounded_and_escaped() {
        assert_eq!(shown("plain"), "plain");
        assert_eq!(shown("a\nb"), "a\\nb");
        assert_eq!(shown("ü🙂"), "ü🙂");
        let long = "é".repeat(100);
        assert_eq!(shown(&long).chars().count(), 65);
    }

    #[test]
    fn declared_types_map_to_json_kinds() {
        assert_eq!(expected_kind("varchar(20)"), Some(Kind::String));
        assert_eq!(expected_kind("BIGINT"), Some(Kind::Number));
        assert_eq!(expected_kind("int[]"), Some(Kind::Array));
        assert_eq!(expected_kind("geometry"), None);
    }
}
