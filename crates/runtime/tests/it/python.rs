use std::time::Duration;

use runtime::{ErrorOrigin, Runtime};

use crate::common::*;

const PY: Runtime = Runtime::Python312;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_echo_context_env_and_logs() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let mut f = function("py-echo", PY, "app.handler", "python");
    f.environment.insert("MY_VAR".into(), "mine".into());
    f.environment.insert("AWS_REGION".into(), "reserved-ignored".into());
    let mut inv = invocation(r#"{"n": 1, "text": "héllo"}"#);
    inv.client_context = Some(r#"{"custom":{"k":"v"},"client":{"app_title":"t"},"env":{}}"#.into());
    inv.cognito_identity = Some(r#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#.into());
    inv.trace_id = Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let v = ok_json(&out);
    assert_eq!(v["event"]["n"], 1);
    assert_eq!(v["event"]["text"], "héllo");
    assert_eq!(v["request_id"], rid.as_str());
    assert_eq!(v["function_name"], "py-echo");
    assert_eq!(v["function_version"], "$LATEST");
    assert_eq!(v["memory_limit_in_mb"], "128");
    assert_eq!(v["invoked_function_arn"], f.qualified_arn.as_str());
    assert_eq!(v["log_group_name"], "/aws/lambda/py-echo");
    assert_eq!(v["log_stream_name"], out.log_stream.as_str());
    let remaining = v["remaining_ms"].as_i64().expect("remaining");
    assert!(remaining > 8_000 && remaining <= 10_000, "{remaining}");
    assert_eq!(v["client_custom"]["k"], "v");
    assert_eq!(v["cognito_identity_id"], "id-1");

    let env = &v["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "py-echo");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["_HANDLER"], "app.handler");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["LANG"], "en_US.UTF-8");
    assert_eq!(env["MY_VAR"], "mine");
    assert_eq!(
        env["_X_AMZN_TRACE_ID"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    );
    assert!(env["AWS_LAMBDA_RUNTIME_API"].as_str().expect("api").starts_with("127.0.0.1:"));
    assert!(env["AWS_ACCESS_KEY_ID"].is_string() && env["AWS_SESSION_TOKEN"].is_string());
    let task_root = env["LAMBDA_TASK_ROOT"].as_str().expect("task root");
    assert_eq!(v["cwd"], task_root);
    assert!(task_root.contains(out.environment_id.as_str()), "each environment has its own task root");
    assert_eq!(v["sys_path_0"][0], task_root, "the task root comes first on sys.path");
    assert_eq!(env["TMPDIR"], env["HOME"]);
    // Nothing of the server's environment leaks in.
    assert!(v["env_count"].as_u64().expect("count") < 40, "{}", v["env_count"]);

    // Logs: INIT_START and the module's print before START; output in order; END, REPORT.
    let stream = h.stream(&out);
    let pos = |needle: &str| {
        stream.iter().position(|l| l.starts_with(needle)).unwrap_or_else(|| panic!("{needle} in {stream:#?}"))
    };
    assert!(pos("INIT_START") < pos("init: module loaded"));
    assert!(pos("init: module loaded") < pos("START RequestId"));
    assert!(pos("START RequestId") < pos("handler: got 1"));
    assert!(pos("handler: got 1") < pos("handler: to stderr"));
    assert!(pos("handler: to stderr") < pos("END RequestId"));
    let report = &stream[pos("REPORT RequestId")];
    assert!(report.contains("Init Duration: "), "{report}");
    assert!(report.contains("Memory Size: 128 MB"), "{report}");
    assert_eq!(stream[pos("START RequestId")], format!("START RequestId: {rid} Version: $LATEST"));
    // The tail holds this invocation's lines, START to REPORT.
    let tail = log_text(&out);
    assert!(tail.starts_with(&format!("START RequestId: {rid}")), "{tail}");
    assert!(tail.contains("handler: got 1") && tail.contains("REPORT RequestId"), "{tail}");
    assert!(!tail.contains("init: module loaded"));
    assert!(out.cold_start);
    assert!(out.report.init_duration.is_some());
    assert!(out.report.max_memory_used_mb > 0 && out.report.max_memory_used_mb <= 128);
    assert!(out.report.billed_duration >= out.report.duration);

    // The second invocation is warm: same environment, no init.
    let out2 = h.manager.invoke(&f, invocation(r#"{"n": 2}"#)).await.expect("invoke");
    let v2 = ok_json(&out2);
    assert!(!out2.cold_start);
    assert!(out2.report.init_duration.is_none());
    assert_eq!(out2.environment_id, out.environment_id);
    assert_eq!(v2["pid"], v["pid"]);
    assert!(
        !h.stream(&out2)
            .iter()
            .rev()
            .find(|l| l.starts_with("REPORT"))
            .expect("report")
            .contains("Init Duration")
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_handler_error_keeps_the_environment() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let f = function("py-boom", PY, "app.boom", "python");
    let inv = invocation("{}");
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "ValueError");
    assert_eq!(doc["errorType"], "ValueError");
    assert_eq!(doc["errorMessage"], "boom");
    assert_eq!(doc["requestId"], rid.as_str());
    let stack = doc["stackTrace"].as_array().expect("stackTrace");
    assert!(stack.len() == 1 && stack[0].as_str().expect("frame").contains("app.py"), "{stack:?}");
    assert_eq!(out.error().expect("error").origin, ErrorOrigin::Function);
    assert!(log_text(&out).contains("[ERROR] ValueError: boom"), "{}", log_text(&out));
    assert!(out.report.status.is_none());
    let again = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(again.environment_id, out.environment_id, "a handled error does not reset the environment");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_init_errors_as_aws_words_them() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let cases = [
        (
            "missing_module.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing_module': No module named 'missing_module'",
        ),
        (
            "broken.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'broken': No module named 'nonexistent_package_for_nimbus_tests'",
        ),
        ("app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        (
            "nodot",
            "Runtime.MalformedHandlerName",
            "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)",
        ),
        ("raises_on_import.handler", "RuntimeError", "cannot start"),
    ];
    for (handler, ty, message) in cases {
        let f = function(&format!("py-init-{}", handler.replace('.', "-")), PY, handler, "python");
        let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
        let (got, doc) = err_json(&out);
        assert_eq!(got, ty, "{handler}");
        assert_eq!(doc["errorMessage"], message, "{handler}");
        assert_eq!(doc["requestId"], "", "{handler}");
        assert_eq!(out.error().expect("error").origin, ErrorOrigin::Init);
        assert!(out.cold_start && out.report.init_duration.is_some());
        let report = log_text(&out);
        assert!(report.contains(&format!("Status: error\tError Type: {ty}")), "{report}");
        // The environment is gone: the next invoke starts another.
        assert_eq!(h.manager.status(&f.qualified_arn).idle, 0);
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_timeout_kills_and_resets() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let mut f = function("py-timeout", PY, "app.sleep", "python");
    f.timeout = Duration::from_secs(1);
    let inv = invocation(r#"{"seconds": 30}"#);
    let rid = inv.request_id.clone();
    let started = std::time::Instant::now();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "killed at the deadline, took {took:?}");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Sandbox.Timedout");
    assert_eq!(doc["errorMessage"], format!("RequestId: {rid} Error: Task timed out after 1.00 seconds"));
    let logs = log_text(&out);
    assert!(logs.contains(&format!("{rid} Task timed out after 1.00 seconds")), "{logs}");
    assert!(logs.contains("Status: timeout"), "{logs}");
    assert!(out.report.duration >= Duration::from_secs(1));
    let next = h.manager.invoke(&f, invocation(r#"{"seconds": 0}"#)).await.expect("invoke");
    assert_eq!(ok_json(&next), "woke");
    assert!(next.cold_start);
    assert_ne!(next.environment_id, out.environment_id);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_out_of_memory() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let f = function("py-oom", PY, "app.hog", "python");
    let inv = invocation("{}");
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Runtime.OutOfMemory", "{doc}");
    assert_eq!(
        doc["errorMessage"],
        format!("RequestId: {rid} Error: Runtime exited with error: signal: killed")
    );
    assert_eq!(out.report.max_memory_used_mb, 128);
    let logs = log_text(&out);
    assert!(
        logs.contains("Max Memory Used: 128 MB") && logs.contains("Error Type: Runtime.OutOfMemory"),
        "{logs}"
    );
    let next = h
        .manager
        .invoke(&function("py-oom", PY, "app.hog", "python"), invocation("{}"))
        .await
        .expect("again");
    assert!(next.cold_start, "the environment was discarded");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_crash_is_an_exit_error() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let f = function("py-crash", PY, "app.crash", "python");
    let inv = invocation("{}");
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Runtime.ExitError");
    assert_eq!(
        doc["errorMessage"],
        format!("RequestId: {rid} Error: Runtime exited with error: exit status 3")
    );
    let logs = log_text(&out);
    assert!(logs.contains("about to exit"), "the last output is attributed to the invocation: {logs}");
    assert!(logs.contains("Runtime.ExitError"), "{logs}");
    let next = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert!(next.cold_start);
    assert_ne!(next.environment_id, out.environment_id);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_response_too_large() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let f = function("py-big", PY, "app.big", "python");
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Function.ResponseSizeTooLarge");
    assert_eq!(
        doc["errorMessage"],
        "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
    );
    // The environment survives and serves the next invocation.
    let f2 = function("py-big", PY, "app.big", "python");
    let again = h.manager.invoke(&f2, invocation("{}")).await.expect("invoke");
    assert_eq!(again.environment_id, out.environment_id);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_layers_logging_and_tmp() {
    if !have(PY) {
        return;
    }
    let h = harness();
    let mut f = function("py-layer", PY, "app.use_layer", "python");
    f.layers = vec![fixture("python-layer")];
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(ok_json(&out), "from the layer");

    // AWS_LAMBDA_EXEC_WRAPPER from a layer, named by its Lambda path.
    let mut f = function("py-wrapper", PY, "app.handler", "python");
    f.layers = vec![fixture("wrapper-layer")];
    f.environment.insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/wrapper".into());
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(ok_json(&out)["env"]["WRAPPED_BY"], "wrapper");

    let f = function("py-logging", PY, "app.logs", "python");
    let inv = invocation("{}");
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    assert_eq!(ok_json(&out), "logged");
    let line = out.logs.iter().find(|e| e.message.starts_with("[INFO]")).expect("logging line");
    let parts: Vec<&str> = line.message.split('\t').collect();
    assert_eq!(parts.len(), 4, "{:?}", line.message);
    assert!(parts[1].ends_with('Z') && parts[1].len() == 24, "{:?}", parts[1]);
    assert_eq!(parts[2], rid);
    assert_eq!(parts[3], "via logging\rsecond line");

    // /tmp survives warm invocations of one environment.
    let f = function("py-tmp", PY, "app.tmp_write", "python");
    let a = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let b = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!((ok_json(&a), ok_json(&b)), (serde_json::json!(1), serde_json::json!(2)));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_python_version_runs_the_bootstrap() {
    let h = harness();
    let runtimes =
        [Runtime::Python39, Runtime::Python310, Runtime::Python311, Runtime::Python312, Runtime::Python313];
    for runtime in runtimes {
        if !have(runtime) {
            continue;
        }
        let f = function(
            &format!("py-version-{}", runtime.as_str().replace('.', "")),
            runtime,
            "app.handler",
            "python",
        );
        let out =
            h.manager.invoke(&f, invocation(r#"{"n": [1, 2.5, null, true, "é"]}"#)).await.expect("invoke");
        let v = ok_json(&out);
        assert_eq!(v["event"]["n"], serde_json::json!([1, 2.5, null, true, "é"]), "{runtime}");
        assert_eq!(v["env"]["AWS_EXECUTION_ENV"], format!("AWS_Lambda_{runtime}"));
        let (major, minor) = runtime.language_version().expect("version");
        // The interpreter may be a generic python3 where pyenv lacks this version.
        if runtime::Interpreters::detect()
            .get(runtime)
            .is_some_and(|p| p.to_string_lossy().contains(&format!("{major}.{minor}.")))
        {
            assert_eq!(v["python"], format!("{major}.{minor}"), "{runtime}");
        }
        let boom = function(&format!("py-version-boom-{minor}"), runtime, "app.boom", "python");
        let (ty, _) = err_json(&h.manager.invoke(&boom, invocation("{}")).await.expect("invoke"));
        assert_eq!(ty, "ValueError", "{runtime}");
    }
    h.shutdown().await;
}

/// Max Memory Used is the environment's peak: a warm invoke that touches memory and frees it
/// before returning raises it, and later invokes never report less.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_memory_used_keeps_a_peak_that_came_and_went() {
    if !have(Runtime::Python312) {
        return;
    }
    let h = harness();
    let mut f = function("py-peak", Runtime::Python312, "app.spike", "python");
    f.memory_mb = 512;
    let used = |out: &runtime::InvokeOutcome| out.report.max_memory_used_mb;
    let first = h.manager.invoke(&f, invocation(r#"{"mb": 1}"#)).await.expect("invoke");
    let steady = h.manager.invoke(&f, invocation(r#"{"mb": 1}"#)).await.expect("invoke");
    assert!(!steady.cold_start);
    assert!(used(&steady) >= used(&first) && used(&steady) < used(&first) + 40, "{first:?} {steady:?}");
    let spike = h.manager.invoke(&f, invocation(r#"{"mb": 150}"#)).await.expect("invoke");
    assert_eq!(ok_json(&spike), serde_json::json!(150 * 1024 * 1024));
    assert_eq!(spike.environment_id, steady.environment_id);
    assert!(used(&spike) >= used(&steady) + 140, "steady {} MB, spike {} MB", used(&steady), used(&spike));
    let after = h.manager.invoke(&f, invocation(r#"{"mb": 1}"#)).await.expect("invoke");
    assert_eq!(after.environment_id, steady.environment_id);
    assert!(
        used(&after) >= used(&spike),
        "the peak stays the environment's: {} then {}",
        used(&spike),
        used(&after)
    );
    h.shutdown().await;
}
