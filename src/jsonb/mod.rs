//! PostgreSQL's binary jsonb, read and written in place by Rust.
//!
//! pgrx's `JsonB` converts through text and serde_json. This type keeps the
//! detoasted datum, reads its containers directly (`read`) and writes new
//! documents in the same on-disk format (`write`), copying untouched subtrees
//! byte for byte. The format is PostgreSQL's stable storage format (jsonb.h).

pub mod read;
pub mod write;

pub use read::Value;
pub use write::{Out, Writer};

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ptr::NonNull;

/// A detoasted jsonb datum (4-byte varlena header, then the root container).
/// Cloning copies the pointer; the datum itself is never modified.
#[derive(Clone)]
pub struct Jsonb(NonNull<u8>);

impl Jsonb {
    /// The whole varlena, header included.
    fn bytes(&self) -> &[u8] {
        // SAFETY: a detoasted datum has a 4-byte header giving its total size.
        unsafe {
            let len = pgrx::varsize_any(self.0.as_ptr().cast());
            std::slice::from_raw_parts(self.0.as_ptr(), len)
        }
    }

    /// Byte-identical documents (jsonb is canonical, so equal documents compare equal).
    pub fn same_bytes(&self, other: &Jsonb) -> bool {
        self.bytes() == other.bytes()
    }

    /// The top-level value.
    pub fn root(&self) -> Value<'_> {
        // SAFETY: a detoasted jsonb: the root container follows the 4-byte header
        // and lives as long as `self`.
        unsafe { Value::root(self.0.as_ptr().add(pg_sys::VARHDRSZ)) }
    }
}

impl FromDatum for Jsonb {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: a non-null jsonb datum; detoasting yields a 4-byte-header copy or the original.
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

unsafe impl pgrx::datum::UnboxDatum for Jsonb {
    type As<'src> = Jsonb;
    unsafe fn unbox<'src>(d: Datum<'src>) -> Jsonb
    where
        Self: 'src,
    {
        // SAFETY: callers unbox only non-null jsonb datums.
        unsafe { Jsonb::from_datum(d.sans_lifetime(), false) }.expect("a non-null jsonb datum")
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for Jsonb {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the caller guarantees a jsonb argument.
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| panic!("argument {index} must not be null"))
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
