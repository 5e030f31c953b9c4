//! Schema compatibility in the Schema Registry sense: every change between two
//! entity schemas classified as backward-compatible (new readers read old data)
//! and/or forward-compatible (old readers read new data), judged under a mode.

use crate::breaking::{entities, fields, nullable, path_key, SchemaError};
use crate::json_view::{key_order, JsonView, Kind};
use crate::types;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Backward,
    Forward,
    Full,
    None,
}

/// A mode name, optionally `_TRANSITIVE`. Returns the mode and whether it is transitive.
pub fn parse_mode(s: &str) -> Option<(Mode, bool)> {
    let upper = s.trim().to_ascii_uppercase();
    let (base, transitive) = match upper.strip_suffix("_TRANSITIVE") {
        Some(b) => (b, true),
        None => (upper.as_str(), false),
    };
    let mode = match base {
        "BACKWARD" => Mode::Backward,
        "FORWARD" => Mode::Forward,
        "FULL" => Mode::Full,
        "NONE" => Mode::None,
        _ => return None,
    };
    Some((mode, transitive))
}

impl Mode {
    pub fn allows(self, c: &CompatChange) -> bool {
        match self {
            Mode::Backward => c.backward,
            Mode::Forward => c.forward,
            Mode::Full => c.backward && c.forward,
            Mode::None => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatChange<'a> {
    pub kind: &'static str,
    pub entity: &'a str,
    pub field: Option<&'a str>,
    pub backward: bool,
    pub forward: bool,
    pub detail: String,
}

/// What one field definition says, read once.
struct FieldDef<'a> {
    ty: Option<String>,
    required: bool,
    default: Option<Option<String>>,
    enum_values: Option<BTreeSet<String>>,
    _p: std::marker::PhantomData<&'a ()>,
}

fn read_field<'a, V: JsonView<'a>>(def: V, path: &str) -> Result<FieldDef<'a>, SchemaError> {
    if !def.is_object() {
        return Err(SchemaError {
            argument: None,
            path: path.to_string(),
            problem: format!("a field definition must be a JSON object, not {}", def.kind().name()),
        });
    }
    let enum_values = match def.get("enum") {
        Some(e) if e.kind() == Kind::Array => Some(e.elements().iter().map(|v| v.text().unwrap_or_default().into_owned()).collect()),
        _ => None,
    };
    Ok(FieldDef {
        ty: def.get("type").and_then(|t| t.text()).map(|t| t.into_owned()),
        required: nullable(def, path)? == Some(false),
        default: def.get("default").map(|d| d.text().map(|t| t.into_owned())),
        enum_values,
        _p: std::marker::PhantomData,
    })
}

type Fields<'a, V> = Vec<(&'a str, V)>;

fn entity_fields<'a, V: JsonView<'a>>(def: V, path: &str) -> Result<Fields<'a, V>, SchemaError> {
    Ok(fields(def, path)?.map(|f| f.entries()).unwrap_or_default())
}

/// Fields that earlier versions had, by entity, with their types: used to catch a
/// field re-added with a different type after it was removed.
pub type History = Vec<(String, String, String)>;

/// Every (entity, field, type) of a schema, for `History`.
pub fn field_types<'a, V: JsonView<'a>>(schema: V) -> Result<History, SchemaError> {
    let mut out = Vec::new();
    if let Some(ents) = entities(Some(schema))? {
        for (e, def) in ents.entries() {
            let path = path_key("$.entities", e);
            for (f, fdef) in entity_fields(def, &path)? {
                if let Some(t) = read_field(fdef, &path_key(&path_key(&path, "fields"), f))?.ty {
                    out.push((e.to_string(), f.to_string(), t));
                }
            }
        }
    }
    Ok(out)
}

/// Classify every change from `old` to `new`. `history` lists the fields of earlier
/// versions; a field absent from `old` but present there with another type is a re-add.
pub fn compare<'a, V: JsonView<'a>>(old: V, new: V, history: &History) -> Result<Vec<CompatChange<'a>>, SchemaError> {
    let old_e = entities(Some(old)).map_err(|e| e.on_arg("old_schema"))?.map(|e| e.entries()).unwrap_or_default();
    let new_e = entities(Some(new)).map_err(|e| e.on_arg("new_schema"))?.map(|e| e.entries()).unwrap_or_default();
    let mut out = Vec::new();
    let change = |kind, entity, field, backward, forward, detail: String| CompatChange { kind, entity, field, backward, forward, detail };

    let (mut i, mut j) = (0, 0);
    while i < old_e.len() || j < new_e.len() {
        let order = match (old_e.get(i), new_e.get(j)) {
            (Some(o), Some(n)) => key_order(o.0.as_bytes(), n.0.as_bytes()),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                let name = old_e[i].0;
                check_fields(name, old_e[i].1).map_err(|e| e.on_arg("old_schema"))?;
                out.push(change("ENTITY_REMOVED", name, None, true, false, format!("entity {name} was removed")));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let name = new_e[j].0;
                check_fields(name, new_e[j].1).map_err(|e| e.on_arg("new_schema"))?;
                out.push(change("ENTITY_ADDED", name, None, true, true, format!("entity {name} was added")));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (name, odef) = old_e[i];
                let ndef = new_e[j].1;
                let path = path_key("$.entities", name);
                let of = entity_fields(odef, &path).map_err(|e| e.on_arg("old_schema"))?;
                let nf = entity_fields(ndef, &path).map_err(|e| e.on_arg("new_schema"))?;
                compare_fields(name, &path, &of, &nf, history, &mut out)?;
                i += 1;
                j += 1;
            }
        }
    }
    Ok(out)
}

/// Every field definition of an entity that only one side has must still be well formed.
fn check_fields<'a, V: JsonView<'a>>(entity: &str, def: V) -> Result<(), SchemaError> {
    let path = path_key("$.entities", entity);
    for (f, fdef) in entity_fields(def, &path)? {
        read_field(fdef, &path_key(&path_key(&path, "fields"), f))?;
    }
    Ok(())
}

fn compare_fields<'a, V: JsonView<'a>>(
    entity: &'a str,
    path: &str,
    old: &Fields<'a, V>,
    new: &Fields<'a, V>,
    history: &History,
    out: &mut Vec<CompatChange<'a>>,
) -> Result<(), SchemaError> {
    let fpath = |f: &str| path_key(&path_key(path, "fields"), f);
    let mut push = |kind, field, backward, forward, detail: String| {
        out.push(CompatChange { kind, entity, field: Some(field), backward, forward, detail })
    };
    for (f, ndef) in new {
        let n = read_field(*ndef, &fpath(f)).map_err(|e| e.on_arg("new_schema"))?;
        let Some((_, odef)) = old.iter().find(|(o, _)| o == f) else {
            let earlier = history.iter().find(|(e, hf, ht)| e == entity && hf == f && Some(ht) != n.ty.as_ref());
            if let (Some((_, _, was)), Some(now)) = (earlier, &n.ty) {
                if !(types::is_compatible(was, now) && types::is_compatible(now, was)) {
                    push("FIELD_READDED_WITH_DIFFERENT_TYPE", f, false, false, format!("field {f} was removed as {was} and re-added as {now}"));
                    continue;
                }
            }
            match (n.required, n.default.is_some()) {
                (false, _) => push("FIELD_ADDED_OPTIONAL", f, true, true, format!("optional field {f} was added")),
                (true, true) => push("FIELD_ADDED_REQUIRED_WITH_DEFAULT", f, true, true, format!("required field {f} was added with a default")),
                (true, false) => push("FIELD_ADDED_REQUIRED", f, false, true, format!("required field {f} was added without a default: old documents lack it")),
            }
            continue;
        };
        let o = read_field(*odef, &fpath(f)).map_err(|e| e.on_arg("old_schema"))?;
        if let (Some(ot), Some(nt)) = (&o.ty, &n.ty) {
            let (widen, narrow) = (types::is_compatible(ot, nt), types::is_compatible(nt, ot));
            match (widen, narrow) {
                (true, true) => {}
                (true, false) => push("TYPE_WIDENED", f, true, false, format!("{ot} -> {nt}")),
                (false, true) => push("TYPE_NARROWED", f, false, true, format!("{ot} -> {nt}")),
                (false, false) => push("TYPE_CHANGED", f, false, false, format!("{ot} -> {nt}")),
            }
        }
        match (o.required, n.required) {
            (false, true) => push("NULLABILITY_TIGHTENED", f, false, true, format!("field {f} became required")),
            (true, false) => push("NULLABILITY_RELAXED", f, true, false, format!("field {f} became nullable")),
            _ => {}
        }
        if o.default != n.default {
            let show = |d: &Option<Option<String>>| match d {
                None => "none".to_string(),
                Some(None) => "null".to_string(),
                Some(Some(t)) => t.clone(),
            };
            push("DEFAULT_CHANGED", f, true, true, format!("default {} -> {}", show(&o.default), show(&n.default)));
        }
        if let (Some(ov), Some(nv)) = (&o.enum_values, &n.enum_values) {
            let added: Vec<_> = nv.difference(ov).cloned().collect();
            let removed: Vec<_> = ov.difference(nv).cloned().collect();
            if !added.is_empty() {
                push("ENUM_VALUES_ADDED", f, true, false, format!("added {}", added.join(", ")));
            }
            if !removed.is_empty() {
                push("ENUM_VALUES_REMOVED", f, false, true, format!("removed {}", removed.join(", ")));
            }
        }
    }
    for (f, odef) in old {
        if new.iter().any(|(n, _)| n == f) {
            continue;
        }
        let o = read_field(*odef, &fpath(f)).map_err(|e| e.on_arg("old_schema"))?;
        if o.required && o.default.is_none() {
            push("FIELD_REMOVED_REQUIRED", f, true, false, format!("required field {f} was removed: old readers expect it"));
        } else {
            push("FIELD_REMOVED_OPTIONAL", f, true, true, format!("optional field {f} was removed"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_view::test_value::{obj, s, V};

    fn schema(fields: Vec<(&str, V)>) -> V {
        obj(vec![("entities", obj(vec![("A", obj(vec![("fields", obj(fields))]))]))])
    }
    fn f(ty: &str, nullable: bool) -> V {
        obj(vec![("type", s(ty)), ("nullable", V::Bool(nullable))])
    }
    fn kinds(old: &V, new: &V, h: &History) -> Vec<(&'static str, bool, bool)> {
        compare(old, new, h).unwrap().into_iter().map(|c| (c.kind, c.backward, c.forward)).collect()
    }

    #[test]
    fn modes_parse() {
        assert_eq!(parse_mode("backward"), Some((Mode::Backward, false)));
        assert_eq!(parse_mode("FULL_TRANSITIVE"), Some((Mode::Full, true)));
        assert_eq!(parse_mode("sideways"), None);
    }

    #[test]
    fn field_additions() {
        let old = schema(vec![]);
        let with_default = obj(vec![("type", s("string")), ("nullable", V::Bool(false)), ("default", s("x"))]);
        let new = schema(vec![("a", f("string", true)), ("b", f("string", false)), ("c", with_default)]);
        assert_eq!(
            kinds(&old, &new, &vec![]),
            vec![("FIELD_ADDED_OPTIONAL", true, true), ("FIELD_ADDED_REQUIRED", false, true), ("FIELD_ADDED_REQUIRED_WITH_DEFAULT", true, true)]
        );
    }

    #[test]
    fn types_and_nullability() {
        let old = schema(vec![("a", f("integer", true)), ("b", f("bigint", false)), ("c", f("uuid", true)), ("d", f("int4", true))]);
        let new = schema(vec![("a", f("bigint", false)), ("b", f("integer", true)), ("c", f("text", true)), ("d", f("integer", true))]);
        assert_eq!(
            kinds(&old, &new, &vec![]),
            vec![
                ("TYPE_WIDENED", true, false),
                ("NULLABILITY_TIGHTENED", false, true),
                ("TYPE_NARROWED", false, true),
                ("NULLABILITY_RELAXED", true, false),
                ("TYPE_CHANGED", false, false),
            ]
        );
    }

    #[test]
    fn removals_enums_defaults_and_readds() {
        let e = |vals: Vec<V>| obj(vec![("type", s("string")), ("enum", V::Arr(vals))]);
        let old = schema(vec![("gone", f("text", false)), ("opt", f("text", true)), ("st", e(vec![s("a"), s("b")]))]);
        let new = schema(vec![("st", e(vec![s("b"), s("c")])), ("was", f("integer", true))]);
        let history = vec![("A".to_string(), "was".to_string(), "text".to_string())];
        assert_eq!(
            kinds(&old, &new, &history),
            vec![
                ("ENUM_VALUES_ADDED", true, false),
                ("ENUM_VALUES_REMOVED", false, true),
                ("FIELD_READDED_WITH_DIFFERENT_TYPE", false, false),
                ("FIELD_REMOVED_OPTIONAL", true, true),
                ("FIELD_REMOVED_REQUIRED", true, false),
            ]
        );
    }
}
