//! PostgreSQL's binary jsonb, read and written in place by Rust.
//!
//! pgrx's `JsonB` converts through text and serde_json. This type keeps the
//! detoasted datum, reads its containers directly (`read`) and writes new
//! documents in the same on-disk format (`write`), copying untouched subtrees
//! byte for byte. The format is PostgreSQL's stable storage format (jsonb.h).

pub mod merge;
#[cfg(feature = "pg_test")]
pub mod proptests;
pub mod read;
pub mod view;
pub mod write;

pub use read::Value;
pub use write::{Layout, Out, Shape, TooBig, Writer};

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use std::ptr::NonNull;

/// A detoasted jsonb datum (4-byte varlena header, then the root container).
/// Cloning copies the pointer; the datum itself is never modified.
///
/// The bytes live in a PostgreSQL memory context, not in Rust: a function's
/// argument lives for the call, a written document (`Writer::finish`) in the
/// memory context current when it was written, and a value read through SPI
/// (`get_one::<Jsonb>()` and the like) is copied into the context pgrx picks for SPI
/// results (the parent of SPI's own context: the portal's or the transaction's), so it
/// outlives the SPI connection. Do not keep a `Jsonb` past the memory context it was
/// made in, e.g. across transactions in a backend cache (keep `Writer::to_words` bytes).
#[derive(Clone)]
pub struct Jsonb(NonNull<u8>);

/// PostgreSQL's `check_stack_depth()`: ERROR 54001 with its HINT when the stack is
/// deeper than `max_stack_depth`. Every recursive walk over documents calls it once
/// per level. Never inlined, so the FFI guard's frame (a `sigjmp_buf`) is not part of
/// every recursive frame.
#[inline(never)]
pub(crate) fn check_stack_depth() {
    // SAFETY: a plain call into PostgreSQL; its ERROR comes back through pgrx's guard
    // as a Rust panic that unwinds the recursion and is re-raised as the ERROR.
    unsafe { pg_sys::check_stack_depth() };
}

/// PostgreSQL's `CHECK_FOR_INTERRUPTS()` for long loops: the flag test is inlined,
/// the call (and its FFI guard) is not, so recursive frames stay small.
#[inline(always)]
pub(crate) fn check_for_interrupts() {
    // SAFETY: InterruptPending is a sig_atomic_t flag that PostgreSQL's signal handlers set.
    if unsafe { std::ptr::addr_of!(pg_sys::InterruptPending).read_volatile() } != 0 {
        process_interrupts();
    }
}

#[cold]
#[inline(never)]
fn process_interrupts() {
    pgrx::check_for_interrupts!();
}

/// ERROR 53200 for an allocation Rust could not make (instead of aborting the backend).
pub(crate) fn out_of_memory(bytes: usize) -> ! {
    crate::pg::errors::raise(
        PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        "out of memory",
        Some(format!("Failed on request of size {bytes} in pg_migrate.")),
        None,
    )
}

/// A vector with room for `n` items, or ERROR 53200.
pub(crate) fn vec_with_capacity<T>(n: usize) -> Vec<T> {
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        out_of_memory(n.saturating_mul(std::mem::size_of::<T>()));
    }
    v
}

impl Jsonb {
    /// The whole varlena, header included.
    pub(crate) fn bytes(&self) -> &[u8] {
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

    /// Always a copy in `memory_context`: SPI hands out datums that point into its
    /// tuple table, which is freed when the SPI connection ends.
    unsafe fn from_datum_in_memory_context(mut memory_context: PgMemoryContexts, datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: switching to a live memory context for one allocation.
        unsafe {
            memory_context.switch_to(|_| {
                // A non-null jsonb datum; pg_detoast_datum_copy always returns a fresh
                // 4-byte-header copy allocated in the current (target) memory context.
                let ptr = pg_sys::pg_detoast_datum_copy(datum.cast_mut_ptr());
                NonNull::new(ptr.cast()).map(Jsonb)
            })
        }
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
        unsafe { Jsonb::from_datum(d.sans_lifetime(), false) }.unwrap_or_else(|| {
            crate::pg::errors::raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "a jsonb value is NULL where pg_migrate needs one",
                None,
                None,
            )
        })
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
