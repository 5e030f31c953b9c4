//! `jsonb_deep_merge`: a recursive merge over binary jsonb.
//!
//! Both objects' keys are already sorted in jsonb order, so each level is a single
//! merge-join pass with no lookups; untouched subtrees are copied as they are, the
//! same work the built-in `||` does. Nesting is walked with an explicit stack, so
//! depth is bounded by memory, not by the C stack.

use crate::json_view::{key_order, JsonView};
use crate::jsonb::{Builder, Jsonb, Value};
use std::cmp::Ordering;

pub fn deep_merge(a: Jsonb, b: Jsonb) -> Jsonb {
    if !a.is_object() || !b.is_object() || a.len() == 0 {
        return b;
    }
    if b.len() == 0 {
        return a;
    }
    let mut out = Builder::new();
    merge_objects(&mut out, a.root(), b.root());
    out.finish()
}

/// One object level being merged: both sides' pairs and the merge-join cursors.
struct Level<'a> {
    xs: Vec<(&'a [u8], Value<'a>)>,
    ys: Vec<(&'a [u8], Value<'a>)>,
    i: usize,
    j: usize,
}

impl<'a> Level<'a> {
    fn new(out: &mut Builder<'a>, a: Value<'a>, b: Value<'a>) -> Self {
        out.begin_object();
        Level { xs: a.pairs(), ys: b.pairs(), i: 0, j: 0 }
    }
}

fn merge_objects<'a>(out: &mut Builder<'a>, a: Value<'a>, b: Value<'a>) {
    let mut stack = vec![Level::new(out, a, b)];
    while let Some(level) = stack.last_mut() {
        let order = match (level.xs.get(level.i), level.ys.get(level.j)) {
            (Some(x), Some(y)) => key_order(x.0, y.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => {
                out.end_object();
                stack.pop();
                continue;
            }
        };
        match order {
            Ordering::Less => {
                let (k, x) = level.xs[level.i];
                level.i += 1;
                out.key(k);
                out.value(x);
            }
            Ordering::Greater => {
                let (k, y) = level.ys[level.j];
                level.j += 1;
                out.key(k);
                out.value(y);
            }
            Ordering::Equal => {
                let ((k, x), (_, y)) = (level.xs[level.i], level.ys[level.j]);
                level.i += 1;
                level.j += 1;
                out.key(k);
                if x.is_object() && y.is_object() {
                    let next = Level::new(out, x, y);
                    stack.push(next);
                } else {
                    out.value(y);
                }
            }
        }
    }
}
