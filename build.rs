//! Compiles the C shims (src/engine/step_timer.c, job_worker.c, src/pipeline/worker.c) against the server headers of the
//! PostgreSQL that pgrx builds for, for the API pgrx does not bind (utils/timeout.h).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/engine/step_timer.c");
    println!("cargo:rerun-if-changed=src/engine/job_worker.c");
    println!("cargo:rerun-if-changed=src/pipeline/worker.c");
    println!("cargo:rerun-if-env-changed=PGRX_PG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PGM_PG_CONFIG");
    let pg_config = std::env::var("PGRX_PG_CONFIG_PATH")
        .or_else(|_| std::env::var("PGM_PG_CONFIG"))
        .unwrap_or_else(|_| {
            let debian = "/usr/lib/postgresql/15/bin/pg_config";
            if std::path::Path::new(debian).exists() {
                debian.into()
            } else {
                "pg_config".into()
            }
        });
    let out = Command::new(&pg_config)
        .arg("--includedir-server")
        .output()
        .unwrap_or_else(|e| panic!("running {pg_config} --includedir-server: {e}"));
    assert!(out.status.success(), "{pg_config} --includedir-server failed");
    let include = String::from_utf8(out.stdout).expect("utf-8 path").trim().to_string();
    cc::Build::new()
        .file("src/engine/step_timer.c")
        .file("src/engine/job_worker.c")
        .file("src/pipeline/worker.c")
        .include(&include)
        .warnings(false)
        .flag_if_supported("-Wno-unused-parameter")
        .compile("pgm_step_timer");
}
