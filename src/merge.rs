//! `jsonb_deep_merge`: a recursive merge written straight into jsonb's format.
//!
//! Both objects' keys are already sorted in jsonb order, so each level is one
//! merge-join pass with no lookups and no re-sorting, and every subtree that only
//! one side has is copied as raw bytes.

use crate::json_view::key_order;
use crate::jsonb::read::Container;
use crate::jsonb::{Jsonb, Out, Value, Writer};
use std::cmp::Ordering;

pub fn deep_merge(a: Jsonb, b: Jsonb) -> Jsonb {
    let (Value::Object(x), Value::Object(y)) = (a.root(), b.root()) else { return b };
    if x.count() == 0 {
        return b;
    }
    if y.count() == 0 {
        return a;
    }
    Writer::finish(&merge_objects(x, y))
}

fn merge_objects<'a>(a: Container<'a>, b: Container<'a>) -> Out<'a> {
    let (xs, ys) = (a.pairs(), b.pairs());
    let mut out = Vec::with_capacity(xs.len().max(ys.len()));
    let (mut i, mut j) = (0, 0);
    while i < xs.len() || j < ys.len() {
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
