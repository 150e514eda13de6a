//! The real Rust client, `lambda_runtime`, unchanged: a fixture crate outside the workspace
//! (`tests/fixtures/rust-fn`, its own `[workspace]` and lockfile), built here on demand into
//! `CARGO_TARGET_TMPDIR` (about a minute the first time, cached after).

use std::path::{Path, PathBuf};
use std::process::Command;

use runtime::Runtime;

use crate::common::*;

fn build() -> Option<tempfile::TempDir> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    if Command::new(&cargo).arg("--version").output().is_err() {
        eprintln!("SKIPPED: cargo ({cargo}) is not available to build the lambda_runtime fixture");
        return None;
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-fn-target");
    let status = Command::new(&cargo)
        .args(["build", "--release", "--locked", "--quiet", "--manifest-path"])
        .arg(fixture("rust-fn/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "building tests/fixtures/rust-fn failed");
    let code = tempfile::tempdir().expect("tempdir");
    let bin: PathBuf = target.join("release/bootstrap");
    std::fs::copy(&bin, code.path().join("bootstrap")).expect("copy the bootstrap");
    Some(code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_runtime_runs_unchanged() {
    let Some(code) = build() else { return };
    let h = harness();
    let mut f = function("rust-fn", Runtime::ProvidedAl2023, "bootstrap", "python");
    f.code_dir = code.path().to_owned();
    f.memory_mb = 256;
    let inv = invocation(r#"{"n": 21}"#);
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let v = ok_json(&out);
    assert_eq!(v["echo"]["n"], 21);
    assert_eq!(v["request_id"], rid.as_str());
    assert_eq!(v["invoked_function_arn"], f.qualified_arn.as_str());
    assert_eq!(v["function_name"], "rust-fn");
    assert_eq!(v["memory"], 256);
    assert_eq!(v["version"], "$LATEST");
    assert_eq!(v["log_stream"], out.log_stream.as_str());
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    let deadline = u128::from(v["deadline"].as_u64().expect("deadline"));
    assert!(deadline > now_ms && deadline <= now_ms + 10_000, "{deadline} vs {now_ms}");
    assert!(out.cold_start);
    eprintln!("lambda_runtime cold start: init {:?}", out.report.init_duration);

    let again = h.manager.invoke(&f, invocation(r#"{"n": 22}"#)).await.expect("invoke");
    assert_eq!(ok_json(&again)["pid"], v["pid"]);

    let out = h.manager.invoke(&f, invocation(r#"{"fail": true}"#)).await.expect("invoke");
    let (_, doc) = err_json(&out);
    assert_eq!(doc["errorMessage"], "asked to fail");
    h.shutdown().await;
}
