//! PostgreSQL's binary jsonb, read and built in place.
//!
//! pgrx's `JsonB` converts through text and serde_json; this type keeps the
//! detoasted datum and walks its containers directly, which is what lets the
//! native functions run at the speed of the built-in operators.

use crate::errors::raise;
use crate::json_view::{JsonView, Kind};
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::borrow::Cow;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A detoasted jsonb datum.
pub struct Jsonb(NonNull<pg_sys::Jsonb>);

impl Jsonb {
    fn root_container(&self) -> *mut pg_sys::JsonbContainer {
        // SAFETY: the pointer is a detoasted, 4-byte-header jsonb.
        unsafe { &raw mut (*self.0.as_ptr()).root }
    }

    /// The top-level value.
    pub fn root(&self) -> Value<'_> {
        // SAFETY: the container lives as long as `self`.
        unsafe { Value::of_container(self.root_container()) }
    }

    fn header(&self) -> u32 {
        // SAFETY: as above.
        unsafe { (*self.root_container()).header }
    }

    pub fn is_object(&self) -> bool {
        self.header() & pg_sys::JB_FOBJECT != 0
    }

    /// Number of pairs (object) or elements (array).
    pub fn len(&self) -> u32 {
        self.header() & pg_sys::JB_CMASK
    }
}

impl FromDatum for Jsonb {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: a non-null jsonb datum; detoasting gives a palloc'd or in-place copy.
        let ptr = unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) };
        NonNull::new(ptr.cast()).map(Jsonb)
    }
}

impl IntoDatum for Jsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(pg_sys::Datum::from(self.0.as_ptr()))
    }
    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for Jsonb {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the caller guarantees a jsonb argument.
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        // SAFETY: as above.
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

unsafe impl BoxRet for Jsonb {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            // SAFETY: a valid jsonb datum allocated in the function's memory context.
            Some(d) => unsafe { fcinfo.return_raw_datum(d) },
            None => fcinfo.return_null(),
        }
    }
}

pgrx::impl_sql_translatable!(Jsonb, "jsonb");

/// One value inside a jsonb document: a scalar, or a nested container.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    v: pg_sys::JsonbValue,
    _doc: PhantomData<&'a pg_sys::Jsonb>,
}

/// Key bytes of a jsonb string value.
///
/// # Safety
/// `v` must be a `jbvString` pointing into memory that outlives `'a`.
unsafe fn string_bytes<'a>(v: &pg_sys::JsonbValue) -> &'a [u8] {
    // SAFETY: per the function contract.
    unsafe {
        let s = v.val.string;
        if s.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(s.val as *const u8, s.len as usize)
        }
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

impl<'a> Value<'a> {
    /// # Safety
    /// `c` must point to a jsonb container that outlives `'a`.
    unsafe fn of_container(c: *mut pg_sys::JsonbContainer) -> Self {
        // SAFETY: zeroed JsonbValue is a valid null value to fill in.
        let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is valid per the contract; a raw scalar unpacks into `v`.
        let scalar = unsafe { (*c).header & pg_sys::JB_FSCALAR != 0 && pg_sys::JsonbExtractScalar(c, &mut v) };
        if !scalar {
            v.type_ = pg_sys::jbvType::jbvBinary;
            v.val.binary = pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_4 { len: 0, data: c };
        }
        Value { v, _doc: PhantomData }
    }

    fn container(&self) -> Option<*mut pg_sys::JsonbContainer> {
        // SAFETY: the union field matches the type tag.
        (self.v.type_ == pg_sys::jbvType::jbvBinary).then(|| unsafe { self.v.val.binary.data })
    }

    fn object_container(&self) -> Option<*mut pg_sys::JsonbContainer> {
        // SAFETY: binary values point to live containers.
        self.container().filter(|c| unsafe { (**c).header } & pg_sys::JB_FOBJECT != 0)
    }

    /// Raw key/value pairs of an object, in storage order.
    pub fn pairs(&self) -> Vec<(&'a [u8], Value<'a>)> {
        let Some(c) = self.object_container() else { return Vec::new() };
        // SAFETY: `c` is a live object container; the iterator yields keys then values,
        // with nested containers as binary values pointing into the same document.
        unsafe {
            let n = ((*c).header & pg_sys::JB_CMASK) as usize;
            let mut out = Vec::with_capacity(n);
            let mut it = pg_sys::JsonbIteratorInit(c);
            let mut v: pg_sys::JsonbValue = std::mem::zeroed();
            let mut key: &[u8] = &[];
            loop {
                match pg_sys::JsonbIteratorNext(&mut it, &mut v, true) {
                    pg_sys::JsonbIteratorToken::WJB_KEY => key = string_bytes(&v),
                    pg_sys::JsonbIteratorToken::WJB_VALUE => out.push((key, Value { v, _doc: PhantomData })),
                    pg_sys::JsonbIteratorToken::WJB_BEGIN_OBJECT => {}
                    _ => break,
                }
            }
            out
        }
    }

    fn raw(&self) -> pg_sys::JsonbValue {
        self.v
    }
}

impl<'a> JsonView<'a> for Value<'a> {
    fn kind(&self) -> Kind {
        match self.v.type_ {
            pg_sys::jbvType::jbvNull => Kind::Null,
            pg_sys::jbvType::jbvString => Kind::String,
            pg_sys::jbvType::jbvNumeric => Kind::Number,
            pg_sys::jbvType::jbvBool => Kind::Boolean,
            _ if self.object_container().is_some() => Kind::Object,
            _ => Kind::Array,
        }
    }

    fn get(&self, key: &str) -> Option<Self> {
        let c = self.object_container()?;
        // SAFETY: `c` is a live object container; the result is copied into `res`.
        unsafe {
            let mut res: pg_sys::JsonbValue = std::mem::zeroed();
            let found = pg_sys::getKeyJsonValueFromContainer(c, key.as_ptr().cast(), key.len() as i32, &mut res);
            (!found.is_null()).then_some(Value { v: res, _doc: PhantomData })
        }
    }

    fn entries(&self) -> Vec<(&'a str, Self)> {
        self.pairs().into_iter().map(|(k, v)| (utf8(k), v)).collect()
    }

    fn text(&self) -> Option<Cow<'a, str>> {
        // SAFETY: each union field is read only under its type tag; strings and
        // containers point into the document, numerics are formatted by numeric_out.
        unsafe {
            match self.v.type_ {
                pg_sys::jbvType::jbvNull => None,
                pg_sys::jbvType::jbvString => Some(Cow::Borrowed(utf8(string_bytes(&self.v)))),
                pg_sys::jbvType::jbvBool => Some(Cow::Borrowed(if self.v.val.boolean { "true" } else { "false" })),
                pg_sys::jbvType::jbvNumeric => {
                    let s: &CStr = pgrx::direct_function_call(
                        pg_sys::numeric_out,
                        &[Some(pg_sys::Datum::from(self.v.val.numeric))],
                    )?;
                    Some(Cow::Owned(s.to_string_lossy().into_owned()))
                }
                _ => {
                    let c = self.container()?;
                    let s = pg_sys::JsonbToCString(std::ptr::null_mut(), c, 64);
                    Some(Cow::Owned(CStr::from_ptr(s).to_string_lossy().into_owned()))
                }
            }
        }
    }
}

/// Builds a new jsonb value token by token (PostgreSQL's `pushJsonbValue`).
/// Object keys are sorted and de-duplicated (last wins) when an object ends.
/// Strings are borrowed, not copied: everything pushed must outlive the builder (`'b`).
pub struct Builder<'b> {
    state: *mut pg_sys::JsonbParseState,
    result: *mut pg_sys::JsonbValue,
    _borrows: PhantomData<&'b [u8]>,
}

impl<'b> Builder<'b> {
    pub fn new() -> Self {
        Builder { state: std::ptr::null_mut(), result: std::ptr::null_mut(), _borrows: PhantomData }
    }

    fn push(&mut self, token: pg_sys::JsonbIteratorToken::Type, v: Option<&mut pg_sys::JsonbValue>) {
        let ptr = v.map_or(std::ptr::null_mut(), |v| v as *mut _);
        // SAFETY: pushJsonbValue copies the value struct; the bytes it points to are
        // borrowed for 'b, which outlives `finish`.
        self.result = unsafe { pg_sys::pushJsonbValue(&mut self.state, token, ptr) };
    }

    pub fn begin_object(&mut self) {
        self.push(pg_sys::JsonbIteratorToken::WJB_BEGIN_OBJECT, None);
    }
    pub fn end_object(&mut self) {
        self.push(pg_sys::JsonbIteratorToken::WJB_END_OBJECT, None);
    }
    pub fn begin_array(&mut self) {
        self.push(pg_sys::JsonbIteratorToken::WJB_BEGIN_ARRAY, None);
    }
    pub fn end_array(&mut self) {
        self.push(pg_sys::JsonbIteratorToken::WJB_END_ARRAY, None);
    }

    pub fn key(&mut self, k: &'b [u8]) {
        let mut v = string_value(k);
        self.push(pg_sys::JsonbIteratorToken::WJB_KEY, Some(&mut v));
    }

    /// An object member's value taken from a document (containers are copied).
    pub fn value(&mut self, v: Value<'b>) {
        let mut raw = v.raw();
        self.push(pg_sys::JsonbIteratorToken::WJB_VALUE, Some(&mut raw));
    }

    /// `key: "text"`.
    pub fn str_member(&mut self, k: &'b str, s: &'b str) {
        self.key(k.as_bytes());
        let mut v = string_value(s.as_bytes());
        self.push(pg_sys::JsonbIteratorToken::WJB_VALUE, Some(&mut v));
    }

    /// `key: true|false`.
    pub fn bool_member(&mut self, k: &'b str, b: bool) {
        self.key(k.as_bytes());
        // SAFETY: a zeroed JsonbValue then tagged as a boolean.
        let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
        v.type_ = pg_sys::jbvType::jbvBool;
        v.val.boolean = b;
        self.push(pg_sys::JsonbIteratorToken::WJB_VALUE, Some(&mut v));
    }

    /// The finished document. Must follow a balanced sequence of tokens.
    pub fn finish(self) -> Jsonb {
        // SAFETY: `result` is the completed top-level value returned by the last push.
        let ptr = unsafe { pg_sys::JsonbValueToJsonb(self.result) };
        Jsonb(NonNull::new(ptr).expect("JsonbValueToJsonb never returns NULL"))
    }
}

fn string_value(bytes: &[u8]) -> pg_sys::JsonbValue {
    let len = bytes.len();
    if len > pg_sys::JENTRY_OFFLENMASK as usize {
        raise(PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED, "string too long to represent as jsonb string", None, None);
    }
    // SAFETY: a zeroed JsonbValue then tagged as a string.
    let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
    v.type_ = pg_sys::jbvType::jbvString;
    // pushJsonbValue never writes through the pointer.
    v.val.string = pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_1 { len: len as i32, val: bytes.as_ptr() as *mut _ };
    v
}
