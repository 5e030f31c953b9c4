//! `jsonb_deep_merge`: a recursive merge over binary jsonb.
//!
//! Both objects' keys are already sorted in jsonb order, so the merge is a single
//! merge-join pass per level with no lookups; untouched subtrees are copied as
//! they are, the same work the built-in `||` does.

use crate::jsonb::{key_order, Builder, Jsonb, Value};
use crate::json_view::JsonView;
use pgrx::pg_sys;
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

fn merge_objects(out: &mut Builder, a: Value<'_>, b: Value<'_>) {
    // Deeply nested documents end in a clean "stack depth limit exceeded" ERROR.
    // SAFETY: plain call into PostgreSQL; it raises through pgrx's guard.
    unsafe { pg_sys::check_stack_depth() };
    let (xs, ys) = (a.pairs(), b.pairs());
    let (mut i, mut j) = (0, 0);
    out.begin_object();
    while i < xs.len() || j < ys.len() {
        let order = match (xs.get(i), ys.get(j)) {
            (Some(x), Some(y)) => key_order(x.0, y.0),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                out.key_bytes(xs[i].0);
                out.value(xs[i].1);
                i += 1;
            }
            Ordering::Greater => {
                out.key_bytes(ys[j].0);
                out.value(ys[j].1);
                j += 1;
            }
            Ordering::Equal => {
                let ((k, x), (_, y)) = (xs[i], ys[j]);
                out.key_bytes(k);
                if x.is_object() && y.is_object() {
                    merge_objects(out, x, y);
                } else {
                    out.value(y);
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.end_object();
}
