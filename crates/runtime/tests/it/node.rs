use std::time::Duration;

use runtime::{InvokeResult, Runtime};

use crate::common::*;

const NODE: Runtime = Runtime::Nodejs20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_commonjs_echo_context_env_and_logs() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let mut f = function("node-echo", NODE, "index.handler", "node");
    f.environment.insert("MY_VAR".into(), "mine".into());
    let inv = invocation(r#"{"n": 5}"#);
    let rid = inv.request_id.clone();
    let out = h.manager.invoke(&f, inv).await.expect("invoke");
    let v = ok_json(&out);
    assert_eq!(v["event"]["n"], 5);
    assert_eq!(v["awsRequestId"], rid.as_str());
    assert_eq!(v["functionName"], "node-echo");
    assert_eq!(v["functionVersion"], "$LATEST");
    assert_eq!(v["memoryLimitInMB"], "128");
    assert_eq!(v["invokedFunctionArn"], f.qualified_arn.as_str());
    assert_eq!(v["logStreamName"], out.log_stream.as_str());
    let remaining = v["remaining"].as_i64().expect("remaining");
    assert!(remaining > 8_000 && remaining <= 10_000, "{remaining}");
    let env = &v["env"];
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_nodejs20.x");
    assert_eq!(env["_HANDLER"], "index.handler");
    assert_eq!(env["MY_VAR"], "mine");
    assert_eq!(env["TZ"], ":UTC");
    assert!(env["NODE_EXTRA_CA_CERTS"].is_null(), "the server's environment does not leak in");
    assert!(env["NODE_PATH"].as_str().expect("NODE_PATH").contains("/opt/nodejs/node20/node_modules"));
    assert!(env["_X_AMZN_TRACE_ID"].as_str().expect("trace").starts_with("Root=1-"));
    assert_eq!(v["cwd"], env["LAMBDA_TASK_ROOT"]);
    // console.log is formatted as on Lambda: time, request id, level, message.
    let line = out.logs.iter().find(|e| e.message.contains("handler: got 5")).expect("console line");
    let parts: Vec<&str> = line.message.split('\t').collect();
    assert_eq!(&parts[1..], &[rid.as_str(), "INFO", "handler: got 5"]);
    let stream = h.stream(&out);
    assert!(stream.iter().any(|l| l.ends_with("\tundefined\tINFO\tinit: module loaded")), "{stream:#?}");
    assert!(out.cold_start && out.report.init_duration.is_some());

    let again = h.manager.invoke(&f, invocation(r#"{"n": 6}"#)).await.expect("invoke");
    assert_eq!(ok_json(&again)["pid"], v["pid"]);
    assert!(!again.cold_start);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_output_keeps_its_order_across_console_and_streams() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let f = function("node-mixed", NODE, "index.mixed", "node");
    for _ in 0..2 {
        let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
        assert_eq!(ok_json(&out), "mixed");
        let lines: Vec<&str> = out
            .logs
            .iter()
            .map(|e| e.message.as_str())
            .filter(|m| !m.starts_with("START") && !m.starts_with("END") && !m.starts_with("REPORT"))
            .collect();
        let tails: Vec<String> = lines
            .iter()
            .map(|l| l.rsplit('\t').next().unwrap_or(l).split(' ').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(tails, ["one", "two", "three", "four", "five", "six", "seven", "eight"], "{lines:#?}");
        let long = lines.iter().find(|l| l.contains("\tINFO\tfive ")).expect("the long line");
        assert!(long.ends_with(&"x".repeat(100 * 1024)), "the long line arrived whole");
        assert!(lines[6].ends_with(&"y".repeat(100 * 1024)), "the long write arrived whole");
        assert!(lines[2].contains("\tERROR\tthree") && lines[5].contains("\tWARN\tsix"), "{lines:#?}");
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_handler_styles() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let call = |handler: &str, code: &str| {
        let f = function(&format!("node-{}", handler.replace(['.', '/'], "-")), NODE, handler, code);
        let h = &h;
        async move { h.manager.invoke(&f, invocation(r#"{"n": 7}"#)).await.expect("invoke") }
    };
    assert_eq!(
        ok_json(&call("index.callback", "node").await),
        serde_json::json!({"via": "callback", "n": 7})
    );
    assert_eq!(ok_json(&call("index.nested.inner", "node").await), "nested ok");
    let esm = ok_json(&call("esm/index.handler", "node").await);
    assert_eq!(esm["esm"], true);
    assert_eq!(esm["n"], 7);
    assert_eq!(ok_json(&call("app.handler", "node").await), serde_json::json!({"mjs": true, "n": 7}));

    // callbackWaitsForEmptyEventLoop: the response waits for the pending timer...
    let started = std::time::Instant::now();
    let out = call("index.lingering", "node").await;
    assert!(started.elapsed() >= Duration::from_millis(250), "waited for the event loop");
    assert!(log_text(&out).contains("timer done"), "{}", log_text(&out));
    // ...unless the handler turns it off.
    let started = std::time::Instant::now();
    assert_eq!(ok_json(&call("index.noWait", "node").await), "fast");
    assert!(started.elapsed() < Duration::from_millis(1500));

    // Streaming responses are buffered whole.
    let out = call("index.stream", "node").await;
    match &out.result {
        InvokeResult::Response(r) => {
            assert_eq!(&r.payload[..], b"hello stream");
            assert!(r.streamed);
            assert_eq!(r.content_type.as_deref(), Some("text/plain"));
        }
        InvokeResult::Error(e) => panic!("{}", String::from_utf8_lossy(&e.payload)),
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_errors() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let call = |handler: &str| {
        let f = function(&format!("node-err-{}", handler.replace('.', "-")), NODE, handler, "node");
        let h = &h;
        async move { h.manager.invoke(&f, invocation("{}")).await.expect("invoke") }
    };
    let (ty, doc) = err_json(&call("index.boom").await);
    assert_eq!(ty, "TypeError");
    assert_eq!(doc["errorMessage"], "boom");
    assert_eq!(doc["trace"][0], "TypeError: boom");
    let (ty, doc) = err_json(&call("index.callbackError").await);
    assert_eq!((ty.as_str(), doc["errorMessage"].as_str()), ("Error", Some("via callback")));

    let (ty, doc) = err_json(&call("missing.handler").await);
    assert_eq!(ty, "Runtime.ImportModuleError");
    assert!(doc["errorMessage"].as_str().expect("message").starts_with("Error: Cannot find module"), "{doc}");
    let (ty, doc) = err_json(&call("broken.handler").await);
    assert_eq!(ty, "Runtime.ImportModuleError");
    assert!(
        doc["errorMessage"].as_str().expect("message").contains("nonexistent-package-for-nimbus-tests"),
        "{doc}"
    );
    let (ty, doc) = err_json(&call("index.nope").await);
    assert_eq!(ty, "Runtime.HandlerNotFound");
    assert_eq!(doc["errorMessage"], "index.nope is undefined or not exported");

    // An exception thrown outside the handler's promise fails the invocation and the runtime.
    let out = call("index.uncaught").await;
    let (ty, doc) = err_json(&out);
    assert_eq!((ty.as_str(), doc["errorMessage"].as_str()), ("Error", Some("thrown later")));

    let out = call("index.crash").await;
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Runtime.ExitError");
    assert!(
        doc["errorMessage"]
            .as_str()
            .expect("message")
            .ends_with("Error: Runtime exited with error: exit status 3")
    );
    assert!(log_text(&out).contains("about to exit"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_limits() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let mut f = function("node-timeout", NODE, "index.sleep", "node");
    f.timeout = Duration::from_secs(1);
    let out = h.manager.invoke(&f, invocation(r#"{"seconds": 30}"#)).await.expect("invoke");
    assert_eq!(err_json(&out).0, "Sandbox.Timedout");

    let f = function("node-oom", NODE, "index.hog", "node");
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Runtime.OutOfMemory", "{doc}\n{}", log_text(&out));

    let f = function("node-big", NODE, "index.big", "node");
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    assert_eq!(err_json(&out).0, "Function.ResponseSizeTooLarge");
    h.shutdown().await;
}
