//! Schema compatibility in the Schema Registry sense: every change between two
//! entity schemas classified as backward-compatible (new readers read old data)
//! and/or forward-compatible (old readers read new data), judged under a mode.

use crate::jsonb::view::{key_order, JsonView, Kind};
use crate::schema::breaking::{entities, fields, nullable, parse_type, path_key, Refusal, SchemaError};
use crate::schema::types::{self, Ty};
use std::collections::{BTreeSet, HashMap, HashSet};

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

/// Append `s` to `out` as a JSON string.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number's text with the trailing fractional zeros numeric equality ignores removed:
/// `1.50` and `1.5`, `1.0` and `1`, `-0.0` and `0` compare equal, as in jsonb.
fn normalize_number(n: &str) -> &str {
    if n.contains(['e', 'E']) || !n.contains('.') {
        return if n == "-0" { "0" } else { n };
    }
    let t = n.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" {
        "0"
    } else {
        t
    }
}

/// A JSON value as canonical text: equal texts exactly when the values are equal as
/// jsonb values (`1` and `"1"` differ, `null` and `""` differ, `1.0` and `1` do not).
/// Iterative, so any nesting depth is fine.
pub fn canonical_json<'a, V: JsonView<'a>>(v: V) -> String {
    enum Step<'a, V> {
        Value(V),
        Key(&'a str),
        Raw(&'static str),
    }
    let mut out = String::new();
    let mut stack = vec![Step::Value(v)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Raw(s) => out.push_str(s),
            Step::Key(k) => {
                push_json_string(&mut out, k);
                out.push_str(": ");
            }
            Step::Value(v) => match v.kind() {
                Kind::Null => out.push_str("null"),
                Kind::Boolean => out.push_str(&v.text().unwrap_or_default()),
                Kind::Number => out.push_str(normalize_number(&v.text().unwrap_or_default())),
                Kind::String => push_json_string(&mut out, &v.text().unwrap_or_default()),
                Kind::Array => {
                    out.push('[');
                    stack.push(Step::Raw("]"));
                    for (i, e) in v.elements().into_iter().enumerate().rev() {
                        stack.push(Step::Value(e));
                        if i > 0 {
                            stack.push(Step::Raw(", "));
                        }
                    }
                }
                Kind::Object => {
                    out.push('{');
                    stack.push(Step::Raw("}"));
                    for (i, (k, e)) in v.entries().into_iter().enumerate().rev() {
                        stack.push(Step::Value(e));
                        stack.push(Step::Key(k));
                        if i > 0 {
                            stack.push(Step::Raw(", "));
                        }
                    }
                }
            },
        }
    }
    out
}

/// What one field definition says, read once.
struct FieldDef {
    /// The `type` text and the type it names.
    ty: Option<(String, Ty)>,
    required: bool,
    /// The default as canonical JSON.
    default: Option<String>,
    /// Enum values as canonical JSON.
    enum_values: Option<BTreeSet<String>>,
}

fn read_field<'a, V: JsonView<'a>>(def: V, path: &dyn Fn() -> String) -> Result<FieldDef, Refusal> {
    if !def.is_object() {
        return Err(SchemaError {
            argument: None,
            path: path(),
            problem: format!("a field definition must be a JSON object, not {}", def.kind().name()),
        }
        .into());
    }
    let enum_values = match def.get("enum") {
        Some(e) if e.kind() == Kind::Array => Some(e.elements().into_iter().map(canonical_json).collect()),
        _ => None,
    };
    let ty = match def.get("type").and_then(|t| t.text()) {
        Some(t) => Some((t.to_string(), parse_type(&t, path)?)),
        None => None,
    };
    let required = nullable(def, &path())? == Some(false);
    let default = def.get("default").map(canonical_json);
    if required && default.as_deref() == Some("null") {
        return Err(Refusal {
            error: SchemaError {
                argument: None,
                path: path_key(&path(), "default"),
                problem: "a required field (\"nullable\": false) cannot default to null".into(),
            },
            hint: Some("Give the field a non-null default, or make it nullable (\"nullable\": true)."),
        });
    }
    Ok(FieldDef {
        ty,
        required,
        default,
        enum_values,
    })
}

/// Is the entity closed (`"additional_fields": false`)? Anything but a JSON boolean is refused.
fn closed<'a, V: JsonView<'a>>(def: V, path: &str) -> Result<bool, Refusal> {
    match def.get("additional_fields") {
        None => Ok(false),
        Some(v) if v.kind() == Kind::Boolean => Ok(v.text().as_deref() == Some("false")),
        Some(v) => Err(Refusal {
            error: SchemaError {
                argument: None,
                path: path_key(path, "additional_fields"),
                problem: format!("\"additional_fields\" must be a JSON boolean, not {}", v.kind().name()),
            },
            hint: Some("\"additional_fields\": false closes an entity (documents may hold declared fields only); true or no key leaves it open."),
        }),
    }
}

type Fields<'a, V> = Vec<(&'a str, V)>;

fn entity_fields<'a, V: JsonView<'a>>(def: V, path: &str) -> Result<Fields<'a, V>, SchemaError> {
    Ok(fields(def, path)?.map(|f| f.entries()).unwrap_or_default())
}

/// The types each (entity, field) had in earlier versions, each distinct text once: used
/// to catch a field re-added with a different type after it was removed.
#[derive(Debug, Default, Clone)]
pub struct History {
    types: HashMap<(String, String), Vec<String>>,
}

impl History {
    pub fn add(&mut self, entity: &str, field: &str, ty: &str) {
        let seen = self.types.entry((entity.to_string(), field.to_string())).or_default();
        if !seen.iter().any(|t| t == ty) {
            seen.push(ty.to_string());
        }
    }

    /// The first earlier type of `entity.field` that `now` cannot stand in for both ways.
    fn conflict(&self, entity: &str, field: &str, now: &(String, Ty), tick: &mut dyn FnMut()) -> Option<&str> {
        let earlier = self.types.get(&(entity.to_string(), field.to_string()))?;
        earlier.iter().map(String::as_str).find(|was| {
            tick();
            if *was == now.0 {
                return false;
            }
            // Stored by an older version, a refused name differs from every other.
            match types::parse(was) {
                Ok(t) => !(types::widens(&t, &now.1) && types::widens(&now.1, &t)),
                Err(_) => true,
            }
        })
    }
}

/// Add every (entity, field, type) of an earlier schema to `history`.
pub fn field_types<'a, V: JsonView<'a>>(schema: V, history: &mut History, tick: &mut dyn FnMut()) -> Result<(), SchemaError> {
    if let Some(ents) = entities(Some(schema))? {
        for (e, def) in ents.entries() {
            let path = path_key("$.entities", e);
            for (f, fdef) in entity_fields(def, &path)? {
                tick();
                // Only the type text is remembered; the rest of the definition is not judged here.
                if let Some(t) = fdef.get("type").and_then(|t| t.text()) {
                    history.add(e, f, &t);
                }
            }
        }
    }
    Ok(())
}

/// Classify every change from `old` to `new`. `history` lists the fields of earlier
/// versions; a field absent from `old` but present there with another type is a re-add.
/// `tick` runs once per entity and field: the caller checks for interrupts there.
pub fn compare<'a, V: JsonView<'a>>(old: V, new: V, history: &History, tick: &mut dyn FnMut()) -> Result<Vec<CompatChange<'a>>, Refusal> {
    let old_e = entities(Some(old))
        .map_err(|e| e.on_arg("old_schema"))?
        .map(|e| e.entries())
        .unwrap_or_default();
    let new_e = entities(Some(new))
        .map_err(|e| e.on_arg("new_schema"))?
        .map(|e| e.entries())
        .unwrap_or_default();
    let mut out = Vec::new();
    let change = |kind, entity, field, backward, forward, detail: String| CompatChange {
        kind,
        entity,
        field,
        backward,
        forward,
        detail,
    };

    let (mut i, mut j) = (0, 0);
    while i < old_e.len() || j < new_e.len() {
        tick();
        let order = match (old_e.get(i), new_e.get(j)) {
            (Some(o), Some(n)) => key_order(o.0.as_bytes(), n.0.as_bytes()),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                let name = old_e[i].0;
                check_fields(name, old_e[i].1, tick).map_err(|e| e.on_arg("old_schema"))?;
                out.push(change("ENTITY_REMOVED", name, None, true, false, format!("entity {name} was removed")));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let name = new_e[j].0;
                check_fields(name, new_e[j].1, tick).map_err(|e| e.on_arg("new_schema"))?;
                out.push(change("ENTITY_ADDED", name, None, true, true, format!("entity {name} was added")));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (name, odef) = old_e[i];
                let ndef = new_e[j].1;
                let path = path_key("$.entities", name);
                let of = entity_fields(odef, &path).map_err(|e| e.on_arg("old_schema"))?;
                let nf = entity_fields(ndef, &path).map_err(|e| e.on_arg("new_schema"))?;
                let was_closed = closed(odef, &path).map_err(|e| e.on_arg("old_schema"))?;
                let now_closed = closed(ndef, &path).map_err(|e| e.on_arg("new_schema"))?;
                match (was_closed, now_closed) {
                    (false, true) => out.push(change(
                        "ENTITY_CLOSED",
                        name,
                        None,
                        false,
                        true,
                        format!("entity {name} was closed (\"additional_fields\": false): old documents with undeclared fields are refused"),
                    )),
                    (true, false) => out.push(change(
                        "ENTITY_OPENED",
                        name,
                        None,
                        true,
                        false,
                        format!("entity {name} was opened: old readers refuse documents with fields they do not declare"),
                    )),
                    _ => {}
                }
                let closure = Closure { was_closed, now_closed };
                compare_fields(name, &path, &of, &nf, closure, history, &mut out, tick)?;
                i += 1;
                j += 1;
            }
        }
    }
    Ok(out)
}

/// Every definition of an entity that only one side has must still be well formed.
fn check_fields<'a, V: JsonView<'a>>(entity: &str, def: V, tick: &mut dyn FnMut()) -> Result<(), Refusal> {
    let path = path_key("$.entities", entity);
    for (f, fdef) in entity_fields(def, &path)? {
        tick();
        read_field(fdef, &|| path_key(&path_key(&path, "fields"), f))?;
    }
    closed(def, &path)?;
    Ok(())
}

/// Whether the entity refuses undeclared fields, before and after.
#[derive(Clone, Copy)]
struct Closure {
    was_closed: bool,
    now_closed: bool,
}

#[allow(clippy::too_many_arguments)]
fn compare_fields<'a, V: JsonView<'a>>(
    entity: &'a str,
    path: &str,
    old: &Fields<'a, V>,
    new: &Fields<'a, V>,
    closure: Closure,
    history: &History,
    out: &mut Vec<CompatChange<'a>>,
    tick: &mut dyn FnMut(),
) -> Result<(), Refusal> {
    let fpath = |f: &str| path_key(&path_key(path, "fields"), f);
    let mut push = |kind, field, backward, forward, detail: String| {
        out.push(CompatChange {
            kind,
            entity,
            field: Some(field),
            backward,
            forward,
            detail,
        })
    };
    // One hash lookup per field: linear in the number of fields.
    let old_by_name: HashMap<&str, V> = old.iter().copied().collect();
    let new_names: HashSet<&str> = new.iter().map(|(n, _)| *n).collect();
    // An added field breaks old readers of a closed entity; a removed field breaks new ones.
    let old_readers_refuse = if closure.was_closed {
        "; old readers refuse it: the entity was closed"
    } else {
        ""
    };
    let new_readers_refuse = if closure.now_closed {
        "; new readers refuse old documents that carry it: the entity is closed"
    } else {
        ""
    };
    for (f, ndef) in new {
        tick();
        let n = read_field(*ndef, &|| fpath(f)).map_err(|e| e.on_arg("new_schema"))?;
        let Some(odef) = old_by_name.get(f) else {
            if let Some(now) = &n.ty {
                if let Some(was) = history.conflict(entity, f, now, tick) {
                    push(
                        "FIELD_READDED_WITH_DIFFERENT_TYPE",
                        f,
                        false,
                        false,
                        format!("field {f} was removed as {was} and re-added as {}", now.0),
                    );
                    continue;
                }
            }
            let fwd = !closure.was_closed;
            match (n.required, n.default.is_some()) {
                (false, _) => push(
                    "FIELD_ADDED_OPTIONAL",
                    f,
                    true,
                    fwd,
                    format!("optional field {f} was added{old_readers_refuse}"),
                ),
                (true, true) => push(
                    "FIELD_ADDED_REQUIRED_WITH_DEFAULT",
                    f,
                    true,
                    fwd,
                    format!("required field {f} was added with a default{old_readers_refuse}"),
                ),
                (true, false) => push(
                    "FIELD_ADDED_REQUIRED",
                    f,
                    false,
                    fwd,
                    format!("required field {f} was added without a default: old documents lack it{old_readers_refuse}"),
                ),
            }
            continue;
        };
        let o = read_field(*odef, &|| fpath(f)).map_err(|e| e.on_arg("old_schema"))?;
        if let (Some((ot, op)), Some((nt, np))) = (&o.ty, &n.ty) {
            let (widen, narrow) = (types::widens(op, np), types::widens(np, op));
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
            let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".to_string());
            push(
                "DEFAULT_CHANGED",
                f,
                true,
                true,
                format!("default {} -> {}", show(&o.default), show(&n.default)),
            );
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
        tick();
        if new_names.contains(f) {
            continue;
        }
        let o = read_field(*odef, &|| fpath(f)).map_err(|e| e.on_arg("old_schema"))?;
        let bwd = !closure.now_closed;
        if o.required && o.default.is_none() {
            push(
                "FIELD_REMOVED_REQUIRED",
                f,
                bwd,
                false,
                format!("required field {f} was removed: old readers expect it{new_readers_refuse}"),
            );
        } else {
            push(
                "FIELD_REMOVED_OPTIONAL",
                f,
                bwd,
                true,
                format!("optional field {f} was removed{new_readers_refuse}"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonb::view::test_value::{obj, s, V};

    fn schema(fields: Vec<(&str, V)>) -> V {
        obj(vec![("entities", obj(vec![("A", obj(vec![("fields", obj(fields))]))]))])
    }
    fn f(ty: &str, nullable: bool) -> V {
        obj(vec![("type", s(ty)), ("nullable", V::Bool(nullable))])
    }
    fn kinds(old: &V, new: &V, h: &History) -> Vec<(&'static str, bool, bool)> {
        compare(old, new, h, &mut || {})
            .unwrap()
            .into_iter()
            .map(|c| (c.kind, c.backward, c.forward))
            .collect()
    }
    fn details(old: &V, new: &V) -> Vec<(&'static str, String)> {
        compare(old, new, &History::default(), &mut || {})
            .unwrap()
            .into_iter()
            .map(|c| (c.kind, c.detail))
            .collect()
    }
    fn refusal(old: &V, new: &V) -> Refusal {
        compare(old, new, &History::default(), &mut || {}).unwrap_err()
    }
    fn num(n: &str) -> V {
        V::Num(n.into())
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
            kinds(&old, &new, &History::default()),
            vec![
                ("FIELD_ADDED_OPTIONAL", true, true),
                ("FIELD_ADDED_REQUIRED", false, true),
                ("FIELD_ADDED_REQUIRED_WITH_DEFAULT", true, true)
            ]
        );
    }

    #[test]
    fn types_and_nullability() {
        let old = schema(vec![
            ("a", f("integer", true)),
            ("b", f("bigint", false)),
            ("c", f("uuid", true)),
            ("d", f("int4", true)),
        ]);
        let new = schema(vec![
            ("a", f("bigint", false)),
            ("b", f("integer", true)),
            ("c", f("text", true)),
            ("d", f("integer", true)),
        ]);
        assert_eq!(
            kinds(&old, &new, &History::default()),
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
        let mut history = History::default();
        history.add("A", "was", "integer");
        history.add("A", "was", "int4");
        history.add("A", "was", "text");
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

    #[test]
    fn defaults_and_enums_compare_as_json_values() {
        let d = |v: V| obj(vec![("type", s("string")), ("default", v)]);
        let old = schema(vec![("a", d(num("1"))), ("b", d(num("1.50"))), ("c", d(V::Arr(vec![num("1.0")])))]);
        let new = schema(vec![("a", d(s("1"))), ("b", d(num("1.5"))), ("c", d(V::Arr(vec![num("1")])))]);
        assert_eq!(details(&old, &new), vec![("DEFAULT_CHANGED", r#"default 1 -> "1""#.to_string())]);
        let e = |vals: Vec<V>| obj(vec![("type", s("string")), ("enum", V::Arr(vals))]);
        let old = schema(vec![("st", e(vec![V::Null, s("a")]))]);
        let new = schema(vec![("st", e(vec![s(""), s("a")]))]);
        assert_eq!(
            details(&old, &new),
            vec![("ENUM_VALUES_ADDED", r#"added """#.into()), ("ENUM_VALUES_REMOVED", "removed null".into())]
        );
        let nested = obj(vec![("k", V::Arr(vec![s("q\"\n"), V::Bool(true), obj(vec![])]))]);
        assert_eq!(canonical_json(&nested), r#"{"k": ["q\"\n", true, {}]}"#);
        assert_eq!(canonical_json(&num("-0.00")), "0");
        assert_eq!(canonical_json(&num("100")), "100");
    }

    #[test]
    fn canonical_json_has_no_depth_limit() {
        let mut v = V::Null;
        for _ in 0..200_000 {
            v = V::Arr(vec![v]);
        }
        assert_eq!(canonical_json(&v).len(), 200_000 * 2 + 4);
        std::mem::forget(v); // dropping a 200,000-deep tree recurses; the test tree only
    }

    #[test]
    fn required_field_with_null_default_is_refused() {
        let bad = obj(vec![("type", s("string")), ("nullable", V::Bool(false)), ("default", V::Null)]);
        let r = refusal(&schema(vec![]), &schema(vec![("f", bad.clone())]));
        assert_eq!((r.error.argument, r.error.path.as_str()), (Some("new_schema"), "$.entities.A.fields.f.default"));
        assert!(r.hint.is_some());
        let r = refusal(&schema(vec![("f", bad)]), &schema(vec![]));
        assert_eq!(r.error.argument, Some("old_schema"));
        // Nullable fields may default to null.
        let ok = obj(vec![("type", s("string")), ("default", V::Null)]);
        assert_eq!(
            kinds(&schema(vec![]), &schema(vec![("f", ok)]), &History::default()),
            vec![("FIELD_ADDED_OPTIONAL", true, true)]
        );
    }

    #[test]
    fn hostile_type_names_are_refused_with_the_path() {
        let deep = format!("int{}", "[]".repeat(60_000));
        let r = refusal(&schema(vec![]), &schema(vec![("f", f(&deep, true))]));
        assert_eq!(r.error.path, "$.entities.A.fields.f.type");
        assert!(r.error.problem.contains("120003 bytes"), "{}", r.error.problem);
        let r = refusal(&schema(vec![("f", f("int[][][][][][][]", true))]), &schema(vec![]));
        assert_eq!((r.error.argument, r.hint.is_some()), (Some("old_schema"), true));
        assert!(r.error.problem.contains("7 array dimensions"), "{}", r.error.problem);
        // Array bounds are decoration.
        let old = schema(vec![("a", f("int[3]", true)), ("b", f("int[3][4]", true)), ("t", f("timestamp(7)", true))]);
        let new = schema(vec![("a", f("int[]", true)), ("b", f("int[][]", true)), ("t", f("timestamp", true))]);
        assert!(kinds(&old, &new, &History::default()).is_empty());
    }

    fn with_closure(fields: Vec<(&str, V)>, additional: Option<V>) -> V {
        let mut def = vec![("fields", obj(fields))];
        if let Some(a) = additional {
            def.push(("additional_fields", a));
        }
        obj(vec![("entities", obj(vec![("A", obj(def))]))])
    }

    #[test]
    fn closing_an_entity_breaks_backward() {
        let open = with_closure(vec![("a", f("text", true))], None);
        let open_true = with_closure(vec![("a", f("text", true))], Some(V::Bool(true)));
        let closed = with_closure(vec![("a", f("text", true))], Some(V::Bool(false)));
        let h = History::default();
        assert_eq!(kinds(&open, &closed, &h), vec![("ENTITY_CLOSED", false, true)]);
        assert_eq!(kinds(&open_true, &closed, &h), vec![("ENTITY_CLOSED", false, true)]);
        assert_eq!(kinds(&closed, &open, &h), vec![("ENTITY_OPENED", true, false)]);
        assert!(kinds(&closed, &closed, &h).is_empty());
        assert!(!Mode::Backward.allows(&compare(&open, &closed, &h, &mut || {}).unwrap()[0]));
        // Within a closed entity a removed field breaks new readers, an added one old readers.
        let closed_b = with_closure(vec![("b", f("text", true))], Some(V::Bool(false)));
        assert_eq!(
            kinds(&closed, &closed_b, &h),
            vec![("FIELD_ADDED_OPTIONAL", true, false), ("FIELD_REMOVED_OPTIONAL", false, true)]
        );
        // Anything but a JSON boolean is refused.
        let r = refusal(&open, &with_closure(vec![], Some(s("false"))));
        assert_eq!(r.error.path, "$.entities.A.additional_fields");
    }

    #[test]
    fn history_checks_every_earlier_type() {
        let old = schema(vec![]);
        let new = schema(vec![("was", f("integer", true))]);
        let mut h = History::default();
        h.add("A", "was", "int4");
        assert_eq!(kinds(&old, &new, &h), vec![("FIELD_ADDED_OPTIONAL", true, true)]);
        h.add("A", "was", "uuid");
        h.add("A", "was", "uuid");
        assert_eq!(kinds(&old, &new, &h), vec![("FIELD_READDED_WITH_DIFFERENT_TYPE", false, false)]);
    }

    /// 100,000 fields a side, every one changed: a quadratic comparison would make
    /// 10^10 name comparisons and never finish; this one ticks a bounded number of times
    /// per field.
    #[test]
    fn compare_is_linear() {
        let n = 100_000;
        let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        let old = schema(names.iter().map(|k| (k.as_str(), f("integer", true))).collect());
        let new = schema(names.iter().map(|k| (k.as_str(), f("bigint", true))).collect());
        let mut h = History::default();
        let mut ticks = 0usize;
        let changes = compare(&old, &new, &h, &mut || ticks += 1).unwrap();
        assert_eq!(changes.len(), n);
        assert!(changes.iter().all(|c| c.kind == "TYPE_WIDENED"));
        assert!(ticks >= 2 * n && ticks <= 2 * n + 10, "{ticks}");
        // A long history adds one tick per earlier type of each added field.
        let fresh = schema(names.iter().map(|k| (k.as_str(), f("bigint", true))).collect());
        let mut hticks = 0usize;
        field_types(&old, &mut h, &mut || hticks += 1).unwrap();
        assert_eq!(hticks, n);
        let mut ticks = 0usize;
        let empty = schema(vec![]);
        let changes = compare(&empty, &fresh, &h, &mut || ticks += 1).unwrap();
        assert_eq!(changes.len(), n);
        assert!(ticks <= 2 * n + 10, "{ticks}");
    }
}
