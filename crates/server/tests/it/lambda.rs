//! Lambda through the Rust SDK: real functions (Python and Node, our bootstraps) created from
//! zips, invoked synchronously and asynchronously; versions, aliases, concurrency, destinations,
//! errors in Lambda's words, and async events that survive a SIGKILL.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    DestinationConfig, Environment, FunctionCode, InvocationType, LogType, OnFailure, Runtime, State,
};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::Server;

pub(crate) const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// A zip holding the given files.
pub(crate) fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(body.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

pub(crate) const PY_ECHO: &str = r#"
import os, json, time

def handler(event, context):
    print("handling", json.dumps(event))
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 3000,
        "greeting": os.environ.get("GREETING"),
        "region": os.environ.get("AWS_REGION"),
        "handler_env": os.environ.get("_HANDLER"),
    }
"#;

/// Appends every event it gets (one JSON line) to the file named by `RECORD_TO`.
pub(crate) const PY_RECORDER: &str = r#"
import os, json, time

def handler(event, context):
    with open(os.environ["RECORD_TO"], "a") as f:
        f.write(json.dumps({"event": event, "at": time.time()}) + "\n")
    if event.get("fail"):
        raise RuntimeError("recorded and failed")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return "ok"
"#;

pub(crate) async fn create_python(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    source: &str,
    env: &[(&str, &str)],
) -> aws_sdk_lambda::operation::create_function::CreateFunctionOutput {
    let mut vars = Environment::builder();
    for (k, v) in env {
        vars = vars.variables(*k, *v);
    }
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .environment(vars.build())
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("app.py", source)]))).build())
        .send()
        .await
        .expect("create function")
}

pub(crate) fn payload_json(out: Option<&Blob>) -> Value {
    serde_json::from_slice(out.expect("payload").as_ref()).expect("payload is JSON")
}

pub(crate) fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("recorded line is JSON"))
        .collect()
}

/// Waits until `path` holds at least `n` lines.
pub(crate) async fn wait_for_lines(path: &Path, n: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let lines = lines_of(path);
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn python_function_lifecycle_and_invoke() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "eu-west-1").await;
    let created = create_python(&lambda, "echo", PY_ECHO, &[("GREETING", "hello")]).await;
    assert_eq!(created.state(), Some(&State::Pending), "a new function is Pending in the create answer");
    assert_eq!(created.function_arn(), Some("arn:aws:lambda:eu-west-1:000000000000:function:echo"));
    assert_eq!(created.code_size(), created.code_size().max(1));
    assert_eq!(created.code_sha256().map(str::len), Some(44));

    let got = lambda.get_function().function_name("echo").send().await.expect("get");
    let config = got.configuration().expect("configuration");
    assert_eq!(config.state(), Some(&State::Active));
    assert_eq!(config.timeout(), Some(3));
    assert_eq!(config.memory_size(), Some(128));
    let location = got.code().and_then(|c| c.location()).expect("code location");
    let downloaded = server.http().get(location).send().await.expect("download").bytes().await.expect("body");
    assert_eq!(downloaded.len() as i64, config.code_size());

    let out = lambda
        .invoke()
        .function_name("echo")
        .payload(Blob::new(r#"{"n": 1}"#))
        .log_type(LogType::Tail)
        .send()
        .await
        .expect("invoke");
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), None);
    assert_eq!(out.executed_version(), Some("$LATEST"));
    let body = payload_json(out.payload());
    assert_eq!(body["event"], json!({"n": 1}));
    assert_eq!(body["function_name"], "echo");
    assert_eq!(body["function_version"], "$LATEST");
    assert_eq!(body["invoked_arn"], "arn:aws:lambda:eu-west-1:000000000000:function:echo");
    assert_eq!(body["memory"], json!("128"));
    assert_eq!(body["remaining_ok"], true);
    assert_eq!(body["greeting"], "hello");
    assert_eq!(body["region"], "eu-west-1");
    assert_eq!(body["handler_env"], "app.handler");
    let request_id = body["request_id"].as_str().expect("request id").to_owned();
    let tail = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().expect("log result"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .expect("base64 tail");
    assert!(tail.contains(&format!("START RequestId: {request_id} Version: $LATEST")), "{tail}");
    assert!(tail.contains("handling {\"n\": 1}"), "{tail}");
    assert!(tail.contains(&format!("END RequestId: {request_id}")), "{tail}");
    assert!(tail.contains(&format!("REPORT RequestId: {request_id}\tDuration: ")), "{tail}");

    let failed = lambda
        .invoke()
        .function_name("echo")
        .payload(Blob::new(r#"{"fail": true}"#))
        .send()
        .await
        .expect("a function error is still a 200");
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let err = payload_json(failed.payload());
    assert_eq!(err["errorType"], "ValueError");
    assert_eq!(err["errorMessage"], "asked to fail");

    let dry = lambda.invoke().function_name("echo").invocation_type(InvocationType::DryRun).send().await;
    assert_eq!(dry.expect("dry run").status_code(), 204);

    lambda
        .update_function_configuration()
        .function_name("echo")
        .memory_size(256)
        .environment(Environment::builder().variables("GREETING", "bonjour").build())
        .send()
        .await
        .expect("update configuration");
    let out = lambda.invoke().function_name("echo").payload(Blob::new("{}")).send().await.expect("invoke");
    let body = payload_json(out.payload());
    assert_eq!(body["greeting"], "bonjour", "a configuration change replaces warm environments");
    assert_eq!(body["memory"], json!("256"));

    let listed = lambda.list_functions().send().await.expect("list");
    let names: Vec<&str> = listed.functions().iter().filter_map(|f| f.function_name()).collect();
    assert_eq!(names, ["echo"]);

    lambda.delete_function().function_name("echo").send().await.expect("delete");
    let err = lambda.get_function().function_name("echo").send().await.expect_err("gone");
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        err.meta().message(),
        Some("Function not found: arn:aws:lambda:eu-west-1:000000000000:function:echo")
    );
}

#[tokio::test]
async fn node_function_runs_on_our_bootstrap() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let source = r#"
exports.handler = async (event, context) => {
  console.log("node got", JSON.stringify(event));
  return { doubled: event.n * 2, name: context.functionName, rid: context.awsRequestId };
};
"#;
    lambda
        .create_function()
        .function_name("node-fn")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("index.js", source)]))).build())
        .send()
        .await
        .expect("create");
    let out = lambda
        .invoke()
        .function_name("node-fn")
        .payload(Blob::new(r#"{"n": 21}"#))
        .send()
        .await
        .expect("invoke");
    let body = payload_json(out.payload());
    assert_eq!(body["doubled"], 42);
    assert_eq!(body["name"], "node-fn");
    assert_eq!(body["rid"].as_str().map(str::len), Some(36));
}

#[tokio::test]
async fn validation_errors_are_lambdas() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let code = || FunctionCode::builder().zip_file(Blob::new(zip(&[("app.py", PY_ECHO)]))).build();
    let create = |name: &str| {
        lambda.create_function().function_name(name).role(ROLE).handler("app.handler").code(code())
    };

    let e = create("m").runtime(Runtime::Python312).memory_size(10_241).send().await.expect_err("memory");
    let e = e.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationException"));
    assert_eq!(
        e.meta().message(),
        Some(
            "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"
        )
    );
    let e = create("t").runtime(Runtime::Python312).timeout(901).send().await.expect_err("timeout");
    assert!(e.into_service_error().meta().message().is_some_and(|m| m.contains("less than or equal to 900")));
    let e = create("r").runtime(Runtime::from("python3.7")).send().await.expect_err("deprecated runtime");
    let e = e.into_service_error();
    assert!(e.is_invalid_parameter_value_exception(), "{e:?}");
    assert!(
        e.meta()
            .message()
            .is_some_and(|m| m.starts_with("The runtime parameter of python3.7 is no longer supported"))
    );
    let e = lambda
        .create_function()
        .function_name("no-role")
        .runtime(Runtime::Python312)
        .handler("app.handler")
        .code(code())
        .send()
        .await
        .expect_err("role is required");
    assert_eq!(
        e.into_service_error().meta().message(),
        Some(
            "1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null"
        )
    );
    let e = create("bad-zip")
        .runtime(Runtime::Python312)
        .code(FunctionCode::builder().zip_file(Blob::new("not a zip")).build())
        .send()
        .await
        .expect_err("bad zip");
    assert!(
        e.into_service_error()
            .meta()
            .message()
            .is_some_and(|m| m.starts_with("Could not unzip uploaded file"))
    );
    let e = create("reserved")
        .runtime(Runtime::Python312)
        .environment(Environment::builder().variables("AWS_REGION", "x").build())
        .send()
        .await
        .expect_err("reserved variable");
    assert!(e.into_service_error().is_invalid_parameter_value_exception());

    create("dup").runtime(Runtime::Python312).send().await.expect("first create");
    let e = create("dup").runtime(Runtime::Python312).send().await.expect_err("second create");
    let e = e.into_service_error();
    assert!(e.is_resource_conflict_exception(), "{e:?}");
    assert_eq!(e.meta().message(), Some("Function already exist: dup"));

    let e = lambda
        .invoke()
        .function_name("dup")
        .payload(Blob::new("{not json"))
        .send()
        .await
        .expect_err("bad json");
    assert!(e.into_service_error().is_invalid_request_content_exception());

    // Raw HTTP: the wire shape of a Lambda error.
    let resp = server
        .http()
        .get(format!("{}/2015-03-31/functions/missing", server.endpoint()))
        .send()
        .await
        .expect("http");
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()),
        Some("ResourceNotFoundException")
    );
    let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json error body");
    assert_eq!(body["Type"], "User");
    assert_eq!(body["message"], "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing");
}

#[tokio::test]
async fn versions_and_aliases_route_invokes() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let v1_source = "def handler(e, c):\n    return {'v': 'one', 'version': c.function_version, 'arn': c.invoked_function_arn}\n";
    create_python(&lambda, "versioned", v1_source, &[]).await;
    let v1 = lambda.publish_version().function_name("versioned").send().await.expect("publish 1");
    assert_eq!(v1.version(), Some("1"));
    let again = lambda.publish_version().function_name("versioned").send().await.expect("publish unchanged");
    assert_eq!(again.version(), Some("1"), "publishing unchanged code returns the same version");

    let v2_source = v1_source.replace("'one'", "'two'");
    lambda
        .update_function_code()
        .function_name("versioned")
        .zip_file(Blob::new(zip(&[("app.py", &v2_source)])))
        .publish(true)
        .send()
        .await
        .expect("update and publish");
    let versions =
        lambda.list_versions_by_function().function_name("versioned").send().await.expect("versions");
    let numbers: Vec<&str> = versions.versions().iter().filter_map(|v| v.version()).collect();
    assert_eq!(numbers, ["$LATEST", "1", "2"]);

    lambda
        .create_alias()
        .function_name("versioned")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("alias");
    let out =
        lambda.invoke().function_name("versioned").qualifier("live").send().await.expect("invoke alias");
    assert_eq!(out.executed_version(), Some("1"));
    let body = payload_json(out.payload());
    assert_eq!(body["v"], "one");
    assert_eq!(body["version"], "1");
    assert_eq!(body["arn"], "arn:aws:lambda:us-east-1:000000000000:function:versioned:live");

    let out = lambda.invoke().function_name("versioned:2").send().await.expect("invoke version");
    assert_eq!(payload_json(out.payload())["v"], "two");

    let e =
        lambda.delete_function().function_name("versioned").qualifier("1").send().await.expect_err("in use");
    assert!(e.into_service_error().is_resource_conflict_exception());
    lambda
        .update_alias()
        .function_name("versioned")
        .name("live")
        .function_version("2")
        .send()
        .await
        .expect("move alias");
    let out =
        lambda.invoke().function_name("versioned").qualifier("live").send().await.expect("invoke alias");
    assert_eq!(out.executed_version(), Some("2"));
    lambda
        .delete_function()
        .function_name("versioned")
        .qualifier("1")
        .send()
        .await
        .expect("delete version 1");
    let e = lambda.invoke().function_name("versioned").qualifier("1").send().await.expect_err("version gone");
    assert!(e.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn reserved_concurrency_throttles_the_second_invoke() {
    let server = Server::ephemeral();
    let lambda = server.lambda_without_retries().await;
    create_python(&lambda, "single", PY_ECHO, &[]).await;
    let put = lambda
        .put_function_concurrency()
        .function_name("single")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .expect("reserve");
    assert_eq!(put.reserved_concurrent_executions(), Some(1));
    let settings = lambda.get_account_settings().send().await.expect("settings");
    assert_eq!(settings.account_limit().map(|l| l.unreserved_concurrent_executions()), Some(Some(999)));

    let slow = lambda.invoke().function_name("single").payload(Blob::new(r#"{"sleep": 1.5}"#)).send();
    let second = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        lambda.invoke().function_name("single").payload(Blob::new("{}")).send().await
    };
    let (first, second) = tokio::join!(slow, second);
    assert!(first.expect("first invoke runs").function_error().is_none());
    let err = second.expect_err("second invoke is throttled").into_service_error();
    match &err {
        aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(t) => {
            assert_eq!(
                t.reason(),
                Some(
                    &aws_sdk_lambda::types::ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded
                )
            );
        }
        other => panic!("expected TooManyRequestsException, got {other:?}"),
    }

    lambda
        .put_function_concurrency()
        .function_name("single")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("0");
    let err =
        lambda.invoke().function_name("single").send().await.expect_err("disabled").into_service_error();
    assert!(err.is_too_many_requests_exception());
    let e = lambda
        .put_function_concurrency()
        .function_name("single")
        .reserved_concurrent_executions(901)
        .send()
        .await
        .expect_err("leaves less than 100 unreserved");
    assert!(
        e.into_service_error()
            .meta()
            .message()
            .is_some_and(|m| m.contains("below its minimum value of [100]"))
    );
}

#[tokio::test]
async fn async_failures_are_retried_then_sent_to_on_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(None, &["--ephemeral", "--lambda-retry-base-ms", "200"]);
    let lambda = server.lambda("test", "us-east-1").await;
    let attempts = dir.path().join("attempts.jsonl");
    let failures = dir.path().join("failures.jsonl");
    create_python(&lambda, "flaky", PY_RECORDER, &[("RECORD_TO", attempts.to_str().expect("utf-8"))]).await;
    let recorder = create_python(
        &lambda,
        "on-failure",
        PY_RECORDER,
        &[("RECORD_TO", failures.to_str().expect("utf-8"))],
    )
    .await;
    let config = lambda
        .put_function_event_invoke_config()
        .function_name("flaky")
        .maximum_retry_attempts(1)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(recorder.function_arn().expect("arn")).build())
                .build(),
        )
        .send()
        .await
        .expect("event invoke config");
    assert_eq!(config.maximum_retry_attempts(), Some(1));

    let accepted = lambda
        .invoke()
        .function_name("flaky")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"fail": true, "order": 7}"#))
        .send()
        .await
        .expect("event accepted");
    assert_eq!(accepted.status_code(), 202);

    let records = wait_for_lines(&failures, 1, Duration::from_secs(20)).await;
    assert_eq!(records.len(), 1, "the failure destination got the record");
    assert_eq!(lines_of(&attempts).len(), 2, "one attempt and one retry");
    let record = &records[0]["event"];
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(
        record["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:flaky:$LATEST"
    );
    assert_eq!(record["requestPayload"], json!({"fail": true, "order": 7}));
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responseContext"]["executedVersion"], "$LATEST");
    assert_eq!(record["responsePayload"]["errorType"], "RuntimeError");
}

#[tokio::test]
async fn an_accepted_async_event_survives_sigkill() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let marks = out.path().join("marks.jsonl");
    let mut server = Server::start(data.path());
    let lambda = server.lambda("test", "us-east-1").await;
    create_python(&lambda, "slow", PY_RECORDER, &[("RECORD_TO", marks.to_str().expect("utf-8"))]).await;
    // The function records on entry, then takes 2 s: the kill lands mid-invocation, so the event
    // is still queued, and the restarted server must run it again.
    lambda
        .invoke()
        .function_name("slow")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"sleep": 2}"#))
        .send()
        .await
        .expect("accepted");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill9();
    let restarted_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    server.restart();
    let lines = wait_for_lines(&marks, 2, Duration::from_secs(20)).await;
    assert!(
        lines.iter().any(|l| l["at"].as_f64().is_some_and(|at| at > restarted_at)),
        "the event ran again after the restart: {lines:?}"
    );
}

#[tokio::test]
async fn provisioned_concurrency_keeps_an_environment_initialised() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let source = "import os\n\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n";
    create_python(&lambda, "warm", source, &[]).await;
    lambda.publish_version().function_name("warm").send().await.expect("publish");
    lambda
        .create_alias()
        .function_name("warm")
        .name("prod")
        .function_version("1")
        .send()
        .await
        .expect("alias");
    let e = lambda
        .put_provisioned_concurrency_config()
        .function_name("warm")
        .qualifier("$LATEST")
        .provisioned_concurrent_executions(1)
        .send()
        .await
        .expect_err("$LATEST cannot be provisioned");
    assert!(e.into_service_error().is_invalid_parameter_value_exception());
    let put = lambda
        .put_provisioned_concurrency_config()
        .function_name("warm")
        .qualifier("prod")
        .provisioned_concurrent_executions(1)
        .send()
        .await
        .expect("provision");
    assert_eq!(put.requested_provisioned_concurrent_executions(), Some(1));

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = lambda
            .get_provisioned_concurrency_config()
            .function_name("warm")
            .qualifier("prod")
            .send()
            .await
            .expect("get config");
        match got.status().map(|s| s.as_str()) {
            Some("READY") => {
                assert_eq!(got.available_provisioned_concurrent_executions(), Some(1));
                break;
            }
            Some("IN_PROGRESS") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => panic!("provisioning ended as {other:?}: {:?}", got.status_reason()),
        }
    }
    let out = lambda
        .invoke()
        .function_name("warm")
        .qualifier("prod")
        .log_type(LogType::Tail)
        .send()
        .await
        .expect("invoke");
    assert_eq!(payload_json(out.payload()), json!("provisioned-concurrency"));
    let tail =
        base64::engine::general_purpose::STANDARD.decode(out.log_result().expect("tail")).expect("base64");
    let tail = String::from_utf8_lossy(&tail);
    assert!(tail.contains("REPORT RequestId:"), "{tail}");
    assert!(!tail.contains("Init Duration"), "a provisioned environment reports no init: {tail}");

    lambda
        .delete_provisioned_concurrency_config()
        .function_name("warm")
        .qualifier("prod")
        .send()
        .await
        .expect("delete");
    let e = lambda
        .get_provisioned_concurrency_config()
        .function_name("warm")
        .qualifier("prod")
        .send()
        .await
        .expect_err("deleted");
    assert!(e.into_service_error().is_provisioned_concurrency_config_not_found_exception());
}

#[tokio::test]
async fn layers_are_on_the_python_path() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let layer = lambda
        .publish_layer_version()
        .layer_name("shared")
        .description("greeting helpers")
        .compatible_runtimes(Runtime::Python312)
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(Blob::new(zip(&[("python/greet.py", "def greet(n):\n    return 'hi ' + n\n")])))
                .build(),
        )
        .send()
        .await
        .expect("publish layer");
    assert_eq!(layer.version(), 1);
    let arn = layer.layer_version_arn().expect("arn").to_owned();
    assert_eq!(arn, "arn:aws:lambda:us-east-1:000000000000:layer:shared:1");

    let e = lambda
        .create_function()
        .function_name("no-such-layer")
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .layers("arn:aws:lambda:us-east-1:000000000000:layer:shared:9")
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("app.py", PY_ECHO)]))).build())
        .send()
        .await
        .expect_err("unknown layer version");
    assert_eq!(
        e.into_service_error().meta().message(),
        Some("Layer version arn:aws:lambda:us-east-1:000000000000:layer:shared:9 does not exist.")
    );

    let source = "import greet\n\ndef handler(e, c):\n    return greet.greet(e['name'])\n";
    let created = lambda
        .create_function()
        .function_name("uses-layer")
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .layers(&arn)
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("app.py", source)]))).build())
        .send()
        .await
        .expect("create with layer");
    assert_eq!(created.layers().first().and_then(|l| l.arn()), Some(arn.as_str()));
    let out = lambda
        .invoke()
        .function_name("uses-layer")
        .payload(Blob::new(r#"{"name":"ada"}"#))
        .send()
        .await
        .expect("invoke");
    assert_eq!(out.function_error(), None, "{:?}", out.payload());
    assert_eq!(payload_json(out.payload()), json!("hi ada"));

    let layers = lambda.list_layers().send().await.expect("list layers");
    assert_eq!(layers.layers().first().and_then(|l| l.layer_name()), Some("shared"));
    lambda
        .delete_layer_version()
        .layer_name("shared")
        .version_number(1)
        .send()
        .await
        .expect("delete layer version");
    let e =
        lambda.get_layer_version().layer_name("shared").version_number(1).send().await.expect_err("deleted");
    assert!(e.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn function_urls_serve_http_requests() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let source = r#"
import json

def handler(event, context):
    if event["rawPath"] == "/plain":
        return {"hello": "world"}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-seen-method": event["requestContext"]["http"]["method"]},
        "cookies": ["session=abc"],
        "body": json.dumps({"path": event["rawPath"], "query": event.get("queryStringParameters"), "body": event.get("body")}),
    }
"#;
    create_python(&lambda, "web", source, &[]).await;
    let created = lambda
        .create_function_url_config()
        .function_name("web")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .cors(
            aws_sdk_lambda::types::Cors::builder()
                .allow_origins("https://app.example")
                .allow_methods("POST")
                .build(),
        )
        .send()
        .await
        .expect("create url");
    let url = created.function_url().to_owned();
    let host = url.trim_start_matches("http://").split(':').next().expect("host").to_owned();
    assert!(host.ends_with(".lambda-url.us-east-1.localhost"), "{url}");
    let e = lambda
        .create_function_url_config()
        .function_name("web")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .expect_err("one URL per qualifier");
    assert!(e.into_service_error().is_resource_conflict_exception());

    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let http = reqwest::Client::builder().resolve(&host, addr).build().expect("client");
    let resp = http
        .post(format!("{url}orders/7?x=1"))
        .header("origin", "https://app.example")
        .body(r#"{"item":"tea"}"#)
        .send()
        .await
        .expect("url request");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers().get("x-seen-method").and_then(|v| v.to_str().ok()), Some("POST"));
    assert_eq!(resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()), Some("session=abc"));
    assert_eq!(
        resp.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
    let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    assert_eq!(body, json!({"path": "/orders/7", "query": {"x": "1"}, "body": "{\"item\":\"tea\"}"}));

    let resp = http.get(format!("{url}plain")).send().await.expect("plain");
    assert_eq!(resp.status(), 200);
    let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    assert_eq!(body, json!({"hello": "world"}));

    lambda
        .update_function_url_config()
        .function_name("web")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .expect("update url");
    let resp = http.get(format!("{url}plain")).send().await.expect("unsigned");
    assert_eq!(resp.status(), 403, "AWS_IAM URLs refuse unsigned requests");

    lambda.delete_function_url_config().function_name("web").send().await.expect("delete url");
    let resp = http.get(format!("{url}plain")).send().await.expect("gone");
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn function_logs_land_in_cloudwatch_logs() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "eu-west-1").await;
    let logs = server.logs("test", "eu-west-1").await;
    create_python(&lambda, "logged", PY_ECHO, &[]).await;
    let out = lambda
        .invoke()
        .function_name("logged")
        .payload(Blob::new(r#"{"n": 5}"#))
        .send()
        .await
        .expect("invoke");
    let request_id = payload_json(out.payload())["request_id"].as_str().expect("request id").to_owned();

    // Lines are queued and batched: poll briefly, as `aws logs tail` would.
    let deadline = Instant::now() + Duration::from_secs(10);
    let messages = loop {
        let found = logs
            .filter_log_events()
            .log_group_name("/aws/lambda/logged")
            .send()
            .await
            .map(|o| o.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect::<Vec<_>>())
            .unwrap_or_default();
        if found.iter().any(|m| m.starts_with("REPORT")) || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        messages.iter().any(|m| m.starts_with(&format!("START RequestId: {request_id}"))),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("handling {\"n\": 5}")), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.starts_with(&format!("REPORT RequestId: {request_id}"))),
        "{messages:?}"
    );
    let streams =
        logs.describe_log_streams().log_group_name("/aws/lambda/logged").send().await.expect("streams");
    let name = streams.log_streams().first().and_then(|s| s.log_stream_name()).expect("a stream").to_owned();
    assert!(name.contains("/[$LATEST]"), "Lambda's stream name form: {name}");
}

#[tokio::test]
async fn on_success_records_can_go_to_an_sqs_queue() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let queue = sqs.create_queue().queue_name("results").send().await.expect("queue");
    let url = queue.queue_url().expect("url").to_owned();
    create_python(&lambda, "ok-fn", PY_ECHO, &[]).await;
    lambda
        .put_function_event_invoke_config()
        .function_name("ok-fn")
        .destination_config(
            DestinationConfig::builder()
                .on_success(
                    aws_sdk_lambda::types::OnSuccess::builder()
                        .destination("arn:aws:sqs:us-east-1:000000000000:results")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("sqs destination");
    lambda
        .invoke()
        .function_name("ok-fn")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"n": 3}"#))
        .send()
        .await
        .expect("accepted");
    let got = sqs.receive_message().queue_url(&url).wait_time_seconds(10).send().await.expect("receive");
    let body: Value = serde_json::from_str(got.messages()[0].body().expect("body")).expect("record");
    assert_eq!(body["requestContext"]["condition"], "Success");
    assert_eq!(body["requestPayload"], json!({"n": 3}));
    assert_eq!(body["responsePayload"]["event"], json!({"n": 3}));
}

#[tokio::test]
async fn records_can_go_to_an_eventbridge_bus_and_an_sns_topic() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let sns = server.sns("test", "us-east-1").await;
    let events = server.events("test", "us-east-1").await;
    let mut urls = Vec::new();
    for name in ["from-bus", "from-topic"] {
        urls.push(crate::harness::create_queue(&sqs, name).await);
    }
    events
        .put_rule()
        .name("results")
        .event_pattern(
            r#"{"source":["lambda"],"detail-type":["Lambda Function Invocation Result - Success"]}"#,
        )
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("results")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn("arn:aws:sqs:us-east-1:000000000000:from-bus")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    let topic =
        sns.create_topic().name("failures").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:000000000000:from-topic")
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    create_python(&lambda, "ok-fn", PY_ECHO, &[]).await;
    lambda
        .put_function_event_invoke_config()
        .function_name("ok-fn")
        .maximum_retry_attempts(0)
        .destination_config(
            DestinationConfig::builder()
                .on_success(
                    aws_sdk_lambda::types::OnSuccess::builder()
                        .destination("arn:aws:events:us-east-1:000000000000:event-bus/default")
                        .build(),
                )
                .on_failure(OnFailure::builder().destination(&topic).build())
                .build(),
        )
        .send()
        .await
        .expect("destinations");
    for payload in [r#"{"n": 1}"#, r#"{"fail": true}"#] {
        lambda
            .invoke()
            .function_name("ok-fn")
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .expect("accepted");
    }
    let got = sqs.receive_message().queue_url(&urls[0]).wait_time_seconds(10).send().await.expect("receive");
    let event: Value = serde_json::from_str(got.messages()[0].body().expect("body")).expect("event");
    assert_eq!(event["source"], "lambda");
    assert_eq!(event["detail-type"], "Lambda Function Invocation Result - Success");
    assert_eq!(event["detail"]["requestPayload"], json!({"n": 1}));
    assert_eq!(event["resources"][0], "arn:aws:events:us-east-1:000000000000:event-bus/default");
    let got = sqs.receive_message().queue_url(&urls[1]).wait_time_seconds(10).send().await.expect("receive");
    let record: Value = serde_json::from_str(got.messages()[0].body().expect("body")).expect("record");
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestPayload"], json!({"fail": true}));
}

#[tokio::test]
async fn a_failed_async_event_lands_in_the_functions_dead_letter_queue() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let url = crate::harness::create_queue(&sqs, "fn-dlq").await;
    create_python(&lambda, "dlq-fn", PY_ECHO, &[]).await;
    let e = lambda
        .update_function_configuration()
        .function_name("dlq-fn")
        .dead_letter_config(
            aws_sdk_lambda::types::DeadLetterConfig::builder().target_arn("not-an-arn").build(),
        )
        .send()
        .await
        .expect_err("not an ARN");
    assert_eq!(
        e.as_service_error().and_then(|e| e.meta().message()),
        Some("Invalid dead letter ARN: ARNs must start with 'arn:'")
    );
    lambda
        .update_function_configuration()
        .function_name("dlq-fn")
        .dead_letter_config(
            aws_sdk_lambda::types::DeadLetterConfig::builder()
                .target_arn("arn:aws:sqs:us-east-1:000000000000:fn-dlq")
                .build(),
        )
        .send()
        .await
        .expect("dlq");
    lambda
        .put_function_event_invoke_config()
        .function_name("dlq-fn")
        .maximum_retry_attempts(0)
        .send()
        .await
        .expect("no retries");
    let accepted = lambda
        .invoke()
        .function_name("dlq-fn")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"fail": true}"#))
        .send()
        .await
        .expect("accepted");
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(10)
        .message_attribute_names("All")
        .send()
        .await
        .expect("receive");
    let message = &got.messages()[0];
    assert_eq!(message.body(), Some(r#"{"fail": true}"#), "the DLQ gets the event itself");
    let attr = |n: &str| {
        message.message_attributes().and_then(|a| a.get(n)).and_then(|v| v.string_value()).map(str::to_owned)
    };
    assert_eq!(attr("ErrorCode").as_deref(), Some("200"));
    assert_eq!(attr("ErrorMessage").as_deref(), Some("asked to fail"));
    use aws_sdk_lambda::operation::RequestId;
    assert_eq!(attr("RequestID").as_deref(), accepted.request_id(), "the invocation's request id");
    let config = lambda.get_function_configuration().function_name("dlq-fn").send().await.expect("config");
    assert_eq!(
        config.dead_letter_config().and_then(|d| d.target_arn()),
        Some("arn:aws:sqs:us-east-1:000000000000:fn-dlq")
    );
}
