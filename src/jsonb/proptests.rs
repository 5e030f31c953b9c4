//! Property tests inside PostgreSQL: the native jsonb writer and `jsonb_deep_merge`
//! checked against PostgreSQL's own jsonb (jsonb_in, jsonb_out, `=`, btree and GIN).
//!
//! Random documents are modelled as `J`, rendered to JSON text (with or without
//! `\u` escapes) for PostgreSQL to parse, and built as `Out` trees for the writer.
//! The seed is fixed so a failure reproduces; proptest shrinks it to a small case.

use crate::jsonb::view::JsonView;
use crate::jsonb::{Jsonb, Out, Value, Writer};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestCaseResult, TestRng, TestRunner};
use std::fmt::Debug;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;

#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    /// JSON number text.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    /// Unique keys, in generation order.
    Obj(Vec<(String, J)>),
}

/// Text without NUL (jsonb refuses \u0000): control characters, quotes, backslashes,
/// every Unicode plane.
fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => proptest::char::range('a', 'e'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\n', '\t', '\u{1}', '\u{1f}', '\u{7f}', 'ü', 'к', '🙂', '\u{fffd}', '\u{10ffff}']),
        1 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
    ];
    prop::collection::vec(ch, 0..8).prop_map(|v| v.into_iter().collect())
}

/// Keys: a small alphabet (so merges overlap), the empty key, and hostile text.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["", "a", "b", "c", "aa", "ab", "ba", "bb", "abc"]).prop_map(String::from),
        1 => text(),
    ]
}

/// Numbers with many digits, exponents, trailing zeros, negative zero.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,24})?([eE][-+]?[0-9]{1,2})?",
        1 => "-?[1-9]0{0,30}(\\.0{1,20})?",
        1 => prop::sample::select(vec!["0", "-0", "-0.0", "1e0", "1E+2", "0.000", "123456789012345678901234567890.123456789012345678901234567890", "1e-99", "9e99"])
            .prop_map(String::from),
    ]
}

fn unique(pairs: Vec<(String, J)>) -> J {
    let mut out: Vec<(String, J)> = Vec::new();
    for (k, v) in pairs {
        if !out.iter().any(|(have, _)| *have == k) {
            out.push((k, v));
        }
    }
    J::Obj(out)
}

/// Any document: nested objects and arrays, empty containers, scalars at the root.
pub fn json(depth: u32, size: u32, width: usize) -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number().prop_map(J::Num),
        text().prop_map(J::Str),
    ];
    leaf.prop_recursive(depth, size, width as u32, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..width).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..width).prop_map(unique),
        ]
    })
}

/// Mostly objects, so merges recurse; sometimes anything.
fn merge_side(depth: u32, size: u32, width: usize) -> impl Strategy<Value = J> {
    prop_oneof![
        6 => prop::collection::vec((key(), json(depth, size, width)), 0..width).prop_map(unique),
        1 => json(depth, size, width),
    ]
}

/// JSON text for `j`; `escape` writes every non-ASCII character as `\u` escapes.
pub fn render(j: &J, escape: bool, out: &mut String) {
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(s) => render_str(s, escape, out),
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(v, escape, out);
            }
            out.push(']');
        }
        J::Obj(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render_str(k, escape, out);
                out.push_str(": ");
                render(v, escape, out);
            }
            out.push('}');
        }
    }
}

fn render_str(s: &str, escape: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if escape && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{:04X}", u);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn text_of(j: &J, escape: bool) -> String {
    let mut s = String::new();
    render(j, escape, &mut s);
    s
}

/// The merge `jsonb_deep_merge` promises, over the model: objects merge key by key,
/// anything else is `b`.
pub fn merge_ref(a: &J, b: &J) -> J {
    match (a, b) {
        (J::Obj(x), J::Obj(y)) => {
            let mut out: Vec<(String, J)> = Vec::new();
            for (k, v) in x {
                match y.iter().find(|(yk, _)| yk == k) {
                    Some((_, w)) => out.push((k.clone(), merge_ref(v, w))),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            for (k, w) in y {
                if !x.iter().any(|(xk, _)| xk == k) {
                    out.push((k.clone(), w.clone()));
                }
            }
            J::Obj(out)
        }
        _ => b.clone(),
    }
}

fn numbers<'j>(j: &'j J, out: &mut Vec<&'j str>) {
    match j {
        J::Num(n) => out.push(n),
        J::Arr(items) => items.iter().for_each(|v| numbers(v, out)),
        J::Obj(pairs) => pairs.iter().for_each(|(_, v)| numbers(v, out)),
        _ => {}
    }
}

/// PostgreSQL's jsonb for `text` (jsonb_in), copied out of SPI.
fn pg_jsonb(text: &str) -> Result<Jsonb, TestCaseError> {
    Spi::get_one_with_args::<Jsonb>("SELECT $1::jsonb", &[text.into()])
        .map_err(|e| TestCaseError::fail(format!("jsonb_in: {e}")))?
        .ok_or_else(|| TestCaseError::fail("jsonb_in returned NULL"))
}

/// `j` as an `Out` tree: strings from the model, numbers copied from `nums` (the
/// numerics PostgreSQL parsed, in document order).
fn to_out<'a>(j: &'a J, nums: &mut impl Iterator<Item = Value<'a>>) -> Out<'a> {
    match j {
        J::Null => Out::Value(Value::Null),
        J::Bool(b) => Out::Bool(*b),
        J::Num(_) => Out::Value(nums.next().expect("one parsed numeric per number")),
        J::Str(s) => Out::Str(s),
        J::Arr(items) => Out::Array(items.iter().map(|v| to_out(v, nums)).collect()),
        J::Obj(pairs) => Out::object(pairs.iter().map(|(k, v)| (k.as_str(), to_out(v, nums))).collect()),
    }
}

/// Write `j` with the native writer.
fn write(j: &J) -> Result<Jsonb, TestCaseError> {
    let mut ns = Vec::new();
    numbers(j, &mut ns);
    let parsed = pg_jsonb(&format!("[{}]", ns.join(",")))?;
    let elements = parsed.root().elements();
    let mut it = elements.into_iter();
    let out = to_out(j, &mut it);
    Ok(Writer::finish(&out))
}

/// `mine` is the same jsonb as PostgreSQL's `theirs`: same bytes, `=`, same text,
/// and it survives jsonb_out / jsonb_in unchanged.
fn same_as_postgres(mine: &Jsonb, theirs: &Jsonb) -> TestCaseResult {
    let (eq, same_text, reloads) = Spi::get_three_with_args::<bool, bool, bool>(
        "SELECT $1 = $2, $1::text = $2::text, $1::text::jsonb = $1 AND $1::text::jsonb::text = $1::text",
        &[mine.clone().into(), theirs.clone().into()],
    )
    .map_err(|e| TestCaseError::fail(format!("compare: {e}")))?;
    let text = |d: &Jsonb| {
        Spi::get_one_with_args::<String>("SELECT $1::text", &[d.clone().into()])
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    prop_assert_eq!(eq, Some(true), "= : {} vs {}", text(mine), text(theirs));
    prop_assert_eq!(same_text, Some(true), "text: {} vs {}", text(mine), text(theirs));
    prop_assert_eq!(reloads, Some(true), "reload: {}", text(mine));
    prop_assert!(mine.same_bytes(theirs), "bytes differ: {}", text(mine));
    Ok(())
}

/// proptest's runner inside a backend: a PostgreSQL ERROR in a case is caught and
/// reported as that case's failure (so the error state is cleaned up and shrinking works).
pub fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S::Value: Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&strategy, |value| {
        PgTryBuilder::new(AssertUnwindSafe(|| test(value)))
            .catch_others(|err| match err {
                CaughtError::PostgresError(e) | CaughtError::ErrorReport(e) | CaughtError::RustPanic { ereport: e, .. } => {
                    Err(TestCaseError::fail(e.message().to_owned()))
                }
            })
            .execute()
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn writer_matches_jsonb_in() {
        run(256, (json(4, 48, 6), any::<bool>()), |(j, escape)| {
            let mine = write(&j)?;
            let theirs = pg_jsonb(&text_of(&j, escape))?;
            same_as_postgres(&mine, &theirs)
        });
    }

    #[pg_test]
    fn scalar_roots_are_wrapped_as_jsonb_does() {
        for (out, text) in [
            (Out::Str("s\"\u{1F642}"), r#""s\"🙂""#),
            (Out::Bool(true), "true"),
            (Out::Value(Value::Null), "null"),
            (Out::Str(""), r#""""#),
        ] {
            let mine = Writer::finish(&out);
            let theirs = pg_jsonb(text).unwrap();
            assert!(mine.same_bytes(&theirs), "{text}");
            let kind = Spi::get_one_with_args::<String>("SELECT jsonb_typeof($1)", &[mine.clone().into()]).unwrap();
            assert_ne!(kind.as_deref(), Some("array"), "{text}");
        }
    }

    #[pg_test]
    fn deep_merge_matches_the_reference() {
        run(256, (merge_side(4, 48, 6), merge_side(4, 48, 6), any::<bool>()), |(a, b, escape)| {
            let (ja, jb) = (pg_jsonb(&text_of(&a, escape))?, pg_jsonb(&text_of(&b, !escape))?);
            let mine = crate::jsonb::merge::deep_merge(ja, jb);
            let theirs = pg_jsonb(&text_of(&merge_ref(&a, &b), false))?;
            same_as_postgres(&mine, &theirs)
        });
    }

    #[pg_test]
    fn merge_results_are_btree_and_gin_keys() {
        Spi::run(
            "CREATE TEMP TABLE merged (id int, doc jsonb);
             CREATE INDEX merged_btree ON merged USING btree (doc);
             CREATE INDEX merged_gin ON merged USING gin (doc jsonb_ops);
             SET enable_seqscan = off;",
        )
        .unwrap();
        let next = std::cell::Cell::new(0);
        run(128, (merge_side(3, 24, 4), merge_side(3, 24, 4)), |(a, b)| {
            let id = next.get() + 1;
            next.set(id);
            let want = text_of(&merge_ref(&a, &b), false);
            Spi::run_with_args(
                "INSERT INTO merged VALUES ($1, pgmigrate.jsonb_deep_merge($2::jsonb, $3::jsonb))",
                &[id.into(), text_of(&a, false).into(), text_of(&b, true).into()],
            )
            .map_err(|e| TestCaseError::fail(format!("insert: {e}")))?;
            let (by_eq, by_contains) = Spi::get_two_with_args::<bool, bool>(
                "SELECT (SELECT coalesce(bool_or(id = $1), false) FROM merged WHERE doc = $2::jsonb),
                        (SELECT coalesce(bool_or(id = $1), false) FROM merged WHERE doc @> $2::jsonb)",
                &[id.into(), want.as_str().into()],
            )
            .map_err(|e| TestCaseError::fail(format!("lookup: {e}")))?;
            prop_assert_eq!(by_eq, Some(true), "btree = lookup misses {}", want);
            prop_assert_eq!(by_contains, Some(true), "GIN @> lookup misses {}", want);
            Ok(())
        });
        // The lookups above used the indexes.
        let plan = |q: &str| {
            Spi::connect(|c| {
                c.select(&format!("EXPLAIN (COSTS OFF) {q}"), None, &[])
                    .unwrap()
                    .map(|row| row.get::<String>(1).unwrap().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        };
        let eq = plan(r#"SELECT id FROM merged WHERE doc = '{"a": 1}'"#);
        assert!(eq.contains("merged_btree"), "{eq}");
        let contains = plan(r#"SELECT id FROM merged WHERE doc @> '{"a": 1}'"#);
        assert!(contains.contains("merged_gin"), "{contains}");
        let rows = Spi::get_one::<i64>("SELECT count(*) FROM merged").unwrap();
        assert_eq!(rows, Some(next.get() as i64));
    }

    #[pg_test]
    fn spi_jsonb_outlives_the_connection() {
        // A document read through SPI must not point into SPI's tuple table, which is freed
        // when the connection ends: it is its own palloc'd chunk in a context outside SPI.
        let doc = Spi::get_one::<Jsonb>(r#"SELECT '{"k": [1, 2, "three"]}'::jsonb"#).unwrap().unwrap();
        // SAFETY: `doc` points to the start of a palloc'd chunk (the property under test).
        let name = unsafe {
            let cxt = pg_sys::GetMemoryChunkContext(doc.0.as_ptr().cast());
            std::ffi::CStr::from_ptr((*cxt).name).to_string_lossy().into_owned()
        };
        assert!(!name.starts_with("SPI"), "copied into {name}");
        let scribble = Spi::get_one::<String>("SELECT repeat('x', 100000)").unwrap();
        assert!(scribble.is_some());
        let again = pg_jsonb(r#"{"k": [1, 2, "three"]}"#).unwrap();
        assert!(doc.same_bytes(&again));
    }

    #[pg_test(error = "total size of jsonb object elements exceeds the maximum of 268435455 bytes")]
    fn writer_refuses_what_jsonb_cannot_hold() {
        let big = "x".repeat(134_217_720);
        Writer::finish(&Out::object(vec![("a", Out::Str(&big)), ("b", Out::Str(&big))]));
    }

    #[pg_test(error = "total size of jsonb array elements exceeds the maximum of 268435455 bytes")]
    fn writer_refuses_big_nested_arrays() {
        // Data 268435452 bytes, with header and JEntries 268435464.
        let big = "x".repeat(134_217_726);
        Writer::finish(&Out::object(vec![("a", Out::Array(vec![Out::Str(&big), Out::Str(&big)]))]));
    }
}
