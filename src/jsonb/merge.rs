//! `jsonb_deep_merge`: a recursive merge written straight into jsonb's format.
//!
//! Both objects' keys are already sorted in jsonb order, so each level is one
//! merge-join pass with no lookups and no re-sorting, and every subtree that only
//! one side has is copied as raw bytes. Each level checks PostgreSQL's stack depth
//! (a too-deep pair of documents is ERROR 54001, never a crash), and the writer
//! sizes the result as jsonb does before writing it (54000 past jsonb's limit).

use crate::jsonb::read::Container;
use crate::jsonb::view::key_order;
use crate::jsonb::{check_for_interrupts, check_stack_depth, vec_with_capacity, Jsonb, Out, Value, Writer};
use std::cmp::Ordering;

pub fn deep_merge(a: Jsonb, b: Jsonb) -> Jsonb {
    let (Value::Object(x), Value::Object(y)) = (a.root(), b.root()) else {
        return b;
    };
    if x.count() == 0 {
        return b;
    }
    if y.count() == 0 {
        return a;
    }
    let merged = merge_objects(x, y);
    let out = Writer::finish(&merged);
    drop_flat(merged);
    out
}

/// Drop a merge tree without recursing: a tree as deep as the stack allowed to
/// build must not overflow it when dropped.
fn drop_flat(root: Out<'_>) {
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        match v {
            Out::Object(pairs) => stack.extend(pairs.into_iter().map(|(_, v)| v)),
            Out::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

fn merge_objects<'a>(a: Container<'a>, b: Container<'a>) -> Out<'a> {
    check_stack_depth();
    let (xs, ys) = (a.pairs(), b.pairs());
    let mut out = vec_with_capacity(xs.len() + ys.len());
    let (mut i, mut j) = (0, 0);
    while i < xs.len() || j < ys.len() {
        check_for_interrupts();
        let order = match (xs.get(i), ys.get(j)) {
            (Some(x), Some(y)) => key_order(x.0, y.0),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.push((xs[i].0, Out::Value(xs[i].1)));
                i += 1;
            }
            Ordering::Greater => {
                out.push((ys[j].0, Out::Value(ys[j].1)));
                j += 1;
            }
            Ordering::Equal => {
                let merged = match (xs[i].1, ys[j].1) {
                    (Value::Object(x), Value::Object(y)) => merge_objects(x, y),
                    (_, y) => Out::Value(y),
                };
                out.push((ys[j].0, merged));
                i += 1;
                j += 1;
            }
        }
    }
    Out::Object(out)
}
