//! Reading jsonb containers: header, JEntry array, then the children's data.

use super::check_for_interrupts;
use crate::jsonb::view::{key_order, JsonView, Kind};
use crate::pg::errors::raise;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::borrow::Cow;
use std::ffi::CStr;

// jsonb's on-disk layout constants, from PostgreSQL's own headers (utils/jsonb.h).
pub(crate) use pgrx::pg_sys::{
    JB_CMASK, JB_FARRAY, JB_FOBJECT, JB_FSCALAR, JENTRY_HAS_OFF, JENTRY_ISBOOL_FALSE, JENTRY_ISBOOL_TRUE, JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC,
    JENTRY_ISSTRING, JENTRY_OFFLENMASK, JENTRY_TYPEMASK,
};

pub(crate) fn int_align(n: usize) -> usize {
    (n + 3) & !3
}

/// A container inside a document that outlives `'a`.
#[derive(Clone, Copy)]
pub struct Container<'a> {
    ptr: *const u8,
    _doc: std::marker::PhantomData<&'a [u8]>,
}

/// A value inside a jsonb document. Strings and numbers borrow the document's bytes.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    String(&'a [u8]),
    /// The numeric varlena, as stored.
    Number(&'a [u8]),
    Object(Container<'a>),
    Array(Container<'a>),
}

impl<'a> Container<'a> {
    fn header(&self) -> u32 {
        // SAFETY: a container starts with a 4-byte-aligned u32 header.
        unsafe { (self.ptr as *const u32).read() }
    }

    pub fn count(&self) -> usize {
        (self.header() & JB_CMASK) as usize
    }

    fn is_object(&self) -> bool {
        self.header() & JB_FOBJECT != 0
    }

    fn n_entries(&self) -> usize {
        if self.is_object() {
            self.count() * 2
        } else {
            self.count()
        }
    }

    fn jentry(&self, i: usize) -> u32 {
        // SAFETY: i < n_entries; the JEntry array follows the header.
        unsafe { (self.ptr as *const u32).add(1 + i).read() }
    }

    fn data(&self) -> *const u8 {
        // SAFETY: the children's data follows the JEntry array.
        unsafe { self.ptr.add(4 + 4 * self.n_entries()) }
    }

    /// Start offset of entry `i`: walk back to the nearest stored offset.
    fn offset(&self, i: usize) -> usize {
        let mut off = 0usize;
        for k in (0..i).rev() {
            let e = self.jentry(k);
            off += (e & JENTRY_OFFLENMASK) as usize;
            if e & JENTRY_HAS_OFF != 0 {
                break;
            }
        }
        off
    }

    /// The byte range of entry `i` given its start offset.
    fn end(&self, i: usize, start: usize) -> usize {
        let e = self.jentry(i);
        let v = (e & JENTRY_OFFLENMASK) as usize;
        if e & JENTRY_HAS_OFF != 0 {
            v
        } else {
            start + v
        }
    }

    fn value_at(&self, i: usize, start: usize, end: usize) -> Value<'a> {
        let e = self.jentry(i);
        // SAFETY: [start, end) lies inside this container's data; containers and
        // numerics begin at the next 4-byte boundary, as jsonb writes them.
        unsafe {
            let bytes = |from: usize| std::slice::from_raw_parts(self.data().add(from), end - from);
            match e & JENTRY_TYPEMASK {
                JENTRY_ISSTRING => Value::String(bytes(start)),
                JENTRY_ISNUMERIC => Value::Number(bytes(int_align(start))),
                JENTRY_ISBOOL_FALSE => Value::Bool(false),
                JENTRY_ISBOOL_TRUE => Value::Bool(true),
                JENTRY_ISNULL => Value::Null,
                _ => Value::container(self.data().add(int_align(start))),
            }
        }
    }

    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// The container's total size in bytes, from its own header and entries.
    pub(crate) fn byte_len(&self) -> usize {
        let n = self.n_entries();
        let data_len = if n == 0 { 0 } else { self.end(n - 1, self.offset(n - 1)) };
        4 + 4 * n + data_len
    }

    /// An object's pairs in stored (jsonb key) order.
    pub fn pairs(&self) -> Vec<(&'a [u8], Value<'a>)> {
        let n = self.count();
        let mut keys = super::vec_with_capacity(n);
        let mut off = 0;
        for i in 0..n {
            check_for_interrupts();
            let end = self.end(i, off);
            // SAFETY: keys are strings inside the data area.
            keys.push(unsafe { std::slice::from_raw_parts(self.data().add(off), end - off) });
            off = end;
        }
        let mut out = super::vec_with_capacity(n);
        for (i, key) in keys.into_iter().enumerate() {
            check_for_interrupts();
            let end = self.end(n + i, off);
            out.push((key, self.value_at(n + i, off, end)));
            off = end;
        }
        out
    }

    /// An array's elements in order.
    pub fn elements(&self) -> Vec<Value<'a>> {
        let n = self.count();
        let mut out = super::vec_with_capacity(n);
        let mut off = 0;
        for i in 0..n {
            check_for_interrupts();
            let end = self.end(i, off);
            out.push(self.value_at(i, off, end));
            off = end;
        }
        out
    }

    /// Binary search for `key` among an object's keys.
    fn find(&self, key: &[u8]) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let start = self.offset(mid);
            let end = self.end(mid, start);
            // SAFETY: keys are strings inside the data area.
            let k = unsafe { std::slice::from_raw_parts(self.data().add(start), end - start) };
            match key_order(k, key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn get(&self, key: &[u8]) -> Option<Value<'a>> {
        let i = self.find(key)? + self.count();
        let start = self.offset(i);
        Some(self.value_at(i, start, self.end(i, start)))
    }
}

impl<'a> Value<'a> {
    /// # Safety
    /// `ptr` must point to a jsonb container that outlives `'a`.
    pub(crate) unsafe fn container(ptr: *const u8) -> Self {
        let c = Container {
            ptr,
            _doc: std::marker::PhantomData,
        };
        if c.is_object() {
            Value::Object(c)
        } else {
            Value::Array(c)
        }
    }

    /// The root value: a raw scalar is stored as a one-element array flagged scalar.
    ///
    /// # Safety
    /// `ptr` must point to a root container that outlives `'a`.
    pub(crate) unsafe fn root(ptr: *const u8) -> Self {
        // SAFETY: per the contract.
        let v = unsafe { Value::container(ptr) };
        match v {
            Value::Array(c) if c.header() & JB_FSCALAR != 0 => c.value_at(0, 0, c.end(0, 0)),
            v => v,
        }
    }

    pub fn as_object(&self) -> Option<Container<'a>> {
        match self {
            Value::Object(c) => Some(*c),
            _ => None,
        }
    }

    /// An object's pairs; empty for anything else.
    pub fn pairs(&self) -> Vec<(&'a [u8], Value<'a>)> {
        self.as_object().map(|c| c.pairs()).unwrap_or_default()
    }
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_else(|_| {
        raise(
            PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
            "pg_migrate needs UTF-8 text in jsonb documents",
            None,
            Some("Use a database with ENCODING 'UTF8'."),
        )
    })
}

impl<'a> JsonView<'a> for Value<'a> {
    fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::String(_) => Kind::String,
            Value::Number(_) => Kind::Number,
            Value::Object(_) => Kind::Object,
            Value::Array(_) => Kind::Array,
        }
    }

    fn get(&self, key: &str) -> Option<Self> {
        self.as_object()?.get(key.as_bytes())
    }

    fn elements(&self) -> Vec<Self> {
        match self {
            Value::Array(c) => c.elements(),
            _ => Vec::new(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Value::Object(c) | Value::Array(c) => c.count(),
            _ => 0,
        }
    }

    fn entries(&self) -> Vec<(&'a str, Self)> {
        self.pairs().into_iter().map(|(k, v)| (utf8(k), v)).collect()
    }

    fn text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Value::Null => None,
            Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Value::String(s) => Some(Cow::Borrowed(utf8(s))),
            Value::Number(n) => {
                // SAFETY: `n` is an aligned numeric varlena inside the document.
                let s: &CStr = unsafe { pgrx::direct_function_call(pg_sys::numeric_out, &[Some(pg_sys::Datum::from(n.as_ptr()))])? };
                Some(Cow::Owned(s.to_string_lossy().into_owned()))
            }
            Value::Object(c) | Value::Array(c) => {
                // SAFETY: JsonbToCString only reads the container.
                let s = unsafe { CStr::from_ptr(pg_sys::JsonbToCString(std::ptr::null_mut(), c.ptr as *mut _, 64)) };
                Some(Cow::Owned(s.to_string_lossy().into_owned()))
            }
        }
    }
}
