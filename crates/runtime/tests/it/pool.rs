use std::collections::BTreeSet;
use std::time::Duration;

use runtime::{PoolStatus, Runtime};

use crate::common::*;

const PY: Runtime = Runtime::Python312;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invokes_get_separate_environments_then_reuse_them() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let f = function("pool-concurrent", PY, "app.slow", "python");
    let run = || async {
        let payload = r#"{"seconds": 0.4}"#;
        let (a, b, c) = tokio::join!(
            h.manager.invoke(&f, invocation(payload)),
            h.manager.invoke(&f, invocation(payload)),
            h.manager.invoke(&f, invocation(payload)),
        );
        [a.expect("a"), b.expect("b"), c.expect("c")]
    };
    let first = run().await;
    let envs: BTreeSet<_> = first.iter().map(|o| o.environment_id.clone()).collect();
    assert_eq!(envs.len(), 3, "three concurrent invocations, three environments");
    assert!(first.iter().all(|o| o.cold_start));
    let pids: BTreeSet<_> = first.iter().map(|o| ok_json(o).as_i64().expect("pid")).collect();
    assert_eq!(pids.len(), 3);
    assert_eq!(
        h.manager.status(&f.qualified_arn),
        PoolStatus { idle: 3, busy: 0, provisioned: 0, provisioned_target: 0 }
    );

    let second = run().await;
    let envs2: BTreeSet<_> = second.iter().map(|o| o.environment_id.clone()).collect();
    assert_eq!(envs2, envs, "warm environments are reused");
    assert!(second.iter().all(|o| !o.cold_start && o.report.init_duration.is_none()));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prewarmed_environments_have_no_init_duration() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let mut f = function("pool-prewarm", PY, "app.handler", "python");
    f.version = "3".into();
    f.qualified_arn = "arn:aws:lambda:us-east-1:000000000000:function:pool-prewarm:3".into();
    h.manager.prewarm(&f, 2).await.expect("prewarm");
    assert_eq!(
        h.manager.status(&f.qualified_arn),
        PoolStatus { idle: 2, busy: 0, provisioned: 2, provisioned_target: 2 }
    );
    let mut inv = invocation(r#"{"n": 1}"#);
    inv.invoked_function_arn =
        Some("arn:aws:lambda:us-east-1:000000000000:function:pool-prewarm:live".into());
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let v = ok_json(&out);
    assert!(!out.cold_start);
    assert!(out.report.init_duration.is_none());
    assert_eq!(v["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"], "provisioned-concurrency");
    assert_eq!(v["function_version"], "3");
    assert_eq!(v["invoked_function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:pool-prewarm:live");
    assert!(out.log_stream.contains("/[3]"), "{}", out.log_stream);
    // Scaling down stops the surplus.
    h.manager.prewarm(&f, 1).await.expect("scale down");
    assert_eq!(h.manager.status(&f.qualified_arn).provisioned, 1);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prewarm_reports_init_failures() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let f = function("pool-prewarm-broken", PY, "broken.handler", "python");
    let err = h.manager.prewarm(&f, 1).await.expect_err("init fails");
    match err {
        runtime::RuntimeError::InitFailed { error_type, message } => {
            assert_eq!(error_type, "Runtime.ImportModuleError");
            assert!(message.starts_with("Unable to import module 'broken'"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.manager.status(&f.qualified_arn).provisioned, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_environments_are_reaped_and_evict_discards() {
    if !have(PY) {
        return;
    }
    let h = harness_with(|c| c.idle_timeout = Duration::from_millis(300));
    let f = function("pool-reap", PY, "app.started", "python");
    let a = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(h.manager.status(&f.qualified_arn).idle, 1);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(h.manager.status(&f.qualified_arn).idle, 0, "reaped after the idle timeout");
    let b = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert!(b.cold_start);
    assert_ne!(a.environment_id, b.environment_id);

    h.manager.evict(&f.qualified_arn);
    let c = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert!(c.cold_start, "evicted environments are not reused");

    // A changed configuration never reuses an environment of the old one.
    let mut changed = f.clone();
    changed.memory_mb = 256;
    let d = h.manager.invoke(&changed, invocation("{}")).await.expect("invoke");
    assert!(d.cold_start);
    assert_eq!(d.report.memory_size_mb, 256);
    h.shutdown().await;
}
