//! Compiles a parsed pipeline into SQL: one materialized CTE chain over the batch
//! `s0(ord, entity_id, doc, c)`, each step's output a CTE named in `step_out`, so the
//! runner can evaluate the whole pipeline (or a prefix of it, to find the step an item
//! failed in) over any slice of a batch in one statement. Mapping rules are chained with
//! `LATERAL (... OFFSET 0)` so each rule's input is evaluated once; lookups and joins are
//! one hash/semi join per batch; conditions are PostgreSQL's own `jsonb_path_match`.
//! Every name is quoted, every value a literal built here (E'' strings, so the result
//! does not depend on standard_conforming_strings).

use super::def::*;
use serde_json::Value;

/// A compiled pipeline.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Text following `WITH s0 AS (...)`: every step's CTEs, each starting with ", ".
    pub steps_sql: Vec<String>,
    /// The CTE holding each step's output.
    pub step_out: Vec<String>,
    /// Every jsonpath the pipeline uses, with the JSON path of the definition naming it.
    pub jsonpaths: Vec<(String, String)>,
    /// Functions the pipeline calls: (definition path, quoted name, argument type).
    pub functions: Vec<(String, String, &'static str)>,
    /// Tables the pipeline reads: (definition path, quoted name).
    pub tables: Vec<(String, String)>,
    /// An AGGREGATE step (or a batch CUSTOM step) sees the whole input at once.
    pub whole_input: bool,
    /// Only FILTER and MAP steps whose rules are built in (no SQL function, no lookup): the
    /// SQL calls nothing but PostgreSQL's and pg_migrate's own functions on the document,
    /// so it may run inside the runner's own statement (see pipeline_fused.sql).
    pub builtin_only: bool,
}

fn rule_is_builtin(r: &Rule) -> bool {
    match r {
        Rule::Rename { .. } | Rule::Merge { .. } => true,
        Rule::Transform { transformation, .. } => !matches!(transformation, Transformation::Sql { .. }),
        Rule::Conditional { rules, .. } => rules.iter().all(rule_is_builtin),
        Rule::Lookup(_) => false,
    }
}

/// See `Compiled::builtin_only`.
pub fn builtin_only(p: &Pipeline) -> bool {
    p.steps.iter().all(|s| match &s.kind {
        StepKind::Map(rules) => rules.iter().all(rule_is_builtin),
        StepKind::Filter(_) => true,
        _ => false,
    })
}

pub fn lit(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn qual(q: &QualName) -> String {
    match &q.schema {
        Some(s) => format!("{}.{}", ident(s), ident(&q.name)),
        None => ident(&q.name),
    }
}

fn path_lit(p: &[String]) -> String {
    let parts: Vec<String> = p.iter().map(|s| lit(s)).collect();
    format!("ARRAY[{}]::text[]", parts.join(","))
}

fn jsonb_lit(v: &Value) -> String {
    format!("{}::jsonb", lit(&v.to_string()))
}

fn get(x: &str, p: &[String]) -> String {
    if p.len() == 1 {
        format!("({x} -> {})", lit(&p[0]))
    } else {
        format!("({x} #> {})", path_lit(p))
    }
}

fn get_text(x: &str, p: &[String]) -> String {
    if p.len() == 1 {
        format!("({x} ->> {})", lit(&p[0]))
    } else {
        format!("({x} #>> {})", path_lit(p))
    }
}

/// `x` with `v` at path `p`, creating missing parent objects. A parent that is there but is
/// not an object (a string, a number, null, or an array where a key is named) is an error
/// for the document: `jsonb_set` would return the document unchanged, and a rename or a
/// merge that then removes its source would lose the value.
fn set(x: &str, p: &[String], v: &str) -> String {
    if p.len() == 1 {
        return format!("({x} || pg_catalog.jsonb_build_object({}, {v}))", lit(&p[0]));
    }
    let shape_error = |upto: usize, found: &str| {
        format!(
            "pgmigrate._pipeline_shape_error({}, {found})",
            lit(&format!("cannot write field \"{}\": \"{}\" is", p.join("."), p[..upto].join(".")))
        )
    };
    // Parents missing: build them, each level from what exists (an object, or nothing).
    let mut built = format!("pg_catalog.jsonb_build_object({}, {v})", lit(&p[p.len() - 1]));
    for i in (1..p.len()).rev() {
        let g = get(x, &p[..i]);
        let existing = format!(
            "(CASE WHEN {g} IS NULL THEN '{{}}'::jsonb WHEN pg_catalog.jsonb_typeof({g}) = 'object' THEN {g} ELSE {} END)",
            shape_error(i, &g)
        );
        built = format!("pg_catalog.jsonb_build_object({}, {existing} || {built})", lit(&p[i - 1]));
    }
    let parent = get(x, &p[..p.len() - 1]);
    format!(
        "(CASE WHEN pg_catalog.jsonb_typeof({parent}) = 'object' THEN pg_catalog.jsonb_set({x}, {}, {v}, true) \
         WHEN {parent} IS NULL THEN {x} || {built} ELSE {} END)",
        path_lit(p),
        shape_error(p.len() - 1, &parent)
    )
}

fn remove(x: &str, p: &[String]) -> String {
    if p.len() == 1 {
        format!("({x} - {})", lit(&p[0]))
    } else {
        format!("({x} #- {})", path_lit(p))
    }
}

fn cond(x: &str, jsonpath: &str) -> String {
    format!(
        "coalesce(pg_catalog.jsonb_path_match({x}, {}::jsonpath, '{{}}'::jsonb, true), false)",
        lit(jsonpath)
    )
}

fn transform_value(t: &Transformation, v: &str) -> String {
    let vt = format!("({v} #>> '{{}}')");
    let strings_only = |e: String| format!("CASE WHEN pg_catalog.jsonb_typeof({v}) = 'string' THEN {e} ELSE {v} END");
    let e = match t {
        Transformation::Lower => strings_only(format!("pg_catalog.to_jsonb(pg_catalog.lower({vt}))")),
        Transformation::Upper => strings_only(format!("pg_catalog.to_jsonb(pg_catalog.upper({vt}))")),
        Transformation::Trim => strings_only(format!("pg_catalog.to_jsonb(pg_catalog.btrim({vt}))")),
        Transformation::ToNumber => format!("pgmigrate._pipeline_number({vt})"),
        Transformation::ToBoolean => format!("pg_catalog.to_jsonb({vt}::boolean)"),
        Transformation::ToString => {
            format!("CASE WHEN pg_catalog.jsonb_typeof({v}) IN ('object', 'array') THEN pg_catalog.to_jsonb({v}::text) ELSE pg_catalog.to_jsonb({vt}) END")
        }
        Transformation::Split { separator } => strings_only(format!("pg_catalog.to_jsonb(pg_catalog.string_to_array({vt}, {}))", lit(separator))),
        Transformation::Concat { prefix, suffix } => {
            format!("pg_catalog.to_jsonb({} || {vt} || {})", lit(prefix), lit(suffix))
        }
        Transformation::DateFormat { from, to } => {
            let ts = match from {
                Some(f) => format!("pg_catalog.to_timestamp({vt}, {})", lit(f)),
                None => format!("pgmigrate._pipeline_timestamp({vt})"),
            };
            format!("pg_catalog.to_jsonb(pg_catalog.to_char({ts}, {}))", lit(to))
        }
        Transformation::Default { .. } => unreachable!("default is compiled by the rule"),
        Transformation::Sql { function } => format!("{}({v})", qual(function)),
    };
    format!("coalesce({e}, 'null'::jsonb)")
}

fn merge_value(seg: &mut Segment, strategy: &MergeStrategy, x: &str, sources: &[DocPath]) -> String {
    match strategy {
        MergeStrategy::Concat { separator } => {
            let parts: Vec<String> = sources.iter().map(|p| get_text(x, p)).collect();
            format!("pg_catalog.to_jsonb(pg_catalog.concat_ws({}, {}))", lit(separator), parts.join(", "))
        }
        MergeStrategy::Object => {
            let parts: Vec<String> = sources
                .iter()
                .map(|p| format!("{}, {}", lit(p.last().map_or("", |s| s.as_str())), get(x, p)))
                .collect();
            format!("pg_catalog.jsonb_build_object({})", parts.join(", "))
        }
        MergeStrategy::Array => {
            let parts: Vec<String> = sources.iter().map(|p| get(x, p)).collect();
            format!(
                "coalesce((SELECT pg_catalog.jsonb_agg(u.e ORDER BY u.n) FROM pg_catalog.unnest(ARRAY[{}]::jsonb[]) WITH ORDINALITY u(e, n) WHERE u.e IS NOT NULL), '[]'::jsonb)",
                parts.join(", ")
            )
        }
        MergeStrategy::FirstNonNull => {
            let parts: Vec<String> = sources.iter().map(|p| format!("nullif({}, 'null'::jsonb)", get(x, p))).collect();
            format!("coalesce({}, 'null'::jsonb)", parts.join(", "))
        }
        MergeStrategy::DeepMerge => {
            // Missing sources are left out (an empty object in their place would replace a
            // scalar source); nothing there at all gives an empty object.
            let mut acc = seg.push(get(x, &sources[0]));
            for p in &sources[1..] {
                let v = get(x, p);
                acc = seg.push(format!("coalesce(pgmigrate.jsonb_deep_merge({acc}, {v}), {acc}, {v})"));
            }
            format!("coalesce({acc}, '{{}}'::jsonb)")
        }
    }
}

struct Ctx<'a> {
    out: &'a mut Compiled,
    /// Step path in the definition, for naming jsonpaths and functions.
    path: String,
}

/// One lateral-chain segment being built: laterals over `prev`.
struct Segment {
    laterals: Vec<String>,
    cur: String,
    n: usize,
    cte: String,
}

impl Segment {
    fn push(&mut self, expr: String) -> String {
        self.n += 1;
        let name = format!("{}_r{}", self.cte, self.n);
        self.laterals.push(format!("CROSS JOIN LATERAL (SELECT {expr} AS v OFFSET 0) {name}"));
        format!("{name}.v")
    }
    fn doc(&mut self, expr: String, guard: Option<&str>) {
        let e = match guard {
            Some(g) => format!("CASE WHEN {g} THEN {expr} ELSE {} END", self.cur),
            None => expr,
        };
        self.cur = self.push(e);
    }
}

fn compile_rule(ctx: &mut Ctx, seg: &mut Segment, rule: &Rule, guard: Option<&str>, rpath: &str) {
    let x = seg.cur.clone();
    match rule {
        Rule::Rename { source, target } => {
            if source == target {
                return;
            }
            let e = if source.len() == 1 && target.len() == 1 {
                format!(
                    "({x} - {}) || pg_catalog.jsonb_build_object({}, {x} -> {})",
                    lit(&source[0]),
                    lit(&target[0]),
                    lit(&source[0])
                )
            } else {
                set(&remove(&x, source), target, &get(&x, source))
            };
            seg.doc(format!("CASE WHEN {} IS NULL THEN {x} ELSE {e} END", get(&x, source)), guard);
        }
        Rule::Transform {
            field,
            transformation: Transformation::Default { value },
        } => {
            seg.doc(
                format!("CASE WHEN {} IS NULL THEN {} ELSE {x} END", get(&x, field), set(&x, field, &jsonb_lit(value))),
                guard,
            );
        }
        Rule::Transform { field, transformation } => {
            if let Transformation::Sql { function } = transformation {
                ctx.out.functions.push((format!("{rpath}.transformation.sqlFunction"), qual(function), "jsonb"));
            }
            let v = get(&x, field);
            let nv = transform_value(transformation, &v);
            let e = if field.len() == 1 {
                format!("({x} || pg_catalog.jsonb_build_object({}, {nv}))", lit(&field[0]))
            } else {
                format!("pg_catalog.jsonb_set({x}, {}, {nv}, false)", path_lit(field))
            };
            seg.doc(format!("CASE WHEN {v} IS NULL THEN {x} ELSE {e} END"), guard);
        }
        Rule::Merge {
            sources,
            target,
            strategy,
            remove_sources,
        } => {
            let merged = merge_value(seg, strategy, &x, sources);
            seg.doc(set(&x, target, &merged), guard);
            if *remove_sources {
                let mut e = seg.cur.clone();
                // A source at, under or above the target is where the merged value now is.
                let apart = |s: &DocPath| !s.starts_with(target) && !target.starts_with(s);
                for s in sources.iter().filter(|s| apart(s)) {
                    e = remove(&e, s);
                }
                seg.doc(e, guard);
            }
        }
        Rule::Conditional { condition, rules } => {
            ctx.out.jsonpaths.push((format!("{rpath}.condition"), condition.clone()));
            let c = seg.push(cond(&x, condition));
            let g = match guard {
                Some(g) => format!("({g} AND {c})"),
                None => c,
            };
            for (i, r) in rules.iter().enumerate() {
                compile_rule(ctx, seg, r, Some(&g), &format!("{rpath}.rules[{i}]"));
            }
        }
        Rule::Lookup(_) => unreachable!("lookups are their own segment"),
    }
}

/// The keys a rule reads and writes, when it is a top-level rename or transform.
fn flat_keys(r: &Rule) -> Option<Vec<&str>> {
    match r {
        Rule::Rename { source, target } if source.len() == 1 && target.len() == 1 && source != target => Some(vec![source[0].as_str(), target[0].as_str()]),
        Rule::Transform { field, .. } if field.len() == 1 => Some(vec![field[0].as_str()]),
        _ => None,
    }
}

/// How many rules from the start can be applied as one rewrite: top-level renames and
/// transforms touching pairwise distinct keys (so their order does not matter).
fn flat_group_len(rules: &[Rule]) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    let mut n = 0;
    for r in rules {
        let Some(keys) = flat_keys(r) else { break };
        if keys.iter().any(|k| seen.contains(k)) {
            break;
        }
        seen.extend(keys);
        n += 1;
    }
    n
}

/// `(x - removed) || (jsonb_build_object(new keys) - keys whose source is missing)`:
/// equal to applying the rules one by one, with two rewrites of the document.
fn flat_group(x: &str, rules: &[Rule]) -> String {
    let mut removed = Vec::new();
    let mut built = Vec::new();
    let mut unset = Vec::new();
    for r in rules {
        match r {
            Rule::Rename { source, target } => {
                removed.push(lit(&source[0]));
                built.push(format!("{}, {}", lit(&target[0]), get(x, source)));
                unset.push(format!("CASE WHEN {} IS NULL THEN {} END", get(x, source), lit(&target[0])));
            }
            Rule::Transform {
                field,
                transformation: Transformation::Default { value },
            } => {
                built.push(format!("{}, {}", lit(&field[0]), jsonb_lit(value)));
                unset.push(format!("CASE WHEN {} IS NOT NULL THEN {} END", get(x, field), lit(&field[0])));
            }
            Rule::Transform { field, transformation } => {
                let v = get(x, field);
                built.push(format!("{}, {}", lit(&field[0]), transform_value(transformation, &v)));
                unset.push(format!("CASE WHEN {v} IS NULL THEN {} END", lit(&field[0])));
            }
            _ => unreachable!("only flat rules are grouped"),
        }
    }
    let base = if removed.is_empty() {
        x.to_string()
    } else {
        format!("({x} - ARRAY[{}]::text[])", removed.join(", "))
    };
    format!(
        "({base} || (pg_catalog.jsonb_build_object({}) - ARRAY[{}]::text[]))",
        built.join(", "),
        unset.join(", ")
    )
}

/// `SELECT DISTINCT ON (k) k, v` from a lookup/join source, restricted to the batch's keys
/// (several rows under one key: the least value as text, the same in every batch).
fn keyed_source(src: &Source, key: &[String], value_sql: &dyn Fn(&str) -> String, keys_from: &str) -> String {
    match src {
        Source::Table(q) => {
            let k = format!("(t.{})::text", ident(&key[0]));
            format!(
                "SELECT DISTINCT ON (q.k) q.k, q.v FROM (SELECT {k} AS k, {} AS v FROM {} t WHERE {k} IN ({keys_from})) q ORDER BY q.k, q.v::text",
                value_sql("t"),
                qual(q)
            )
        }
        Source::Entity(e) => {
            let k = get_text("t.content", key);
            format!(
                "SELECT DISTINCT ON (q.k) q.k, q.v FROM (SELECT {k} AS k, {} AS v FROM pgmigrate.temporal_entities t \
                 WHERE t.entity_type = {} AND t.valid_to = 'infinity' AND NOT t.is_deleted AND {k} IN ({keys_from})) q ORDER BY q.k, q.v::text",
                value_sql("t"),
                lit(e)
            )
        }
    }
}

fn compile_map(ctx: &mut Ctx, prev: &str, step_no: usize, step: &Step, rules: &[Rule]) -> (String, String) {
    let mut sql = String::new();
    let mut prev = prev.to_string();
    let mut seg_no = 0;
    let mut i = 0;
    let mut first = true;
    while i < rules.len() || first {
        seg_no += 1;
        let cte = format!("s{step_no}_{seg_no}");
        if i < rules.len() {
            if let Rule::Lookup(l) = &rules[i] {
                let rpath = format!("{}.config.mappingRules[{i}]", ctx.path);
                let c = if first {
                    step.condition.as_ref().map_or("true".into(), |c| cond("p.doc", c))
                } else {
                    "p.c".into()
                };
                if first {
                    if let Some(cn) = &step.condition {
                        ctx.out.jsonpaths.push((format!("{}.condition", ctx.path), cn.clone()));
                    }
                }
                if let Source::Table(q) = &l.source {
                    ctx.out.tables.push((format!("{rpath}.lookupTable"), qual(q)));
                }
                let lv = l.lookup_value.clone();
                let is_table = matches!(l.source, Source::Table(_));
                let value_sql = move |t: &str| {
                    if is_table {
                        format!("pg_catalog.to_jsonb({t}.{})", ident(&lv[0]))
                    } else {
                        get(&format!("{t}.content"), &lv)
                    }
                };
                let keys = format!("SELECT {} FROM {prev} s2", get_text("s2.doc", &l.key_field));
                let miss = match &l.default {
                    Some(d) => set("s.doc", &l.target, &jsonb_lit(d)),
                    None => "s.doc".into(),
                };
                sql.push_str(&format!(
                    ", {cte} AS MATERIALIZED (SELECT s.ord, s.entity_id, CASE WHEN NOT s.c THEN s.doc WHEN j.k IS NULL THEN {miss} \
                     ELSE {} END AS doc, s.c FROM (SELECT p.ord, p.entity_id, p.doc, {c} AS c FROM {prev} p) s \
                     LEFT JOIN ({}) j ON j.k = {})",
                    set("s.doc", &l.target, "coalesce(j.v, 'null'::jsonb)"),
                    keyed_source(&l.source, &l.lookup_key, &value_sql, &keys),
                    get_text("s.doc", &l.key_field),
                ));
                let _ = c;
                prev = cte;
                i += 1;
                first = false;
                continue;
            }
        }
        // A run of non-lookup rules: one lateral chain.
        let mut seg = Segment {
            laterals: Vec::new(),
            cur: "s.doc".into(),
            n: 0,
            cte: cte.clone(),
        };
        let (cexpr, guard) = if first {
            match &step.condition {
                Some(cn) => {
                    ctx.out.jsonpaths.push((format!("{}.condition", ctx.path), cn.clone()));
                    let g = seg.push(cond("s.doc", cn));
                    (g.clone(), Some(g))
                }
                None => ("true".to_string(), None),
            }
        } else {
            ("s.c".to_string(), Some("s.c".to_string()))
        };
        while i < rules.len() && !matches!(rules[i], Rule::Lookup(_)) {
            // Consecutive top-level renames and transforms on distinct keys: one rewrite
            // of the document instead of one per rule.
            let n = flat_group_len(&rules[i..]);
            if n >= 2 {
                for (k, r) in rules[i..i + n].iter().enumerate() {
                    if let Rule::Transform {
                        transformation: Transformation::Sql { function },
                        ..
                    } = r
                    {
                        let rpath = format!("{}.config.mappingRules[{}]", ctx.path, i + k);
                        ctx.out.functions.push((format!("{rpath}.transformation.sqlFunction"), qual(function), "jsonb"));
                    }
                }
                let x = seg.cur.clone();
                seg.doc(flat_group(&x, &rules[i..i + n]), guard.as_deref());
                i += n;
                continue;
            }
            let rpath = format!("{}.config.mappingRules[{i}]", ctx.path);
            compile_rule(ctx, &mut seg, &rules[i], guard.as_deref(), &rpath);
            i += 1;
        }
        sql.push_str(&format!(
            ", {cte} AS MATERIALIZED (SELECT s.ord, s.entity_id, {} AS doc, {cexpr} AS c FROM {prev} s {})",
            seg.cur,
            seg.laterals.join(" ")
        ));
        prev = cte;
        first = false;
    }
    (sql, prev)
}

pub fn compile(p: &Pipeline) -> Compiled {
    let mut out = Compiled {
        builtin_only: builtin_only(p),
        ..Compiled::default()
    };
    let mut prev = "s0".to_string();
    for (k, step) in p.steps.iter().enumerate() {
        let n = k + 1;
        let path = format!("$.steps[{k}]");
        let cte = format!("s{n}");
        let mut ctx = Ctx {
            out: &mut out,
            path: path.clone(),
        };
        let (sql, last) = match &step.kind {
            StepKind::Map(rules) => compile_map(&mut ctx, &prev, n, step, rules),
            StepKind::Filter(c) => {
                ctx.out.jsonpaths.push((format!("{path}.config.condition"), c.clone()));
                (
                    format!(
                        ", {cte} AS (SELECT s.ord, s.entity_id, s.doc, true AS c FROM {prev} s WHERE {})",
                        cond("s.doc", c)
                    ),
                    cte,
                )
            }
            StepKind::Custom(c) if !c.batch => {
                ctx.out.functions.push((format!("{path}.config.function"), qual(&c.function), "jsonb"));
                let applied = match &step.condition {
                    Some(cn) => {
                        ctx.out.jsonpaths.push((format!("{path}.condition"), cn.clone()));
                        format!("CASE WHEN {} THEN {}(s.doc) ELSE s.doc END", cond("s.doc", cn), qual(&c.function))
                    }
                    None => format!("{}(s.doc)", qual(&c.function)),
                };
                // SQL NULL drops the document; anything else but an object is its error.
                let checked = format!(
                    "CASE WHEN pg_catalog.jsonb_typeof(q.doc) = 'object' THEN q.doc ELSE pgmigrate._pipeline_shape_error({}, q.doc) END",
                    lit(&format!("function {} returned", qual(&c.function)))
                );
                (
                    format!(
                        ", {cte} AS MATERIALIZED (SELECT q.ord, q.entity_id, {checked} AS doc, true AS c FROM \
                         (SELECT s.ord, s.entity_id, {applied} AS doc FROM {prev} s OFFSET 0) q WHERE q.doc IS NOT NULL)"
                    ),
                    cte,
                )
            }
            StepKind::Custom(c) => {
                ctx.out.functions.push((format!("{path}.config.function"), qual(&c.function), "jsonb[]"));
                ctx.out.whole_input = true;
                (
                    format!(
                        ", {cte} AS MATERIALIZED (SELECT CASE WHEN b.n = pg_catalog.cardinality(b.a) THEN b.ords[o.i] END AS ord, \
                         CASE WHEN b.n = pg_catalog.cardinality(b.a) THEN b.ids[o.i] END AS entity_id, \
                         CASE WHEN pg_catalog.jsonb_typeof(o.doc) = 'object' THEN o.doc ELSE pgmigrate._pipeline_shape_error({}, o.doc) END AS doc, true AS c \
                         FROM (SELECT {}(pg_catalog.array_agg(s.doc ORDER BY s.ord)) AS a, pg_catalog.array_agg(s.ord ORDER BY s.ord) AS ords, \
                         pg_catalog.array_agg(s.entity_id ORDER BY s.ord) AS ids, pg_catalog.count(*) AS n FROM {prev} s) b \
                         CROSS JOIN LATERAL pg_catalog.unnest(b.a) WITH ORDINALITY o(doc, i) WHERE o.doc IS NOT NULL)",
                        lit(&format!("function {} returned an element that is", qual(&c.function))),
                        qual(&c.function)
                    ),
                    cte,
                )
            }
            StepKind::Aggregate(a) => {
                ctx.out.whole_input = true;
                let mut cols = Vec::new();
                let mut obj = Vec::new();
                for (i, (name, gp)) in a.group_by.iter().enumerate() {
                    // (A missing key and a JSON null are one group: both print as null.)
                    cols.push(format!("nullif({}, 'null'::jsonb) AS g{i}", get("s.doc", gp)));
                    obj.push(format!("{}, g.g{i}", lit(name)));
                }
                let ngroups = cols.len();
                for (i, ag) in a.aggregations.iter().enumerate() {
                    let v = ag.path.as_ref().map(|p| get("s.doc", p));
                    let vt = ag.path.as_ref().map(|p| get_text("s.doc", p));
                    let e = match ag.op {
                        AggOp::Count => match &v {
                            Some(v) => format!("pg_catalog.count({v})"),
                            None => "pg_catalog.count(*)".into(),
                        },
                        AggOp::Sum => {
                            format!("pg_catalog.sum(({})::numeric)", vt.unwrap_or_default())
                        }
                        AggOp::Avg => {
                            format!("pg_catalog.avg(({})::numeric)", vt.unwrap_or_default())
                        }
                        // jsonb has an order but no min/max aggregates. JSON nulls are left out, as
                        // missing values are (null sorts first: it was every min).
                        AggOp::Min => {
                            let v = v.unwrap_or_default();
                            format!("(pg_catalog.array_agg({v} ORDER BY {v}) FILTER (WHERE {v} <> 'null'::jsonb))[1]")
                        }
                        AggOp::Max => {
                            let v = v.unwrap_or_default();
                            format!("(pg_catalog.array_agg({v} ORDER BY {v} DESC) FILTER (WHERE {v} <> 'null'::jsonb))[1]")
                        }
                        AggOp::Array => {
                            let v = v.unwrap_or_default();
                            format!("coalesce(pg_catalog.jsonb_agg({v}) FILTER (WHERE {v} IS NOT NULL), '[]'::jsonb)")
                        }
                        AggOp::Object => {
                            let v = v.unwrap_or_default();
                            let k = get_text("s.doc", ag.key_path.as_deref().unwrap_or_default());
                            format!("coalesce(pg_catalog.jsonb_object_agg({k}, {v}) FILTER (WHERE {k} IS NOT NULL), '{{}}'::jsonb)")
                        }
                    };
                    cols.push(format!("{e} AS a{i}"));
                    obj.push(format!("{}, pg_catalog.to_jsonb(g.a{i})", lit(&ag.name)));
                }
                let group = if ngroups == 0 {
                    // (One document for the whole input, and none for no input: an empty
                    // batch, or every document skipped, wrote {"n": 0}.)
                    " HAVING pg_catalog.count(*) > 0".to_string()
                } else {
                    format!(" GROUP BY {}", (1..=ngroups).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
                };
                (
                    format!(
                        ", {cte} AS MATERIALIZED (SELECT NULL::integer AS ord, NULL::uuid AS entity_id, pg_catalog.jsonb_build_object({}) AS doc, \
                         true AS c FROM (SELECT {} FROM {prev} s{group}) g)",
                        obj.join(", "),
                        cols.join(", ")
                    ),
                    cte,
                )
            }
            StepKind::Join(j) => {
                if let Source::Table(q) = &j.source {
                    ctx.out.tables.push((format!("{path}.config.table"), qual(q)));
                }
                let fields = j.fields.clone();
                let is_table = matches!(j.source, Source::Table(_));
                let value_sql = move |t: &str| {
                    if fields.is_empty() {
                        return if is_table {
                            format!("pg_catalog.to_jsonb({t}.*)")
                        } else {
                            format!("{t}.content")
                        };
                    }
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(n, p)| {
                            let v = if is_table {
                                format!("pg_catalog.to_jsonb({t}.{})", ident(&p[0]))
                            } else {
                                get(&format!("{t}.content"), p)
                            };
                            format!("{}, {v}", lit(n))
                        })
                        .collect();
                    format!("pg_catalog.jsonb_build_object({})", parts.join(", "))
                };
                let keys = format!("SELECT {} FROM {prev} s2", get_text("s2.doc", &j.left));
                let c = match &step.condition {
                    Some(cn) => {
                        ctx.out.jsonpaths.push((format!("{path}.condition"), cn.clone()));
                        cond("s.doc", cn)
                    }
                    None => "true".into(),
                };
                let merged = match &j.into {
                    Some(into) => set("s.doc", into, "j.v"),
                    None => "(s.doc || j.v)".into(),
                };
                let inner = if j.inner {
                    format!(" WHERE j.k IS NOT NULL OR NOT {c}")
                } else {
                    String::new()
                };
                (
                    format!(
                        ", {cte} AS MATERIALIZED (SELECT s.ord, s.entity_id, CASE WHEN j.k IS NULL THEN s.doc ELSE {merged} END AS doc, true AS c \
                         FROM {prev} s LEFT JOIN ({}) j ON j.k = {} AND {c}{inner})",
                        keyed_source(&j.source, &j.right, &value_sql, &keys),
                        get_text("s.doc", &j.left)
                    ),
                    cte,
                )
            }
        };
        out.steps_sql.push(sql);
        out.step_out.push(last.clone());
        prev = last;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_and_names_are_quoted() {
        assert_eq!(lit("a'b\\c"), "E'a''b\\\\c'");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(
            qual(&QualName {
                schema: Some("s".into()),
                name: "f".into()
            }),
            "\"s\".\"f\""
        );
    }

    #[test]
    fn compiles_a_chain() {
        let p = parse(&json!({"name": "p", "steps": [
            {"type": "FILTER", "config": {"condition": "$.age >= 18"}},
            {"type": "MAP", "condition": "$.x == 1", "config": {"mappingRules": [
                {"type": "FIELD_RENAME", "source": "a", "target": "b"},
                {"type": "LOOKUP_TRANSFORM", "keyField": "cc", "lookupTable": "public.countries", "lookupKey": "code", "lookupValue": "name", "targetField": "country"},
                {"type": "FIELD_TRANSFORM", "field": ["x", "y"], "transformation": {"sqlFunction": "s.f"}}]}},
            {"type": "AGGREGATE", "config": {"groupBy": ["country"], "aggregations": [{"op": "count", "as": "n"}]}}
        ]}))
        .unwrap();
        let c = compile(&p);
        assert_eq!(c.step_out, vec!["s1", "s2_3", "s3"]);
        assert!(c.whole_input);
        assert!(!c.builtin_only);
        assert_eq!(c.jsonpaths.len(), 2);
        assert_eq!(c.functions[0].1, "\"s\".\"f\"");
        assert_eq!(c.tables[0].0, "$.steps[1].config.mappingRules[1].lookupTable");
        let all = c.steps_sql.concat();
        assert!(all.contains("OFFSET 0"));
        assert!(all.contains("\"public\".\"countries\""));
    }

    #[test]
    fn flat_rules_group_only_on_distinct_keys() {
        let p = parse(&json!({"name": "p", "steps": [{"type": "MAP", "config": {"mappingRules": [
            {"type": "FIELD_RENAME", "source": "a", "target": "b"},
            {"type": "FIELD_TRANSFORM", "field": "c", "transformation": "lower"},
            {"type": "FIELD_TRANSFORM", "field": "b", "transformation": "upper"},
            {"type": "FIELD_RENAME", "source": "x.y", "target": "z"}]}}]}))
        .unwrap();
        let StepKind::Map(rules) = &p.steps[0].kind else { panic!() };
        assert_eq!(flat_group_len(rules), 2);
        assert_eq!(flat_group_len(&rules[2..]), 1);
        assert_eq!(flat_group_len(&rules[3..]), 0);
        let g = flat_group("d", &rules[..2]);
        assert!(
            g.starts_with("((d - ARRAY[E'a']::text[]) || (pg_catalog.jsonb_build_object(E'b', (d -> E'a'), E'c', "),
            "{g}"
        );
    }

    #[test]
    fn builtin_only_pipelines() {
        let ok = parse(&json!({"name": "p", "steps": [
            {"type": "FILTER", "config": {"condition": "$.age >= 18"}},
            {"type": "MAP", "config": {"mappingRules": [
                {"type": "FIELD_RENAME", "source": "a", "target": "b"},
                {"type": "CONDITIONAL_TRANSFORM", "condition": "$.x == 1", "rules": [
                    {"type": "FIELD_TRANSFORM", "field": "c", "transformation": "lower"}]}]}}]}))
        .unwrap();
        assert!(compile(&ok).builtin_only);
        for step in [
            json!({"type": "MAP", "config": {"mappingRules": [{"type": "CONDITIONAL_TRANSFORM", "condition": "$.x == 1", "rules": [
                {"type": "FIELD_TRANSFORM", "field": "c", "transformation": {"sqlFunction": "s.f"}}]}]}}),
            json!({"type": "MAP", "config": {"mappingRules": [{"type": "LOOKUP_TRANSFORM", "keyField": "k", "lookupEntityType": "t",
                "lookupKey": "k", "lookupValue": "v", "targetField": "t"}]}}),
            json!({"type": "CUSTOM", "config": {"function": "s.f"}}),
            json!({"type": "AGGREGATE", "config": {"aggregations": [{"op": "count", "as": "n"}]}}),
        ] {
            let p = parse(&json!({"name": "p", "steps": [step]})).unwrap();
            assert!(!compile(&p).builtin_only, "{step}");
        }
    }

    #[test]
    fn nested_set_builds_parents() {
        let s = set("d", &["a".into(), "b".into()], "v");
        assert!(s.contains("jsonb_set(d, ARRAY[E'a',E'b']::text[], v, true)"));
        assert!(s.contains("IS NULL THEN d || pg_catalog.jsonb_build_object(E'a'"));
        // A parent that is there but not an object: the document's error, never jsonb_set
        // (which returns the document unchanged under a scalar).
        assert!(s.contains("ELSE pgmigrate._pipeline_shape_error(E'cannot write field \"a.b\": \"a\" is', (d -> E'a'))"));
        let deep = set("d", &["a".into(), "b".into(), "c".into()], "v");
        assert!(deep.contains("pgmigrate._pipeline_shape_error(E'cannot write field \"a.b.c\": \"a\" is', (d -> E'a'))"));
    }
}
