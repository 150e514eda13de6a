//! The real runtime clients, unchanged, against our Runtime API: `awslambdaric` (Python) as a
//! `provided` bootstrap.

use std::path::PathBuf;

use runtime::Runtime;

use crate::common::*;

/// A Python with `awslambdaric` installed: `$NIMBUS_AWSLAMBDARIC_PYTHON`, else the venv that
/// `python3 -m venv /var/tmp/nimbus-ric-venv && /var/tmp/nimbus-ric-venv/bin/pip install awslambdaric`
/// creates.
fn ric_python() -> Option<PathBuf> {
    let python = std::env::var_os("NIMBUS_AWSLAMBDARIC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/nimbus-ric-venv/bin/python"));
    let ok = std::process::Command::new(&python)
        .args(["-c", "import awslambdaric"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: awslambdaric is not installed for {}; to run this test: \
             python3 -m venv /var/tmp/nimbus-ric-venv && /var/tmp/nimbus-ric-venv/bin/pip install awslambdaric \
             (or set NIMBUS_AWSLAMBDARIC_PYTHON to a python that has it)",
            python.display()
        );
        return None;
    }
    Some(python)
}

/// A code folder with the fixture handler and a bootstrap that execs awslambdaric.
fn package(python: &std::path::Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixture("python/app.py"), dir.path().join("app.py")).expect("copy");
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(
        &bootstrap,
        format!("#!/bin/sh\nexec {} -m awslambdaric \"$_HANDLER\"\n", python.display()),
    )
    .expect("bootstrap");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awslambdaric_runs_unchanged() {
    let Some(python) = ric_python() else { return };
    let code = package(&python);
    // The venv's python links into /root/.pyenv, which a function's own user cannot reach
    // (/root is 0700): run as the server's user, as on a host without uid separation.
    let h = harness_with(|c| c.separate_users = false);
    let mut f = function("ric-py", Runtime::ProvidedAl2023, "app.handler", "python");
    f.code_dir = code.path().to_owned();
    let inv = invocation(r#"{"n": 11}"#);
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let v = ok_json(&out);
    assert_eq!(v["event"]["n"], 11);
    assert_eq!(v["request_id"], rid.as_str());
    assert_eq!(v["function_name"], "ric-py");
    assert_eq!(v["invoked_function_arn"], f.qualified_arn.as_str());
    assert!(v["remaining_ms"].as_i64().expect("remaining") > 5_000);
    assert!(log_text(&out).contains("handler: got 11"), "{}", log_text(&out));
    let again = h.manager.invoke(&f, invocation(r#"{"n": 12}"#)).await.expect("invoke");
    assert_eq!(ok_json(&again)["pid"], v["pid"]);

    let mut f = function("ric-py-boom", Runtime::ProvidedAl2023, "app.boom", "python");
    f.code_dir = code.path().to_owned();
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!((ty.as_str(), doc["errorMessage"].as_str()), ("ValueError", Some("boom")));

    let mut f = function("ric-py-import", Runtime::ProvidedAl2023, "missing.handler", "python");
    f.code_dir = code.path().to_owned();
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(err_json(&out).0, "Runtime.ImportModuleError");
    h.shutdown().await;
}

/// A folder whose `node_modules` holds `aws-lambda-ric`: `$NIMBUS_AWS_LAMBDA_RIC_DIR`, else
/// `/var/tmp/nimbus-node-ric` (`.ci/run` builds it there: the package compiles native code and
/// needs cmake, autoconf, automake, libtool and `npm_config_nodedir=/usr`).
fn node_ric() -> Option<PathBuf> {
    let dir = std::env::var_os("NIMBUS_AWS_LAMBDA_RIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/nimbus-node-ric"));
    let entry = dir.join("node_modules/aws-lambda-ric/bin/index.mjs");
    if !entry.is_file() {
        eprintln!(
            "SKIPPED: aws-lambda-ric is not installed under {}; to run this test: apt-get install cmake \
             autoconf automake libtool && cd {0} && npm_config_nodedir=/usr npm install aws-lambda-ric \
             (or set NIMBUS_AWS_LAMBDA_RIC_DIR)",
            dir.display()
        );
        return None;
    }
    Some(entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_lambda_ric_runs_unchanged() {
    let Some(entry) = node_ric() else { return };
    let node = which("node").expect("node on PATH");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixture("node/index.js"), dir.path().join("index.js")).expect("copy");
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(
        &bootstrap,
        format!("#!/bin/sh\nexec {} {} \"$_HANDLER\"\n", node.display(), entry.display()),
    )
    .expect("bootstrap");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let h = harness();
    let mut f = function("ric-node", Runtime::ProvidedAl2023, "index.handler", "node");
    f.code_dir = dir.path().to_owned();
    let inv = invocation(r#"{"n": 21}"#);
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let v = ok_json(&out);
    assert_eq!(v["event"]["n"], 21);
    assert_eq!(v["awsRequestId"], rid.as_str());
    assert_eq!(v["functionName"], "ric-node");
    assert_eq!(v["invokedFunctionArn"], f.qualified_arn.as_str());
    assert!(v["remaining"].as_i64().expect("remaining") > 1_000);
    assert!(log_text(&out).contains("handler: got 21"), "{}", log_text(&out));
    let again = h.manager.invoke(&f, invocation(r#"{"n": 22}"#)).await.expect("warm invoke");
    assert_eq!(ok_json(&again)["pid"], v["pid"], "the same process serves the second invoke");

    let mut f = function("ric-node-missing", Runtime::ProvidedAl2023, "nope.handler", "node");
    f.code_dir = dir.path().to_owned();
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(err_json(&out).0, "Runtime.ImportModuleError");
    h.shutdown().await;
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
}
