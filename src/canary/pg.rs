//! The PostgreSQL layer of canary routing: datums in, datums out, errors with SQLSTATEs.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

use super::hash::bucket;
use super::judge::{decide, evaluate, Observation, Progress};
use super::options::CanaryOptions;
use crate::pg::errors::raise;

/// The bytes of a text argument (detoasted; valid for the call).
unsafe fn text_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [u8] {
    unsafe {
        let d = (*fcinfo).args.as_slice(n + 1)[n].value;
        let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        pgrx::varlena::varlena_to_byte_slice(v)
    }
}

macro_rules! v1 {
    ($finfo:ident) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}

v1!(pg_finfo_canary_bucket);

/// `canary_bucket(salt text, key text) → integer` (STRICT, IMMUTABLE).
///
/// # Safety
/// Called by the function manager with two non-null text arguments.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn canary_bucket(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe { pg_sys::Datum::from(bucket(text_arg(fcinfo, 0), text_arg(fcinfo, 1))) }
}

/// What `canary_route` remembers between calls of one statement (in fn_mcxt).
#[repr(C)]
struct RouteCache {
    valid: bool,
    // The snapshot the row was read under: a new snapshot that could see another row
    // differs in one of these (a commit changes xmax or shrinks the running lists; our
    // own writes change curcid).
    lxid: u32,
    xmin: u32,
    xmax: u32,
    xcnt: u32,
    subxcnt: i32,
    curcid: u32,
    name: *mut u8,
    name_len: usize,
    salt: *mut u8,
    salt_len: usize,
    percentage: i32,
    baseline: *mut u8,
    baseline_len: usize,
    canary: *mut u8,
    canary_len: usize,
}

unsafe fn snapshot_key() -> Option<(u32, u32, u32, u32, i32, u32)> {
    unsafe {
        let s = pg_sys::GetActiveSnapshot();
        if s.is_null() {
            return None;
        }
        let lxid = (*pg_sys::MyProc).lxid;
        Some((lxid, (*s).xmin.into_inner(), (*s).xmax.into_inner(), (*s).xcnt, (*s).subxcnt, (*s).curcid))
    }
}

unsafe fn keep(cx: pg_sys::MemoryContext, old: *mut u8, bytes: &[u8]) -> *mut u8 {
    unsafe {
        if !old.is_null() {
            pg_sys::pfree(old.cast());
        }
        let p = pg_sys::MemoryContextAlloc(cx, bytes.len().max(1)) as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        p
    }
}

/// The canary's routing as of this snapshot: salt, effective percentage, baseline and
/// canary schemas. Read as the function's owner (the extension's), so clients need
/// EXECUTE on canary_route and nothing else. The deployment has the last word: once it
/// is aborted every key goes back to the baseline; once the new color is live (switched
/// or finished) every key goes to it; a finished canary follows the live color.
fn load(fn_oid: pg_sys::Oid, name: &str) -> (String, i32, String, String) {
    // Read-only SPI throughout (Spi::get_one* would mark the transaction as writing,
    // which a hot standby refuses).
    let owner = Spi::connect(|c| {
        c.select("SELECT proowner FROM pg_catalog.pg_proc WHERE oid = $1", Some(1), &[fn_oid.into()])?
            .first()
            .get::<pg_sys::Oid>(1)
    })
    .ok()
    .flatten()
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_UNDEFINED_FUNCTION, "canary_route has no owner", None, None));
    // As the owner with a pinned search_path: the caller's operators are never resolved here.
    let saved = crate::engine::run_as::become_role(owner, Some("pg_catalog, pg_temp"));
    let row = Spi::connect(|c| {
        let t = c.select(
            "SELECT c.salt,
                    CASE WHEN c.state IN ('PROMOTED', 'ROLLED_BACK') THEN
                              CASE WHEN d.live_schema = c.canary_schema AND d.state <> 'aborted' THEN 100 ELSE 0 END
                         WHEN d.state = 'aborted' THEN 0
                         WHEN d.state IN ('switched', 'finished') THEN 100
                         ELSE c.percentage END,
                    c.baseline_schema::text, c.canary_schema::text
               FROM pgmigrate.canaries c JOIN pgmigrate.blue_green_deployments d USING (deployment_id)
              WHERE c.name = $1",
            Some(1),
            &[name.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        Ok::<_, pgrx::spi::Error>(Some((
            r.get::<String>(1)?.unwrap_or_default(),
            r.get::<i32>(2)?.unwrap_or(0),
            r.get::<String>(3)?.unwrap_or_default(),
            r.get::<String>(4)?.unwrap_or_default(),
        )))
    });
    crate::engine::run_as::restore(saved);
    match row {
        Ok(Some(r)) => r,
        Ok(None) => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("canary \"{name}\" does not exist"),
            None,
            Some("SELECT name, state FROM pgmigrate.canaries lists the canaries."),
        ),
        Err(e) => raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("canary \"{name}\": {e}"), None, None),
    }
}

v1!(pg_finfo_canary_route);

/// `canary_route(name text, key text) → text` (STRICT, STABLE): the schema that serves
/// `key`: the canary's new color when its bucket is at most the percentage, else the
/// baseline. The canary row is read once per snapshot, not once per call.
///
/// # Safety
/// Called by the function manager with two non-null text arguments.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn canary_route(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        if (*flinfo).fn_extra.is_null() {
            (*flinfo).fn_extra = pg_sys::MemoryContextAllocZero((*flinfo).fn_mcxt, std::mem::size_of::<RouteCache>());
        }
        let c = &mut *((*flinfo).fn_extra as *mut RouteCache);
        let name = text_arg(fcinfo, 0);
        let key = text_arg(fcinfo, 1);
        let snap = snapshot_key();
        let hit = c.valid && snap == Some((c.lxid, c.xmin, c.xmax, c.xcnt, c.subxcnt, c.curcid)) && std::slice::from_raw_parts(c.name, c.name_len) == name;
        if !hit {
            let name_str = std::str::from_utf8(name).unwrap_or_else(|_| {
                raise(
                    PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                    "canary name is not valid UTF-8",
                    None,
                    None,
                )
            });
            let (salt, pct, baseline, canary) = load((*flinfo).fn_oid, name_str);
            let cx = (*flinfo).fn_mcxt;
            c.valid = false;
            c.name = keep(cx, c.name, name);
            c.name_len = name.len();
            c.salt = keep(cx, c.salt, salt.as_bytes());
            c.salt_len = salt.len();
            c.baseline = keep(cx, c.baseline, baseline.as_bytes());
            c.baseline_len = baseline.len();
            c.canary = keep(cx, c.canary, canary.as_bytes());
            c.canary_len = canary.len();
            c.percentage = pct;
            if let Some(k) = snap {
                (c.lxid, c.xmin, c.xmax, c.xcnt, c.subxcnt, c.curcid) = k;
                c.valid = true;
            }
        }
        let salt = std::slice::from_raw_parts(c.salt, c.salt_len);
        let (p, len) = if bucket(salt, key) <= c.percentage {
            (c.canary, c.canary_len)
        } else {
            (c.baseline, c.baseline_len)
        };
        pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(p as *const std::os::raw::c_char, len as i32))
    }
}

fn bad_option(e: super::options::OptionError) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("invalid canary option \"{}\": {}", e.option, e.problem),
        None,
        Some("Options: step or steps, interval, successThreshold, marginalThreshold, maxDuration, rollbackOnFailure, minSamples, failedCheckLimit, progressDeadline, maxErrorRate, baselineTolerance, metrics, weights, customMetrics, consistencySample, keyColumn, salt (docs/canary.md)."),
    )
}

fn parse(options: &Value) -> CanaryOptions {
    CanaryOptions::parse(options).unwrap_or_else(|e| bad_option(e))
}

/// Options checked and completed with their defaults (durations in seconds, the step list).
#[pg_extern(immutable, parallel_safe, strict, sql = false)]
fn _canary_options(options: JsonB) -> JsonB {
    let o = parse(&options.0);
    let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
    v["steps"] = json!(o.step_list());
    JsonB(v)
}

/// One tick's judgement: `{"evaluation": ..., "decision": ...}` for normalized options,
/// the current percentage, an observation and the canary's clock.
#[pg_extern(immutable, parallel_safe, strict, sql = false)]
fn _canary_judge(options: JsonB, percentage: i32, observation: JsonB, progress: JsonB) -> JsonB {
    let o = parse(&options.0);
    let obs: Observation = serde_json::from_value(observation.0).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("malformed canary observation: {e}"),
            None,
            None,
        )
    });
    let p: Progress = serde_json::from_value(progress.0).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("malformed canary progress: {e}"),
            None,
            None,
        )
    });
    let ev = evaluate(&o, &obs);
    let dec = decide(&o, percentage.clamp(0, 100) as u32, &ev, &p);
    JsonB(json!({"evaluation": ev, "decision": dec}))
}
