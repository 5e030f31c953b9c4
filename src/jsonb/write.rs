//! Writing jsonb in PostgreSQL's storage format. Values taken from an input
//! document (strings, numbers, whole subtrees) are copied as raw bytes.

use super::read::*;
use super::Jsonb;
use crate::errors::raise;
use crate::json_view::key_order;
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
}

/// Serialises an `Out` tree into a fresh jsonb datum.
pub struct Writer {
    buf: Vec<u8>,
}

/// PostgreSQL's MaxAllocSize: the largest palloc.
const MAX_ALLOC_SIZE: usize = 0x3fff_ffff;

fn too_big() -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        format!("total size of jsonb elements exceeds the maximum of {JENTRY_OFFLENMASK} bytes"),
        None,
        None,
    )
}

impl Writer {
    /// The varlena bytes of `root` (an object or array), header set.
    fn build(root: &Out<'_>) -> Vec<u8> {
        let mut w = Writer { buf: vec![0; pg_sys::VARHDRSZ] };
        w.value(root);
        let len = w.buf.len();
        if len > MAX_ALLOC_SIZE {
            too_big();
        }
        // SAFETY: the buffer starts with room for a 4-byte varlena header.
        unsafe { pgrx::set_varsize_4b(w.buf.as_mut_ptr().cast(), len as i32) };
        w.buf
    }

    /// Write `root` as a jsonb datum in the current memory context.
    pub fn finish(root: &Out<'_>) -> Jsonb {
        let buf = Self::build(root);
        // SAFETY: palloc returns `len` writable, maximally aligned bytes; alignment
        // inside the buffer was computed from its start, so it holds in the copy.
        unsafe {
            let p = pg_sys::palloc(buf.len()) as *mut u8;
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, buf.len());
            Jsonb(NonNull::new_unchecked(p))
        }
    }

    /// Write `root` into Rust-owned, 4-byte-aligned memory (for backend caches).
    pub fn to_words(root: &Out<'_>) -> Vec<u32> {
        let buf = Self::build(root);
        let mut words = vec![0u32; buf.len().div_ceil(4)];
        // SAFETY: `words` has at least buf.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), words.as_mut_ptr().cast::<u8>(), buf.len()) };
        words
    }

    fn pad(&mut self) {
        let aligned = int_align(self.buf.len());
        self.buf.resize(aligned, 0);
    }

    fn u32_at(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// Append one value's data; returns its JEntry type bits.
    fn value(&mut self, v: &Out<'_>) -> u32 {
        match v {
            Out::Str(s) => {
                self.buf.extend_from_slice(s.as_bytes());
                JENTRY_ISSTRING
            }
            Out::Bool(b) => bool_type(*b),
            Out::Value(Value::Null) => JENTRY_ISNULL,
            Out::Value(Value::Bool(b)) => bool_type(*b),
            Out::Value(Value::String(s)) => {
                self.buf.extend_from_slice(s);
                JENTRY_ISSTRING
            }
            Out::Value(Value::Number(n)) => {
                self.pad();
                self.buf.extend_from_slice(n);
                JENTRY_ISNUMERIC
            }
            Out::Value(Value::Object(c) | Value::Array(c)) => {
                self.pad();
                // SAFETY: a container is byte_len() contiguous, self-relative bytes.
                self.buf.extend_from_slice(unsafe { std::slice::from_raw_parts(c.as_ptr(), c.byte_len()) });
                JENTRY_ISCONTAINER
            }
            Out::Object(pairs) => {
                self.pad();
                self.container(pairs.len(), JB_FOBJECT, pairs.iter().map(|(k, _)| Out::Value(Value::String(k))), pairs.iter().map(|(_, v)| v));
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
    /// lengths), then the keys' and values' data.
    fn container<'x, 'o: 'x>(&mut self, n: usize, flag: u32, keys: impl Iterator<Item = Out<'o>>, values: impl Iterator<Item = &'x Out<'o>>) {
        // Nested output ends in a clean "stack depth limit exceeded" ERROR.
        // SAFETY: plain call into PostgreSQL; errors are raised through pgrx's guard.
        unsafe { pg_sys::check_stack_depth() };
        if n > JB_CMASK as usize {
            too_big();
        }
        let start = self.buf.len();
        let n_entries = if flag == JB_FOBJECT { 2 * n } else { n };
        self.buf.extend_from_slice(&(n as u32 | flag).to_ne_bytes());
        self.buf.resize(start + 4 + 4 * n_entries, 0);
        let data_start = self.buf.len();
        let mut total = 0usize;
        let mut index = 0usize;
        let mut entry = |w: &mut Writer, v: &Out<'_>| {
            let before = w.buf.len();
            let ty = w.value(v);
            let len = w.buf.len() - before;
            total += len;
            if total > JENTRY_OFFLENMASK as usize {
                too_big();
            }
            let field = if index % pg_sys::JB_OFFSET_STRIDE as usize == 0 { total as u32 | JENTRY_HAS_OFF } else { len as u32 };
            w.u32_at(start + 4 + 4 * index, ty | field);
            index += 1;
        };
        for k in keys {
            entry(self, &k);
        }
        for v in values {
            entry(self, v);
        }
        debug_assert_eq!(self.buf.len() - data_start, total);
    }
}

fn bool_type(b: bool) -> u32 {
    if b {
        JENTRY_ISBOOL_TRUE
    } else {
        JENTRY_ISBOOL_FALSE
    }
}
