//! A pipeline definition, parsed with serde into typed structs. Every level denies unknown
//! fields; an error names the JSON path of the offending value (`$.steps[1].config...`).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A definition error: the JSON path of the offending value and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for DefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, DefError> {
    Err(DefError {
        path: path.to_string(),
        message: message.into(),
    })
}

/// Deserialize `value` (found at `path`) into `T`, naming the path on failure.
/// `value` as a `T`; an error names the JSON path of the value at fault (`$.workers`, not
/// `$`) and what was expected in JSON's words, not Rust's (`an integer`, not `i64`).
fn typed<T: DeserializeOwned>(value: &Value, path: &str) -> Result<T, DefError> {
    serde_path_to_error::deserialize(value.clone()).or_else(|e| {
        let mut at = path.to_string();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => at.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key } => at.push_str(&format!(".{key}")),
                serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
            }
        }
        err(&at, json_words(&e.inner().to_string()))
    })
}

/// serde's messages name Rust types; users write JSON.
fn json_words(message: &str) -> String {
    [
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
        (
            "data did not match any variant of untagged enum PathSpec",
            "expected a field path: a dotted string or an array of names",
        ),
        (
            "data did not match any variant of untagged enum RawGroupItem",
            "expected a field path, or an object {\"path\": ..., \"as\": name}",
        ),
    ]
    .iter()
    .fold(message.to_string(), |m, (rust, json)| m.replace(rust, json))
}

/// A path into a document: `"a.b.c"` or `["a", "b.c"]` (names with dots, hostile names).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PathSpec {
    Dotted(String),
    Parts(Vec<String>),
}

/// A document path as its segments (never empty, no NUL bytes).
pub type DocPath = Vec<String>;

pub fn doc_path(spec: &PathSpec, path: &str) -> Result<DocPath, DefError> {
    let parts: Vec<String> = match spec {
        PathSpec::Dotted(s) => s.split('.').map(str::to_string).collect(),
        PathSpec::Parts(p) => p.clone(),
    };
    if parts.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return err(path, "a field path needs non-empty segments (use an array of names for names with dots)");
    }
    if parts.iter().any(|p| p.contains('\0')) {
        return err(path, "a field path cannot contain a NUL character");
    }
    Ok(parts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum ErrorMode {
    Skip,
    Retry,
    #[default]
    Fail,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Validation {
    #[serde(default)]
    pub input: bool,
    #[serde(default)]
    pub output: bool,
    #[serde(default)]
    pub error_handling: ErrorMode,
    /// Check against this published schema version instead of the active one.
    #[serde(default)]
    pub schema_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPipeline {
    name: String,
    #[serde(default)]
    description: Option<String>,
    steps: Vec<Value>,
    #[serde(default)]
    parallel: bool,
    #[serde(default = "default_batch")]
    batch_size: i64,
    #[serde(default)]
    validation: Validation,
    /// The entity type the pipeline reads (run options may name another).
    #[serde(default)]
    entity_type: Option<String>,
    /// A query returning `(id uuid, document jsonb)` rows to read instead of the entity type.
    #[serde(default)]
    query: Option<String>,
    #[serde(default = "default_retries")]
    max_retries: u32,
}

fn default_batch() -> i64 {
    1000
}
fn default_retries() -> u32 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawStep {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    config: Value,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    error_handling: Option<String>,
}

fn error_mode(v: Option<&str>, path: &str) -> Result<ErrorMode, DefError> {
    match v {
        None | Some("FAIL") => Ok(ErrorMode::Fail),
        Some("SKIP") => Ok(ErrorMode::Skip),
        Some("RETRY") => Ok(ErrorMode::Retry),
        Some(other) => err(path, format!("unknown errorHandling \"{other}\", expected one of SKIP, RETRY, FAIL")),
    }
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    pub steps: Vec<Step>,
    pub parallel: bool,
    pub batch_size: i64,
    pub validation: Validation,
    pub entity_type: Option<String>,
    pub query: Option<String>,
    pub max_retries: u32,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub condition: Option<String>,
    pub error_handling: ErrorMode,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Map(Vec<Rule>),
    Filter(String),
    Aggregate(AggregateConfig),
    Join(JoinConfig),
    Custom(CustomConfig),
}

#[derive(Debug, Clone)]
pub enum Rule {
    Rename {
        source: DocPath,
        target: DocPath,
    },
    Transform {
        field: DocPath,
        transformation: Transformation,
    },
    Merge {
        sources: Vec<DocPath>,
        target: DocPath,
        strategy: MergeStrategy,
        remove_sources: bool,
    },
    Conditional {
        condition: String,
        rules: Vec<Rule>,
    },
    Lookup(Lookup),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transformation {
    Lower,
    Upper,
    Trim,
    ToNumber,
    ToString,
    ToBoolean,
    Split { separator: String },
    Concat { prefix: String, suffix: String },
    DateFormat { from: Option<String>, to: String },
    Default { value: Value },
    Sql { function: QualName },
}

#[derive(Debug, Clone, PartialEq)]
pub enum MergeStrategy {
    Concat { separator: String },
    Object,
    Array,
    FirstNonNull,
    DeepMerge,
}

/// Where lookups and joins read: a table (view) or the current documents of an entity type.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Table(QualName),
    Entity(String),
}

#[derive(Debug, Clone)]
pub struct Lookup {
    pub key_field: DocPath,
    pub source: Source,
    /// Column (table) or document path (entity type) matched against the key.
    pub lookup_key: DocPath,
    /// Column (table) or document path (entity type) whose value is copied.
    pub lookup_value: DocPath,
    pub target: DocPath,
    pub default: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggOp {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Array,
    Object,
}

#[derive(Debug, Clone)]
pub struct Aggregation {
    pub name: String,
    pub op: AggOp,
    pub path: Option<DocPath>,
    pub key_path: Option<DocPath>,
}

#[derive(Debug, Clone)]
pub struct AggregateConfig {
    pub group_by: Vec<(String, DocPath)>,
    pub aggregations: Vec<Aggregation>,
}

#[derive(Debug, Clone)]
pub struct JoinConfig {
    pub source: Source,
    pub left: DocPath,
    pub right: DocPath,
    pub inner: bool,
    pub fields: Vec<(String, DocPath)>,
    pub into: Option<DocPath>,
}

#[derive(Debug, Clone)]
pub struct CustomConfig {
    pub function: QualName,
    pub batch: bool,
}

/// A possibly schema-qualified SQL name, parsed like PostgreSQL's `parse_ident`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualName {
    pub schema: Option<String>,
    pub name: String,
}

impl QualName {
    pub fn parse(s: &str, path: &str) -> Result<QualName, DefError> {
        let mut parts = Vec::new();
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        loop {
            let mut part = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                loop {
                    if i >= chars.len() {
                        return err(path, format!("unterminated quoted name in \"{s}\""));
                    }
                    if chars[i] == '"' {
                        if i + 1 < chars.len() && chars[i + 1] == '"' {
                            part.push('"');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    part.push(chars[i]);
                    i += 1;
                }
            } else {
                while i < chars.len() && chars[i] != '.' {
                    if chars[i] == '"' || chars[i].is_whitespace() {
                        return err(path, format!("\"{s}\" is not a valid SQL name (quote it: \"\"My Name\"\")"));
                    }
                    part.extend(chars[i].to_lowercase());
                    i += 1;
                }
            }
            if part.is_empty() || part.contains('\0') || part.len() > 63 {
                return err(path, format!("\"{s}\" is not a valid SQL name"));
            }
            parts.push(part);
            if i >= chars.len() {
                break;
            }
            if chars[i] != '.' {
                return err(path, format!("\"{s}\" is not a valid SQL name"));
            }
            i += 1;
        }
        match parts.len() {
            1 => Ok(QualName {
                schema: None,
                name: parts.remove(0),
            }),
            2 => Ok(QualName {
                schema: Some(parts.remove(0)),
                name: parts.remove(0),
            }),
            _ => err(path, format!("\"{s}\" has too many dotted parts (schema.name at most)")),
        }
    }
}

fn as_object<'a>(v: &'a Value, path: &str, what: &str) -> Result<&'a Map<String, Value>, DefError> {
    v.as_object().map_or_else(|| err(path, format!("{what} must be a JSON object")), Ok)
}

/// The object `v` without its `"type"` key (so the variant's struct can deny unknown fields).
fn without_type(v: &Map<String, Value>) -> Value {
    let mut m = v.clone();
    m.remove("type");
    Value::Object(m)
}

pub fn parse(definition: &Value) -> Result<Pipeline, DefError> {
    as_object(definition, "$", "a pipeline definition")?;
    let raw: RawPipeline = typed(definition, "$")?;
    if raw.name.trim().is_empty() || raw.name.contains('\0') {
        return err("$.name", "a pipeline needs a non-empty name");
    }
    if raw.batch_size < 1 || raw.batch_size > 1_000_000 {
        return err("$.batchSize", format!("batchSize must be between 1 and 1000000, not {}", raw.batch_size));
    }
    if raw.max_retries > 100 {
        return err("$.maxRetries", format!("maxRetries must be at most 100, not {}", raw.max_retries));
    }
    if raw.steps.is_empty() {
        return err("$.steps", "a pipeline needs at least one step");
    }
    let mut steps = Vec::new();
    for (i, s) in raw.steps.iter().enumerate() {
        let path = format!("$.steps[{i}]");
        as_object(s, &path, "a step")?;
        let rs: RawStep = typed(s, &path)?;
        let cpath = format!("{path}.config");
        let kind = match rs.kind.as_str() {
            "MAP" => StepKind::Map(parse_map(&rs.config, &cpath)?),
            "FILTER" => StepKind::Filter(parse_filter(&rs.config, &cpath)?),
            "AGGREGATE" => StepKind::Aggregate(parse_aggregate(&rs.config, &cpath)?),
            "JOIN" => StepKind::Join(parse_join(&rs.config, &cpath)?),
            "CUSTOM" => StepKind::Custom(parse_custom(&rs.config, &cpath)?),
            other => {
                return err(
                    &format!("{path}.type"),
                    format!("unknown step type \"{other}\", expected one of MAP, FILTER, AGGREGATE, JOIN, CUSTOM"),
                )
            }
        };
        if rs.condition.is_some() {
            let refuses = matches!(kind, StepKind::Aggregate(_) | StepKind::Filter(_)) || matches!(&kind, StepKind::Custom(c) if c.batch);
            if refuses {
                return err(
                    &format!("{path}.condition"),
                    format!("a {} step does not take a condition (put a FILTER step before it)", rs.kind),
                );
            }
        }
        let name = rs.name.unwrap_or_else(|| format!("step {}", i + 1));
        if steps.iter().any(|s: &Step| s.name == name) {
            return err(&format!("{path}.name"), format!("step name \"{name}\" is used twice"));
        }
        let error_handling = error_mode(rs.error_handling.as_deref(), &format!("{path}.errorHandling"))?;
        steps.push(Step {
            name,
            condition: rs.condition,
            error_handling,
            kind,
        });
    }
    check_query(raw.query.as_deref(), "$.query")?;
    if let Some(v) = &raw.validation.schema_version {
        if v.is_empty() || v.contains('\0') {
            return err("$.validation.schemaVersion", "a schema version must be a non-empty version number");
        }
        if !raw.validation.input && !raw.validation.output {
            return err(
                "$.validation.schemaVersion",
                "a schema version is only used with validation.input or validation.output true",
            );
        }
    }
    Ok(Pipeline {
        name: raw.name,
        description: raw.description,
        steps,
        parallel: raw.parallel,
        batch_size: raw.batch_size,
        validation: raw.validation,
        entity_type: raw.entity_type,
        query: raw.query,
        max_retries: raw.max_retries,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMap {
    #[serde(alias = "rules")]
    mapping_rules: Vec<Value>,
}

fn parse_map(config: &Value, path: &str) -> Result<Vec<Rule>, DefError> {
    as_object(config, path, "a MAP step's config")?;
    let raw: RawMap = typed(config, path)?;
    parse_rules(&raw.mapping_rules, &format!("{path}.mappingRules"), 0)
}

fn parse_rules(rules: &[Value], path: &str, depth: usize) -> Result<Vec<Rule>, DefError> {
    if depth > 16 {
        return err(path, "conditional rules nest more than 16 deep");
    }
    rules.iter().enumerate().map(|(i, r)| parse_rule(r, &format!("{path}[{i}]"), depth)).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRename {
    source: PathSpec,
    target: PathSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransform {
    field: PathSpec,
    transformation: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMerge {
    source_fields: Vec<PathSpec>,
    target_field: PathSpec,
    merge_strategy: String,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    remove_sources: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConditional {
    condition: String,
    rules: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawLookup {
    key_field: PathSpec,
    #[serde(default)]
    lookup_table: Option<String>,
    #[serde(default)]
    lookup_entity_type: Option<String>,
    lookup_key: PathSpec,
    lookup_value: PathSpec,
    target_field: PathSpec,
    #[serde(default, deserialize_with = "present")]
    default: Option<Value>,
}

fn source(table: Option<String>, entity: Option<String>, path: &str, what: &str) -> Result<Source, DefError> {
    match (table, entity) {
        (Some(t), None) => Ok(Source::Table(QualName::parse(&t, &format!("{path}.{what}Table"))?)),
        (None, Some(e)) if !e.is_empty() => Ok(Source::Entity(e)),
        _ => err(path, format!("name exactly one of {what}Table and {what}EntityType")),
    }
}

fn parse_rule(r: &Value, path: &str, depth: usize) -> Result<Rule, DefError> {
    let obj = as_object(r, path, "a mapping rule")?;
    let Some(kind) = obj.get("type").and_then(Value::as_str) else {
        return err(&format!("{path}.type"), "a mapping rule needs a \"type\" string");
    };
    let body = without_type(obj);
    let p = |f: &str| format!("{path}.{f}");
    Ok(match kind {
        "FIELD_RENAME" => {
            let raw: RawRename = typed(&body, path)?;
            Rule::Rename {
                source: doc_path(&raw.source, &p("source"))?,
                target: doc_path(&raw.target, &p("target"))?,
            }
        }
        "FIELD_TRANSFORM" => {
            let raw: RawTransform = typed(&body, path)?;
            Rule::Transform {
                field: doc_path(&raw.field, &p("field"))?,
                transformation: parse_transformation(&raw.transformation, &p("transformation"))?,
            }
        }
        "FIELD_MERGE" => {
            let raw: RawMerge = typed(&body, path)?;
            if raw.source_fields.is_empty() {
                return err(&p("sourceFields"), "FIELD_MERGE needs at least one source field");
            }
            let sources = raw
                .source_fields
                .iter()
                .enumerate()
                .map(|(i, s)| doc_path(s, &format!("{path}.sourceFields[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let strategy = match raw.merge_strategy.as_str() {
                "CONCAT" => MergeStrategy::Concat {
                    separator: raw.separator.clone().unwrap_or_else(|| " ".into()),
                },
                "OBJECT" => MergeStrategy::Object,
                "ARRAY" => MergeStrategy::Array,
                "FIRST_NON_NULL" => MergeStrategy::FirstNonNull,
                "DEEP_MERGE" => MergeStrategy::DeepMerge,
                other => {
                    return err(
                        &p("mergeStrategy"),
                        format!("unknown merge strategy \"{other}\", expected one of CONCAT, OBJECT, ARRAY, FIRST_NON_NULL, DEEP_MERGE"),
                    )
                }
            };
            if raw.separator.is_some() && !matches!(strategy, MergeStrategy::Concat { .. }) {
                return err(&p("separator"), "separator applies to the CONCAT strategy only");
            }
            if matches!(strategy, MergeStrategy::Object) {
                // OBJECT keys each value by its source's last name: two alike and one value is lost.
                for (i, s) in sources.iter().enumerate() {
                    if sources[..i].iter().any(|o| o.last() == s.last()) {
                        return err(
                            &format!("{path}.sourceFields[{i}]"),
                            format!(
                                "OBJECT merge keys values by their last field name, and \"{}\" is used twice",
                                s.last().map_or("", |x| x.as_str())
                            ),
                        );
                    }
                }
            }
            Rule::Merge {
                sources,
                target: doc_path(&raw.target_field, &p("targetField"))?,
                strategy,
                remove_sources: raw.remove_sources,
            }
        }
        "CONDITIONAL_TRANSFORM" => {
            let raw: RawConditional = typed(&body, path)?;
            let rules = parse_rules(&raw.rules, &p("rules"), depth + 1)?;
            if rules.iter().any(|r| matches!(r, Rule::Lookup(_))) {
                return err(
                    &p("rules"),
                    "a LOOKUP_TRANSFORM cannot sit inside a CONDITIONAL_TRANSFORM (give its step a condition instead)",
                );
            }
            Rule::Conditional {
                condition: raw.condition,
                rules,
            }
        }
        "LOOKUP_TRANSFORM" => {
            let raw: RawLookup = typed(&body, path)?;
            let src = source(raw.lookup_table, raw.lookup_entity_type, path, "lookup")?;
            let lookup_key = doc_path(&raw.lookup_key, &p("lookupKey"))?;
            let lookup_value = doc_path(&raw.lookup_value, &p("lookupValue"))?;
            if matches!(src, Source::Table(_)) && (lookup_key.len() != 1 || lookup_value.len() != 1) {
                return err(path, "lookupKey and lookupValue name columns of the lookup table");
            }
            Rule::Lookup(Lookup {
                key_field: doc_path(&raw.key_field, &p("keyField"))?,
                source: src,
                lookup_key,
                lookup_value,
                target: doc_path(&raw.target_field, &p("targetField"))?,
                default: raw.default,
            })
        }
        other => {
            return err(
                &p("type"),
                format!("unknown rule type \"{other}\", expected one of FIELD_RENAME, FIELD_TRANSFORM, FIELD_MERGE, CONDITIONAL_TRANSFORM, LOOKUP_TRANSFORM"),
            )
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTransformation {
    #[serde(default)]
    function: Option<String>,
    #[serde(default)]
    sql_function: Option<String>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    suffix: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
}

/// A value that is there, JSON null included (`Option<Value>` alone reads null as absent:
/// `{"function": "default", "value": null}` was refused as having no value).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn parse_transformation(v: &Value, path: &str) -> Result<Transformation, DefError> {
    let raw: RawTransformation = match v {
        Value::String(s) => RawTransformation {
            function: Some(s.clone()),
            sql_function: None,
            separator: None,
            prefix: None,
            suffix: None,
            from: None,
            to: None,
            value: None,
        },
        Value::Object(_) => typed(v, path)?,
        _ => return err(path, "a transformation is a built-in's name or an object"),
    };
    let unused = |name: &str, present: bool| -> Result<(), DefError> {
        if present {
            err(&format!("{path}.{name}"), format!("option \"{name}\" does not apply to this transformation"))
        } else {
            Ok(())
        }
    };
    if let Some(f) = &raw.sql_function {
        if raw.function.is_some() {
            return err(path, "give either function (a built-in) or sqlFunction, not both");
        }
        for (n, p) in [
            ("separator", raw.separator.is_some()),
            ("prefix", raw.prefix.is_some()),
            ("suffix", raw.suffix.is_some()),
            ("from", raw.from.is_some()),
            ("to", raw.to.is_some()),
            ("value", raw.value.is_some()),
        ] {
            unused(n, p)?;
        }
        return Ok(Transformation::Sql {
            function: QualName::parse(f, &format!("{path}.sqlFunction"))?,
        });
    }
    let Some(f) = raw.function.as_deref() else {
        return err(path, "a transformation needs function (a built-in) or sqlFunction");
    };
    let t = match f {
        "lower" => Transformation::Lower,
        "upper" => Transformation::Upper,
        "trim" => Transformation::Trim,
        "to_number" => Transformation::ToNumber,
        "to_string" => Transformation::ToString,
        "to_boolean" => Transformation::ToBoolean,
        "split" => Transformation::Split { separator: raw.separator.clone().unwrap_or_else(|| ",".into()) },
        "concat" => Transformation::Concat {
            prefix: raw.prefix.clone().unwrap_or_default(),
            suffix: raw.suffix.clone().unwrap_or_default(),
        },
        "date_format" => match &raw.to {
            Some(to) => Transformation::DateFormat { from: raw.from.clone(), to: to.clone() },
            None => return err(&format!("{path}.to"), "date_format needs a \"to\" format (to_char patterns)"),
        },
        "default" => match &raw.value {
            Some(v) => Transformation::Default { value: v.clone() },
            None => return err(&format!("{path}.value"), "default needs a \"value\""),
        },
        other => {
            return err(
                &format!("{path}.function"),
                format!("unknown transformation \"{other}\", expected one of lower, upper, trim, to_number, to_string, to_boolean, split, concat, date_format, default (or sqlFunction)"),
            )
        }
    };
    unused("separator", raw.separator.is_some() && !matches!(t, Transformation::Split { .. }))?;
    unused("prefix", raw.prefix.is_some() && !matches!(t, Transformation::Concat { .. }))?;
    unused("suffix", raw.suffix.is_some() && !matches!(t, Transformation::Concat { .. }))?;
    unused("from", raw.from.is_some() && !matches!(t, Transformation::DateFormat { .. }))?;
    unused("to", raw.to.is_some() && !matches!(t, Transformation::DateFormat { .. }))?;
    unused("value", raw.value.is_some() && !matches!(t, Transformation::Default { .. }))?;
    for s in [&raw.separator, &raw.prefix, &raw.suffix, &raw.from, &raw.to].into_iter().flatten() {
        if s.contains('\0') {
            return err(path, "a transformation option cannot contain a NUL character");
        }
    }
    Ok(t)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(alias = "predicate")]
    condition: String,
}

fn parse_filter(config: &Value, path: &str) -> Result<String, DefError> {
    as_object(config, path, "a FILTER step's config")?;
    let raw: RawFilter = typed(config, path)?;
    Ok(raw.condition)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawGroup {
    path: PathSpec,
    #[serde(default, rename = "as")]
    alias: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawGroupItem {
    Path(PathSpec),
    Named(RawGroup),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAggregation {
    op: String,
    #[serde(default)]
    path: Option<PathSpec>,
    #[serde(default)]
    key_path: Option<PathSpec>,
    #[serde(rename = "as")]
    alias: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAggregate {
    #[serde(default)]
    group_by: Vec<Value>,
    aggregations: Vec<Value>,
}

fn parse_aggregate(config: &Value, path: &str) -> Result<AggregateConfig, DefError> {
    as_object(config, path, "an AGGREGATE step's config")?;
    let raw: RawAggregate = typed(config, path)?;
    let mut group_by = Vec::new();
    for (i, g) in raw.group_by.iter().enumerate() {
        let gp = format!("{path}.groupBy[{i}]");
        let item: RawGroupItem = typed(g, &gp)?;
        let (spec, alias) = match item {
            RawGroupItem::Path(p) => (p, None),
            RawGroupItem::Named(g) => (g.path, g.alias),
        };
        let dp = doc_path(&spec, &gp)?;
        let name = alias.unwrap_or_else(|| dp.last().cloned().unwrap_or_default());
        if group_by.iter().any(|(n, _)| *n == name) {
            // Two keys under one name: the document of a group would keep only one of them.
            return err(
                &gp,
                format!("group key name \"{name}\" is used twice: give one of them another name with {{\"path\": ..., \"as\": ...}}"),
            );
        }
        group_by.push((name, dp));
    }
    if raw.aggregations.is_empty() {
        return err(&format!("{path}.aggregations"), "AGGREGATE needs at least one aggregation");
    }
    let mut aggregations = Vec::new();
    for (i, a) in raw.aggregations.iter().enumerate() {
        let ap = format!("{path}.aggregations[{i}]");
        let r: RawAggregation = typed(a, &ap)?;
        let op = match r.op.as_str() {
            "count" => AggOp::Count,
            "sum" => AggOp::Sum,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "avg" => AggOp::Avg,
            "array" => AggOp::Array,
            "object" => AggOp::Object,
            other => {
                return err(
                    &format!("{ap}.op"),
                    format!("unknown aggregation \"{other}\", expected one of count, sum, min, max, avg, array, object"),
                )
            }
        };
        let p = r.path.as_ref().map(|p| doc_path(p, &format!("{ap}.path"))).transpose()?;
        let k = r.key_path.as_ref().map(|p| doc_path(p, &format!("{ap}.keyPath"))).transpose()?;
        if p.is_none() && op != AggOp::Count {
            return err(&format!("{ap}.path"), format!("aggregation \"{}\" needs a path", r.op));
        }
        if (op == AggOp::Object) != k.is_some() {
            return err(&format!("{ap}.keyPath"), "keyPath is required by, and only by, the object aggregation");
        }
        if r.alias.is_empty() || group_by.iter().any(|(n, _)| *n == r.alias) || aggregations.iter().any(|a: &Aggregation| a.name == r.alias) {
            return err(&format!("{ap}.as"), format!("output name \"{}\" is empty or used twice", r.alias));
        }
        aggregations.push(Aggregation {
            name: r.alias,
            op,
            path: p,
            key_path: k,
        });
    }
    Ok(AggregateConfig { group_by, aggregations })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOn {
    left: PathSpec,
    right: PathSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawJoin {
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    entity_type: Option<String>,
    on: RawOn,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    fields: Option<Map<String, Value>>,
    #[serde(default)]
    into: Option<PathSpec>,
}

fn parse_join(config: &Value, path: &str) -> Result<JoinConfig, DefError> {
    as_object(config, path, "a JOIN step's config")?;
    let raw: RawJoin = typed(config, path)?;
    let src = match (raw.table, raw.entity_type) {
        (Some(t), None) => Source::Table(QualName::parse(&t, &format!("{path}.table"))?),
        (None, Some(e)) if !e.is_empty() => Source::Entity(e),
        _ => return err(path, "name exactly one of table and entityType"),
    };
    let right = doc_path(&raw.on.right, &format!("{path}.on.right"))?;
    if matches!(src, Source::Table(_)) && right.len() != 1 {
        return err(&format!("{path}.on.right"), "on.right names a column of the joined table");
    }
    let inner = match raw.kind.as_deref() {
        None | Some("LEFT") => false,
        Some("INNER") => true,
        Some(other) => return err(&format!("{path}.kind"), format!("unknown join kind \"{other}\", expected INNER or LEFT")),
    };
    let mut fields = Vec::new();
    for (k, v) in raw.fields.unwrap_or_default() {
        let fp = format!("{path}.fields.{k}");
        let spec: PathSpec = typed(&v, &fp)?;
        let dp = doc_path(&spec, &fp)?;
        if matches!(src, Source::Table(_)) && dp.len() != 1 {
            return err(&fp, "a joined table's field names one column");
        }
        fields.push((k, dp));
    }
    Ok(JoinConfig {
        source: src,
        left: doc_path(&raw.on.left, &format!("{path}.on.left"))?,
        right,
        inner,
        fields,
        into: raw.into.as_ref().map(|p| doc_path(p, &format!("{path}.into"))).transpose()?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustom {
    function: String,
    #[serde(default)]
    mode: Option<String>,
}

fn parse_custom(config: &Value, path: &str) -> Result<CustomConfig, DefError> {
    as_object(config, path, "a CUSTOM step's config")?;
    let raw: RawCustom = typed(config, path)?;
    let batch = match raw.mode.as_deref() {
        None | Some("document") => false,
        Some("batch") => true,
        Some(other) => return err(&format!("{path}.mode"), format!("unknown mode \"{other}\", expected document or batch")),
    };
    Ok(CustomConfig {
        function: QualName::parse(&raw.function, &format!("{path}.function"))?,
        batch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn e(v: Value) -> DefError {
        parse(&v).unwrap_err()
    }

    #[test]
    fn object_merge_needs_distinct_last_names() {
        let d = e(
            json!({"name": "p", "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_MERGE",
            "sourceFields": ["x.name", "y.name"], "targetField": "names", "mergeStrategy": "OBJECT"}]}}]}),
        );
        assert_eq!(d.path, "$.steps[0].config.mappingRules[0].sourceFields[1]");
    }

    #[test]
    fn default_null_is_a_value() {
        let t = parse_transformation(&json!({"function": "default", "value": null}), "$.t").unwrap();
        assert!(matches!(t, Transformation::Default { value: Value::Null }));
        assert_eq!(parse_transformation(&json!({"function": "default"}), "$.t").unwrap_err().path, "$.t.value");
    }

    #[test]
    fn worker_and_join_options() {
        assert_eq!(parse_options(&json!({"workers": 4})).unwrap().workers, Some(4));
        for bad in [json!({"workers": 0}), json!({"workers": 65}), json!({"workers": -1})] {
            assert_eq!(parse_options(&bad).unwrap_err().path, "$.workers");
        }
        let run = "5f0c4b2e-8a61-4d0e-9c2b-3d7c1f9e0a11";
        assert!(parse_options(&json!({"join": run, "lockTimeoutMs": 50})).is_ok());
        assert!(parse_options(&json!({"join": run.replace('-', "")})).is_ok());
        for bad in [
            json!({"join": "x"}),
            json!({"join": null}),
            json!({"join": format!("{run}0")}),
            json!({"join": run, "restart": true}),
            json!({"join": run, "workers": 2}),
            json!({"join": run, "query": "SELECT 1"}),
        ] {
            assert_eq!(parse_options(&bad).unwrap_err().path, "$.join");
        }
    }

    #[test]
    fn wrong_types_name_their_path_in_json_words() {
        for (bad, path) in [
            (json!({"workers": "2"}), "$.workers"),
            (json!({"workers": 1.5}), "$.workers"),
            (json!({"batchSize": true}), "$.batchSize"),
            (json!({"join": 5}), "$.join"),
        ] {
            let d = parse_options(&bad).unwrap_err();
            assert_eq!(d.path, path, "{bad}");
            assert!(!d.message.contains("i64"), "{}", d.message);
        }
        let d = parse_options(&json!({"workers": "2"})).unwrap_err();
        assert!(d.message.contains("expected an integer"), "{}", d.message);
        let d = e(json!({"name": "p", "batchSize": "big", "steps": []}));
        assert_eq!(d.path, "$.batchSize");
        let d = e(json!({"name": "p", "steps": [{"type": "FILTER", "config": {"condition": 7}}]}));
        assert!(d.path.starts_with("$.steps[0].config"), "{}", d.path);
    }

    #[test]
    fn unknown_things_name_their_path() {
        let d = e(json!({"name": "p", "steps": [{"type": "MAPX"}]}));
        assert_eq!(d.path, "$.steps[0].type");
        let d = e(
            json!({"name": "p", "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "a", "target": "b"}, {"type": "NOPE"}]}}]}),
        );
        assert_eq!(d.path, "$.steps[0].config.mappingRules[1].type");
        let d = e(json!({"name": "p", "steps": [{"type": "FILTER", "errorHandling": "IGNORE", "config": {"condition": "true"}}]}));
        assert_eq!(d.path, "$.steps[0].errorHandling");
        let d = e(json!({"name": "p", "bogus": 1, "steps": []}));
        assert!(d.message.contains("bogus"), "{d}");
        let d =
            e(json!({"name": "p", "steps": [{"type": "MAP", "config": {"mappingRules": [{"type": "FIELD_RENAME", "source": "a", "target": "b", "x": 1}]}}]}));
        assert_eq!(d.path, "$.steps[0].config.mappingRules[0].x");
        assert!(d.message.contains('x'));
        let d = e(
            json!({"name": "p", "steps": [{"type": "MAP", "config": {"rules": [{"type": "FIELD_TRANSFORM", "field": "a", "transformation": {"function": "lower", "separator": ","}}]}}]}),
        );
        assert_eq!(d.path, "$.steps[0].config.mappingRules[0].transformation.separator");
    }

    #[test]
    fn qualified_names() {
        assert_eq!(
            QualName::parse("Foo.Bar", "$").unwrap(),
            QualName {
                schema: Some("foo".into()),
                name: "bar".into()
            }
        );
        assert_eq!(
            QualName::parse("\"we\"\"ird.s\".\"x y\"", "$").unwrap(),
            QualName {
                schema: Some("we\"ird.s".into()),
                name: "x y".into()
            }
        );
        assert!(QualName::parse("a.b.c", "$").is_err());
        assert!(QualName::parse("a;drop", "$").is_ok()); // quoted on output, harmless
        assert!(QualName::parse("a b", "$").is_err());
    }

    #[test]
    fn full_definition_parses() {
        let p = parse(&json!({"name": "p", "batchSize": 10, "parallel": true, "steps": [
            {"type": "FILTER", "config": {"condition": "$.age >= 18"}},
            {"name": "m", "type": "MAP", "condition": "$.x == 1", "errorHandling": "SKIP", "config": {"mappingRules": [
                {"type": "FIELD_MERGE", "sourceFields": ["a", ["b.c"]], "targetField": "t", "mergeStrategy": "CONCAT", "separator": "-"},
                {"type": "CONDITIONAL_TRANSFORM", "condition": "$.a == 1", "rules": [{"type": "FIELD_TRANSFORM", "field": "a", "transformation": {"sqlFunction": "s.f"}}]},
                {"type": "LOOKUP_TRANSFORM", "keyField": "cc", "lookupTable": "public.countries", "lookupKey": "code", "lookupValue": "name", "targetField": "country"}]}},
            {"type": "AGGREGATE", "config": {"groupBy": ["country"], "aggregations": [{"op": "count", "as": "n"}]}}
        ]}))
        .unwrap();
        assert_eq!(p.steps.len(), 3);
        assert_eq!(p.steps[1].error_handling, ErrorMode::Skip);
    }
}

/// `run_pipeline` / `pipeline_preview` options.
#[derive(Debug, Clone, Deserialize, Default, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunOptions {
    /// Entity type to read (default: the definition's entityType).
    #[serde(default)]
    pub entity_type: Option<String>,
    /// Entity type for documents a pipeline creates (AGGREGATE, batch CUSTOM).
    #[serde(default)]
    pub output_entity_type: Option<String>,
    #[serde(default)]
    pub batch_size: Option<i64>,
    /// Start a new run even if an unfinished one exists (it is marked ABANDONED).
    #[serde(default)]
    pub restart: bool,
    /// lock_timeout for row locks on the entity store, milliseconds (retried with backoff).
    #[serde(default)]
    pub lock_timeout_ms: Option<i64>,
    /// A query returning `(id uuid, document jsonb)` rows to read (run as the caller).
    #[serde(default)]
    pub query: Option<String>,
    /// Processes working the run (a parallel pipeline): this session and workers - 1
    /// background workers.
    #[serde(default)]
    pub workers: Option<i64>,
    /// Join this running run (what a background worker does), else do nothing.
    #[serde(default)]
    pub join: Option<String>,
}

/// A UUID in its text form (hyphens optional, as PostgreSQL reads it).
fn is_uuid(s: &str) -> bool {
    let hex: Vec<char> = s.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.iter().all(|c| c.is_ascii_hexdigit()) && s.len() <= 36
}

/// A source query: non-empty SQL text without NUL bytes (PostgreSQL parses the rest).
fn check_query(q: Option<&str>, path: &str) -> Result<(), DefError> {
    match q {
        Some(q) if q.trim().trim_end_matches(';').trim().is_empty() || q.contains('\0') => {
            err(path, "a source query must be a SELECT returning (id uuid, document jsonb)")
        }
        _ => Ok(()),
    }
}

pub fn parse_options(v: &Value) -> Result<RunOptions, DefError> {
    if v.is_null() {
        return Ok(RunOptions::default());
    }
    as_object(v, "$", "run options")?;
    if v.get("join").is_some_and(Value::is_null) {
        return err("$.join", "join names a run by its id (a uuid), not null");
    }
    let o: RunOptions = typed(v, "$")?;
    if let Some(b) = o.batch_size {
        if !(1..=1_000_000).contains(&b) {
            return err("$.batchSize", format!("batchSize must be between 1 and 1000000, not {b}"));
        }
    }
    if let Some(t) = o.lock_timeout_ms {
        if !(1..=600_000).contains(&t) {
            return err("$.lockTimeoutMs", format!("lockTimeoutMs must be between 1 and 600000, not {t}"));
        }
    }
    check_query(o.query.as_deref(), "$.query")?;
    if let Some(w) = o.workers {
        if !(1..=64).contains(&w) {
            return err("$.workers", format!("workers must be between 1 and 64, not {w}"));
        }
    }
    if let Some(j) = &o.join {
        if !is_uuid(j) {
            return err("$.join", "join names a run by its id (a uuid)");
        }
        if o.restart || o.query.is_some() || o.batch_size.is_some() || o.entity_type.is_some() || o.output_entity_type.is_some() || o.workers.is_some() {
            return err(
                "$.join",
                "joining a run takes no other option than lockTimeoutMs: the run keeps the options it started with",
            );
        }
    }
    for (p, s) in [("$.entityType", &o.entity_type), ("$.outputEntityType", &o.output_entity_type)] {
        if s.as_deref().is_some_and(|s| s.is_empty() || s.contains('\0')) {
            return err(p, "an entity type must be a non-empty name");
        }
    }
    Ok(o)
}
