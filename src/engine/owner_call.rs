//! A SECURITY DEFINER that knows who called it.
//!
//! pg_migrate's state-changing entry points (execute_migration, rollback_migration,
//! register_schema_version, ...) must change tables no other role may write, yet record
//! who asked, and run stored SQL as its author, not as the caller. A plain SECURITY
//! DEFINER function forgets its caller; a SECURITY INVOKER one would need the caller to
//! hold write privileges on the registry (which is how 0.3.0 could be forged).
//!
//! So each entry point is declared `LANGUAGE c AS 'MODULE_PATHNAME', 'pgmigrate_as_owner'`:
//! this trampoline notes the calling role, becomes the owner of the internal function
//! `pgmigrate._<same name>(<same arguments>, caller regrole, caller_search_path text)`,
//! calls it with the caller appended, and switches back. EXECUTE on the entry point is
//! the privilege check (revoked from PUBLIC, granted by the grant_* helpers); the internal
//! functions are executable by their owner alone, so the caller they receive is never forged.

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::pg::errors::raise;

/// The internal function an entry point calls, looked up once per call site (again after
/// any change to pg_proc: see `invalidate`).
struct Target {
    finfo: pg_sys::FmgrInfo,
    owner: pg_sys::Oid,
    nargs: usize,
    generation: u64,
}

thread_local! {
    /// entry point oid -> (internal function oid, its owner). An entry point's target never
    /// changes while its oid lives (CREATE OR REPLACE keeps both oids; DROP makes new ones).
    static TARGETS: std::cell::RefCell<std::collections::HashMap<pg_sys::Oid, (pg_sys::Oid, pg_sys::Oid)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

thread_local! {
    /// Bumped whenever pg_proc changes (ALTER FUNCTION ... OWNER TO, REASSIGN OWNED, a
    /// re-created function): call sites holding an older Target look it up again, so the
    /// trampoline always runs the internal function as its current owner.
    static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static REGISTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Syscache callback on pg_proc (registered once per backend).
unsafe extern "C-unwind" fn invalidate(_arg: pg_sys::Datum, _cacheid: std::ffi::c_int, _hash: u32) {
    TARGETS.with(|t| t.borrow_mut().clear());
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
}

fn generation() -> u64 {
    if !REGISTERED.with(|r| r.replace(true)) {
        // SAFETY: registers a callback that only clears this backend's caches.
        unsafe { pg_sys::CacheRegisterSyscacheCallback(pg_sys::SysCacheIdentifier::PROCOID as i32, Some(invalidate), pg_sys::Datum::from(0)) };
    }
    GENERATION.with(|g| g.get())
}

fn lookup(entry: pg_sys::Oid) -> (pg_sys::Oid, pg_sys::Oid) {
    if let Some(found) = TARGETS.with(|t| t.borrow().get(&entry).copied()) {
        return found;
    }
    // Read-only SPI (a plain select), so entry points also work on a hot standby.
    let found = Spi::connect(|client| {
        client
            .select(
                "SELECT t.oid, t.proowner FROM pg_catalog.pg_proc s JOIN pg_catalog.pg_proc t
                    ON t.pronamespace = s.pronamespace AND t.proname = '_' || s.proname
                   AND t.proargtypes::pg_catalog.oid[] = s.proargtypes::pg_catalog.oid[]
                       || ARRAY['pg_catalog.regrole'::pg_catalog.regtype::pg_catalog.oid, 'pg_catalog.text'::pg_catalog.regtype::pg_catalog.oid]
                 WHERE s.oid = $1",
                Some(1),
                &[entry.into()],
            )?
            .first()
            .get_two::<pg_sys::Oid, pg_sys::Oid>()
    });
    match found {
        Ok((Some(t), Some(o))) => {
            TARGETS.with(|m| m.borrow_mut().insert(entry, (t, o)));
            (t, o)
        }
        _ => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_FUNCTION,
            format!("pg_migrate entry point (oid {}) has no internal function", entry.to_u32()),
            None,
            Some("The extension's objects are damaged: ALTER EXTENSION pg_migrate UPDATE or reinstall it."),
        ),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn pg_finfo_pgmigrate_as_owner() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// The trampoline (see the module comment).
///
/// # Safety
/// Called by the function manager with a valid `fcinfo` for a non-set-returning function.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn pgmigrate_as_owner(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let caller = pg_sys::GetUserId();
        let flinfo = (*fcinfo).flinfo;
        let current = generation();
        if (*flinfo).fn_extra.is_null() || (*((*flinfo).fn_extra as *mut Target)).generation != current {
            let (target, owner) = lookup((*flinfo).fn_oid);
            let t = pg_sys::MemoryContextAllocZero((*flinfo).fn_mcxt, std::mem::size_of::<Target>()) as *mut Target;
            pg_sys::fmgr_info_cxt(target, &mut (*t).finfo, (*flinfo).fn_mcxt);
            (*t).owner = owner;
            (*t).nargs = (*fcinfo).nargs as usize;
            (*t).generation = current;
            if (*t).finfo.fn_retset {
                raise(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    "set-returning pg_migrate entry points are not supported",
                    None,
                    None,
                );
            }
            (*flinfo).fn_extra = t.cast();
        }
        let target = &mut *((*flinfo).fn_extra as *mut Target);

        // The caller's search_path, for the few lookups that must see what the caller sees.
        let path = pg_sys::GetConfigOptionByName(c"search_path".as_ptr(), std::ptr::null_mut(), false);
        let path_datum = pg_sys::Datum::from(pg_sys::cstring_to_text(if path.is_null() { c"".as_ptr() } else { path }));

        let nargs = target.nargs + 2;
        let size = std::mem::size_of::<pg_sys::FunctionCallInfoBaseData>() + nargs * std::mem::size_of::<pg_sys::NullableDatum>();
        let call = pg_sys::palloc0(size) as pg_sys::FunctionCallInfo;
        (*call).flinfo = &mut target.finfo;
        (*call).nargs = nargs as i16;
        (*call).fncollation = (*fcinfo).fncollation;
        let from = (*fcinfo).args.as_slice(target.nargs);
        let to = (*call).args.as_mut_slice(nargs);
        to[..target.nargs].copy_from_slice(from);
        to[target.nargs] = pg_sys::NullableDatum {
            value: pg_sys::Datum::from(caller),
            isnull: false,
        };
        to[target.nargs + 1] = pg_sys::NullableDatum {
            value: path_datum,
            isnull: false,
        };

        let mut user = pg_sys::InvalidOid;
        let mut sec = 0;
        pg_sys::GetUserIdAndSecContext(&mut user, &mut sec);
        pg_sys::SetUserIdAndSecContext(target.owner, sec | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
        let Some(fn_addr) = target.finfo.fn_addr else {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "pg_migrate entry point: the internal function has no address",
                None,
                None,
            )
        };
        let result = fn_addr(call);
        pg_sys::SetUserIdAndSecContext(user, sec);
        (*fcinfo).isnull = (*call).isnull;
        result
    }
}
