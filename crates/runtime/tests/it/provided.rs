use std::path::{Path, PathBuf};
use std::process::Command;

use runtime::Runtime;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provided_shell_bootstrap() {
    if !["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].iter().any(|p| Path::new(p).exists()) {
        eprintln!("SKIPPED: the shell bootstrap fixture needs curl (apt-get install curl)");
        return;
    }
    let h = harness();
    let f = function("provided-sh", Runtime::ProvidedAl2023, "my.handler", "provided-sh");
    let out = h.manager.invoke(&f, invocation(r#"{"n": 1}"#)).await.expect("invoke");
    let v = ok_json(&out);
    assert_eq!(v, serde_json::json!({"echo": {"n": 1}, "handler": "my.handler", "fn": "provided-sh"}));
    assert!(log_text(&out).contains(r#"got event {"n": 1}"#), "{}", log_text(&out));
    assert!(h.stream(&out).iter().any(|l| l == "init: handler is my.handler"));

    let again = h.manager.invoke(&f, invocation(r#"{"n": 2}"#)).await.expect("invoke");
    assert_eq!(again.environment_id, out.environment_id);

    let err = h.manager.invoke(&f, invocation(r#"{"fail": true}"#)).await.expect("invoke");
    let (ty, doc) = err_json(&err);
    assert_eq!((ty.as_str(), doc["errorMessage"].as_str()), ("Custom.Failure", Some("asked to fail")));

    let exit = h.manager.invoke(&f, invocation(r#"{"exit": true}"#)).await.expect("invoke");
    let (ty, doc) = err_json(&exit);
    assert_eq!(ty, "Runtime.ExitError");
    assert!(doc["errorMessage"].as_str().expect("message").ends_with("exit status 7"), "{doc}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provided_without_bootstrap_is_an_invalid_entrypoint() {
    let h = harness();
    let f = function("provided-none", Runtime::ProvidedAl2, "x", "python");
    let inv = invocation("{}");
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Runtime.InvalidEntrypoint");
    let message = doc["errorMessage"].as_str().expect("message");
    assert!(
        message.starts_with(&format!("RequestId: {rid} Error: Couldn't find valid bootstrap(s): [")),
        "{message}"
    );
    h.shutdown().await;
}

/// Compiles the std-only Rust runtime in `fixtures/provided-rust` with rustc (cached).
pub fn rust_bootstrap() -> Option<PathBuf> {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("provided-rust");
    let bin = out_dir.join("bootstrap");
    let src = fixture("provided-rust/main.rs");
    let fresh = |b: &Path| {
        let (Ok(b), Ok(s)) = (b.metadata(), src.metadata()) else { return false };
        b.modified().ok() >= s.modified().ok()
    };
    if fresh(&bin) {
        return Some(out_dir);
    }
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let status = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--edition", "2021", "-O", "-o"])
        .arg(&bin)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => Some(out_dir),
        other => {
            eprintln!("SKIPPED: cannot compile the Rust bootstrap fixture with rustc: {other:?}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provided_compiled_bootstrap() {
    let Some(dir) = rust_bootstrap() else { return };
    let h = harness();
    let mut f = function("provided-rust", Runtime::ProvidedAl2023, "unused", "python");
    f.code_dir = dir;
    let out = h.manager.invoke(&f, invocation(r#"{"n": 3}"#)).await.expect("invoke");
    assert_eq!(ok_json(&out)["echo"]["n"], 3);
    let init = out.report.init_duration.expect("cold start");
    assert!(init.as_millis() < 500, "{init:?}");
    let again = h.manager.invoke(&f, invocation(r#"{"n": 4}"#)).await.expect("invoke");
    assert_eq!(ok_json(&again)["pid"], ok_json(&out)["pid"]);
    h.shutdown().await;
}
