//! Writing jsonb in PostgreSQL's storage format. Values taken from an input
//! document (strings, numbers, whole subtrees) are copied as raw bytes.
//!
//! Writing takes two passes over the `Out` tree: the first sizes the result
//! exactly as PostgreSQL's `convertToJsonb` lays it out and refuses what jsonb
//! cannot hold (54000, PostgreSQL's own message); the second writes into one
//! `palloc`ed buffer of that size, so running out of memory is an ERROR.

use super::read::*;
use super::{check_for_interrupts, check_stack_depth, Jsonb};
use crate::jsonb::view::key_order;
use crate::pg::errors::raise;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ptr::NonNull;

/// A document to write. Object keys must be unique; `Out::object` sorts them.
pub enum Out<'a> {
    /// A value copied from an input document.
    Value(Value<'a>),
    Str(&'a str),
    Bool(bool),
    /// Pairs in jsonb key order.
    Object(Vec<(&'a [u8], Out<'a>)>),
    Array(Vec<Out<'a>>),
}

impl<'a> Out<'a> {
    /// An object from pairs in any order (keys must be unique).
    pub fn object(mut pairs: Vec<(&'a str, Out<'a>)>) -> Self {
        pairs.sort_by(|a, b| key_order(a.0.as_bytes(), b.0.as_bytes()));
        Out::Object(pairs.into_iter().map(|(k, v)| (k.as_bytes(), v)).collect())
    }

    /// Numbers and containers start on a 4-byte boundary; the padding belongs to their entry.
    fn aligned(&self) -> bool {
        matches!(
            self,
            Out::Value(Value::Number(_) | Value::Object(_) | Value::Array(_)) | Out::Object(_) | Out::Array(_)
        )
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Out::Value(Value::Object(_) | Value::Array(_)) | Out::Object(_) | Out::Array(_))
    }
}

/// Which kind of container went over jsonb's size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    Array,
}

/// A container that jsonb cannot hold (PostgreSQL raises 54000 for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig(pub Shape);

impl TooBig {
    pub fn raise(self) -> ! {
        let what = match self.0 {
            Shape::Object => "object",
            Shape::Array => "array",
        };
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("total size of jsonb {what} elements exceeds the maximum of {JENTRY_OFFLENMASK} bytes"),
            None,
            Some("A jsonb value holds at most 256 MB: keep large values in their own rows or columns."),
        )
    }
}

/// jsonb's layout arithmetic for one container, exactly as PostgreSQL's
/// `convertJsonbObject`/`convertJsonbArray` count it: every entry's length includes
/// the padding before it; the data may not exceed `JENTRY_OFFLENMASK` after any entry,
/// and neither may the whole container (leading padding, header, JEntries and data).
#[derive(Debug)]
pub struct Layout {
    shape: Shape,
    entries: usize,
    data: usize,
}

impl Layout {
    /// A container of `count` elements (or pairs).
    pub fn new(shape: Shape, count: usize) -> Result<Self, TooBig> {
        if count > JB_CMASK as usize {
            return Err(TooBig(shape));
        }
        let entries = if shape == Shape::Object { 2 * count } else { count };
        Ok(Layout { shape, entries, data: 0 })
    }

    /// Add an entry of `len` bytes (4-byte aligned when `aligned`); returns the
    /// entry's length with its padding.
    pub fn push(&mut self, aligned: bool, len: usize) -> Result<usize, TooBig> {
        let pad = if aligned { int_align(self.data) - self.data } else { 0 };
        let entry = pad.saturating_add(len);
        self.data = self.data.saturating_add(entry);
        if self.data > JENTRY_OFFLENMASK as usize {
            return Err(TooBig(self.shape));
        }
        Ok(entry)
    }

    /// Add a child container of `shape` whose own size is `len`: PostgreSQL checks the
    /// child (with its leading padding) before its parent.
    pub fn push_container(&mut self, shape: Shape, len: usize) -> Result<usize, TooBig> {
        let pad = int_align(self.data) - self.data;
        if pad.saturating_add(len) > JENTRY_OFFLENMASK as usize {
            return Err(TooBig(shape));
        }
        self.push(true, len)
    }

    /// The container's size: header, JEntries and data.
    pub fn finish(self) -> Result<usize, TooBig> {
        let total = 4 + 4 * self.entries + self.data;
        if total > JENTRY_OFFLENMASK as usize {
            return Err(TooBig(self.shape));
        }
        Ok(total)
    }
}

/// The size of `v` without its leading padding.
fn size_of(v: &Out<'_>) -> Result<usize, TooBig> {
    match v {
        Out::Str(s) => Ok(s.len()),
        Out::Bool(_) | Out::Value(Value::Null | Value::Bool(_)) => Ok(0),
        Out::Value(Value::String(s) | Value::Number(s)) => Ok(s.len()),
        Out::Value(Value::Object(c) | Value::Array(c)) => Ok(c.byte_len()),
        Out::Object(pairs) => {
            check_stack_depth();
            let mut layout = Layout::new(Shape::Object, pairs.len())?;
            for (k, _) in pairs {
                layout.push(false, k.len())?;
            }
            for (_, v) in pairs {
                check_for_interrupts();
                push_sized(&mut layout, v)?;
            }
            layout.finish()
        }
        Out::Array(items) => {
            check_stack_depth();
            let mut layout = Layout::new(Shape::Array, items.len())?;
            for v in items {
                check_for_interrupts();
                push_sized(&mut layout, v)?;
            }
            layout.finish()
        }
    }
}

fn push_sized(layout: &mut Layout, v: &Out<'_>) -> Result<usize, TooBig> {
    let len = size_of(v)?;
    match v {
        Out::Object(_) | Out::Value(Value::Object(_)) => layout.push_container(Shape::Object, len),
        Out::Array(_) | Out::Value(Value::Array(_)) => layout.push_container(Shape::Array, len),
        _ => layout.push(v.aligned(), len),
    }
}

/// The root container's size: a scalar root is a one-element array flagged scalar.
fn root_size(root: &Out<'_>) -> Result<usize, TooBig> {
    if root.is_scalar() {
        let mut layout = Layout::new(Shape::Array, 1)?;
        push_sized(&mut layout, root)?;
        layout.finish()
    } else {
        size_of(root)
    }
}

/// Serialises an `Out` tree into a fresh jsonb datum.
pub struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    /// Write `root` as a jsonb datum in the current memory context.
    pub fn finish(root: &Out<'_>) -> Jsonb {
        let len = pg_sys::VARHDRSZ + root_size(root).unwrap_or_else(|e| e.raise());
        // SAFETY: palloc0 returns `len` zeroed, maximally aligned bytes or raises ERROR
        // (out of memory is an ERROR, never an abort); len <= 4 + 2^28 < MaxAllocSize.
        let ptr = unsafe { pg_sys::palloc0(len) as *mut u8 };
        // SAFETY: `ptr` holds `len` initialised bytes that nothing else references.
        let buf = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        let mut w = Writer { buf, pos: pg_sys::VARHDRSZ };
        if root.is_scalar() {
            w.container(1, JB_FARRAY | JB_FSCALAR, std::iter::empty(), std::iter::once(root));
        } else {
            w.value(root);
        }
        assert_eq!(w.pos, len, "jsonb writer: sized and written lengths differ");
        // SAFETY: the buffer starts with room for a 4-byte varlena header.
        unsafe { pgrx::set_varsize_4b(ptr.cast(), len as i32) };
        // SAFETY: palloc never returns null.
        Jsonb(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Write `root` into Rust-owned, 4-byte-aligned memory (for backend caches).
    pub fn to_words(root: &Out<'_>) -> Vec<u32> {
        let doc = Self::finish(root);
        let bytes = doc.bytes();
        let mut words: Vec<u32> = Vec::new();
        if words.try_reserve_exact(bytes.len().div_ceil(4)).is_err() {
            super::out_of_memory(bytes.len());
        }
        words.resize(bytes.len().div_ceil(4), 0);
        // SAFETY: `words` has at least bytes.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), words.as_mut_ptr().cast::<u8>(), bytes.len()) };
        // SAFETY: `doc` was palloc'd by `finish` and nothing else refers to it.
        unsafe { pg_sys::pfree(doc.0.as_ptr().cast()) };
        words
    }

    fn pad(&mut self) {
        // The buffer is zeroed: padding is skipping.
        self.pos = int_align(self.pos);
    }

    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    fn u32_at(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// Append one value's data; returns its JEntry type bits.
    fn value(&mut self, v: &Out<'_>) -> u32 {
        match v {
            Out::Str(s) => {
                self.put(s.as_bytes());
                JENTRY_ISSTRING
            }
            Out::Bool(b) => bool_type(*b),
            Out::Value(Value::Null) => JENTRY_ISNULL,
            Out::Value(Value::Bool(b)) => bool_type(*b),
            Out::Value(Value::String(s)) => {
                self.put(s);
                JENTRY_ISSTRING
            }
            Out::Value(Value::Number(n)) => {
                self.pad();
                self.put(n);
                JENTRY_ISNUMERIC
            }
            Out::Value(Value::Object(c) | Value::Array(c)) => {
                self.pad();
                // SAFETY: a container is byte_len() contiguous, self-relative bytes.
                self.put(unsafe { std::slice::from_raw_parts(c.as_ptr(), c.byte_len()) });
                JENTRY_ISCONTAINER
            }
            Out::Object(pairs) => {
                self.pad();
                self.container(
                    pairs.len(),
                    JB_FOBJECT,
                    pairs.iter().map(|(k, _)| Out::Value(Value::String(k))),
                    pairs.iter().map(|(_, v)| v),
                );
                JENTRY_ISCONTAINER
            }
            Out::Array(items) => {
                self.pad();
                self.container(items.len(), JB_FARRAY, std::iter::empty(), items.iter());
                JENTRY_ISCONTAINER
            }
        }
    }

    /// A container: header, JEntries (every 32nd holds an end offset, the rest
    /// lengths), then the keys' and values' data. Sizes were checked by `size_of`.
    fn container<'x, 'o: 'x>(&mut self, n: usize, flag: u32, keys: impl Iterator<Item = Out<'o>>, values: impl Iterator<Item = &'x Out<'o>>) {
        check_stack_depth();
        let start = self.pos;
        let n_entries = if flag & JB_FOBJECT != 0 { 2 * n } else { n };
        self.u32_at(start, n as u32 | flag);
        self.pos = start + 4 + 4 * n_entries;
        let data_start = self.pos;
        let mut index = 0usize;
        let mut entry = |w: &mut Writer<'_>, v: &Out<'_>| {
            check_for_interrupts();
            let before = w.pos;
            let ty = w.value(v);
            let len = w.pos - before;
            let field = if index.is_multiple_of(pg_sys::JB_OFFSET_STRIDE as usize) {
                (w.pos - data_start) as u32 | JENTRY_HAS_OFF
            } else {
                len as u32
            };
            w.u32_at(start + 4 + 4 * index, ty | field);
            index += 1;
        };
        for k in keys {
            entry(self, &k);
        }
        for v in values {
            entry(self, v);
        }
    }
}

fn bool_type(b: bool) -> u32 {
    if b {
        JENTRY_ISBOOL_TRUE
    } else {
        JENTRY_ISBOOL_FALSE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = JENTRY_OFFLENMASK as usize;

    /// An object of string values with one-byte keys, sized as jsonb sizes it.
    fn object_of_strings(lens: &[usize]) -> Result<usize, TooBig> {
        let mut l = Layout::new(Shape::Object, lens.len())?;
        for _ in lens {
            l.push(false, 1)?;
        }
        for &len in lens {
            l.push(false, len)?;
        }
        l.finish()
    }

    #[test]
    fn two_128mb_values_fit_in_data_but_not_in_total() {
        // Data alone: 2 + 2 * 134217720 = 268435442 <= MAX; with header and four JEntries it is not.
        let data = 2 + 2 * 134_217_720;
        assert!(data <= MAX);
        assert_eq!(object_of_strings(&[134_217_720, 134_217_720]), Err(TooBig(Shape::Object)));
        assert_eq!(object_of_strings(&[134_217_700, 134_217_700]), Ok(4 + 16 + 2 + 2 * 134_217_700));
    }

    #[test]
    fn exactly_at_the_limit() {
        // header 4 + JEntries 8 + keys 1 + value: total == MAX is accepted, one byte more is not.
        let value = MAX - 4 - 8 - 1;
        assert_eq!(object_of_strings(&[value]), Ok(MAX));
        assert_eq!(object_of_strings(&[value + 1]), Err(TooBig(Shape::Object)));
        // Data over the limit fails as soon as it is pushed, before the header is counted.
        let mut l = Layout::new(Shape::Array, 2).unwrap();
        l.push(false, MAX).unwrap();
        assert_eq!(l.push(false, 1), Err(TooBig(Shape::Array)));
    }

    #[test]
    fn padding_counts() {
        // A 1-byte string, then a number: 3 bytes of padding belong to the number's entry.
        let mut l = Layout::new(Shape::Array, 3).unwrap();
        assert_eq!(l.push(false, 1), Ok(1));
        assert_eq!(l.push(true, 8), Ok(11));
        assert_eq!(l.push(true, 8), Ok(8));
        assert_eq!(l.finish(), Ok(4 + 12 + 20));
        // Data ending 2 bytes past a boundary, then an empty object: its 2 bytes of padding
        // take the array from MAX - 1 to MAX + 1 bytes.
        let mut l = Layout::new(Shape::Array, 2).unwrap();
        l.push(false, MAX - 17).unwrap();
        assert_eq!(l.push_container(Shape::Object, 4), Ok(6));
        assert_eq!(l.finish(), Err(TooBig(Shape::Array)));
        // A child whose own padded size is over the limit is reported as the child.
        let mut l = Layout::new(Shape::Array, 2).unwrap();
        l.push(false, 1).unwrap();
        assert_eq!(l.push_container(Shape::Object, MAX - 1), Err(TooBig(Shape::Object)));
    }

    #[test]
    fn counts_beyond_jb_cmask_are_refused() {
        assert_eq!(Layout::new(Shape::Array, JB_CMASK as usize + 1).unwrap_err(), TooBig(Shape::Array));
    }
}
