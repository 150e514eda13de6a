//! Traces against a real server: one S3 upload sets off a function that writes a DynamoDB item
//! and puts an event (with boto3, which copies `_X_AMZN_TRACE_ID` into `X-Amzn-Trace-Id` as the
//! AWS SDKs do in Lambda), whose rule invokes a second function; the console's trace API must
//! show every hop, in order, under one trace, each under the hop that caused it. A trace a
//! client starts with its own `X-Amzn-Trace-Id` keeps its root.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_eventbridge::types::Target;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Event, LambdaFunctionConfiguration, NotificationConfiguration};
use serde_json::Value;

use crate::harness::Server;

const ON_UPLOAD: &str = r#"
import json, os, sys
if os.environ.get("BOTO3_PATH"):
    sys.path.append(os.environ["BOTO3_PATH"])
import boto3

dynamodb = boto3.client("dynamodb")
events = boto3.client("events")

def handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    dynamodb.put_item(TableName="images", Item={
        "key": {"S": key},
        "trace": {"S": os.environ.get("_X_AMZN_TRACE_ID", "")},
    })
    events.put_events(Entries=[{
        "Source": "test.trace", "DetailType": "Processed", "Detail": json.dumps({"key": key}),
    }])
    return "ok"
"#;

const ON_PROCESSED: &str = r#"
def handler(event, context):
    print("processed", event.get("detail"))
    return "ok"
"#;

/// Where boto3 is installed, for functions to import it from (Lambda's Python runtimes ship it;
/// Nimbus runs functions on the machine's interpreter in a fresh environment). The interpreter
/// asked is `NIMBUS_BOTO3_PYTHON` (`.ci/run` points it at its venv, which has boto3), else
/// `python3`.
fn boto3_path() -> String {
    let python = std::env::var("NIMBUS_BOTO3_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .args(["-c", "import boto3, os; print(os.path.dirname(os.path.dirname(boto3.__file__)))"])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "this test needs boto3 ({python} -m pip install boto3, or NIMBUS_BOTO3_PYTHON=a python with it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let resp = server.http().get(format!("{}{path}", server.endpoint())).send().await.expect("get");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Polls a trace until `done` holds for its spans.
async fn wait_for_trace(server: &Server, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, trace) = get(server, &format!("/_nimbus/api/traces/{id}")).await;
        let spans = trace["spans"].as_array().cloned().unwrap_or_default();
        if status == 200 && done(&spans) {
            return spans;
        }
        assert!(Instant::now() < deadline, "trace {id} never completed: {status} {trace}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn label(span: &Value) -> (String, String) {
    (
        span["service"].as_str().unwrap_or_default().to_owned(),
        span["operation"].as_str().unwrap_or_default().to_owned(),
    )
}

fn resource_ends(span: &Value, suffix: &str) -> bool {
    span["resource"].as_str().is_some_and(|r| r.ends_with(suffix))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upload_is_followed_through_every_hop() {
    let server = Server::ephemeral();
    let boto3 = boto3_path();
    let lambda = server.lambda("test", "us-east-1").await;
    let on_upload =
        crate::lambda::create_python(&lambda, "on-upload", ON_UPLOAD, &[("BOTO3_PATH", &boto3)]).await;
    let on_processed = crate::lambda::create_python(&lambda, "on-processed", ON_PROCESSED, &[]).await;

    let dynamodb = server.dynamodb("test", "us-east-1").await;
    dynamodb
        .create_table()
        .table_name("images")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("key")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder().attribute_name("key").key_type(KeyType::Hash).build().expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("table");
    let events = server.events("test", "us-east-1").await;
    events
        .put_rule()
        .name("processed")
        .event_pattern(r#"{"source":["test.trace"]}"#)
        .send()
        .await
        .expect("rule");
    let target =
        Target::builder().id("fn").arn(on_processed.function_arn().expect("arn")).build().expect("target");
    events.put_targets().rule("processed").targets(target).send().await.expect("targets");
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("uploads").send().await.expect("bucket");
    let notify = LambdaFunctionConfiguration::builder()
        .lambda_function_arn(on_upload.function_arn().expect("arn"))
        .events(Event::from("s3:ObjectCreated:*"))
        .build()
        .expect("config");
    s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(
            NotificationConfiguration::builder().lambda_function_configurations(notify).build(),
        )
        .send()
        .await
        .expect("notification");

    // Nothing so far set off work: configuring resources records no trace.
    let (status, before) = get(&server, "/_nimbus/api/traces").await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["traces"], serde_json::json!([]), "{before}");

    s3.put_object()
        .bucket("uploads")
        .key("photo.png")
        .body(ByteStream::from_static(b"png"))
        .send()
        .await
        .expect("put");

    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let (_, list) = get(&server, "/_nimbus/api/traces").await;
        let found =
            list["traces"].as_array().into_iter().flatten().find(|t| t["root"]["operation"] == "PutObject");
        if let Some(t) = found {
            assert_eq!(t["root"]["service"], "s3", "{t}");
            assert_eq!(t["root"]["resource"], "uploads/photo.png", "{t}");
            break t["id"].as_str().expect("id").to_owned();
        }
        assert!(Instant::now() < deadline, "no trace for the upload: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let spans = wait_for_trace(&server, &id, |spans| {
        spans.len() >= 5
            && spans.iter().any(|s| resource_ends(s, ":on-processed") && s["requestId"].is_string())
    })
    .await;
    let labels: Vec<(String, String)> = spans.iter().map(label).collect();
    let want = [
        ("s3", "PutObject"),
        ("lambda", "Invoke"),
        ("dynamodb", "PutItem"),
        ("events", "PutEvents"),
        ("lambda", "Invoke"),
    ];
    assert_eq!(labels, want.map(|(a, b)| (a.to_owned(), b.to_owned())), "{spans:#?}");
    let (put, first, item, event, second) = (&spans[0], &spans[1], &spans[2], &spans[3], &spans[4]);
    assert!(resource_ends(first, ":on-upload") && resource_ends(second, ":on-processed"), "{spans:#?}");
    assert_eq!(item["resource"], "images");
    assert_eq!(event["resource"], "default");
    // Each hop hangs under the one that caused it.
    assert_eq!(put["parent"], Value::Null);
    assert_eq!(first["parent"], put["id"]);
    assert_eq!(item["parent"], first["id"]);
    assert_eq!(event["parent"], first["id"]);
    assert_eq!(second["parent"], event["id"]);
    assert_eq!(first["coldStart"], true);
    assert!(spans.iter().all(|s| s["outcome"] == "ok"), "{spans:#?}");
    let offsets: Vec<i64> = spans.iter().filter_map(|s| s["offsetUs"].as_i64()).collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]) && offsets[0] == 0, "{offsets:?}");

    // The function saw its own span as the parent of what it does, as `_X_AMZN_TRACE_ID`.
    let item = dynamodb
        .get_item()
        .table_name("images")
        .key("key", AttributeValue::S("photo.png".to_owned()))
        .send()
        .await
        .expect("get item");
    let seen =
        item.item().and_then(|i| i.get("trace")).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let expected = format!("Root={id};Parent={};Sampled=0", first["id"].as_str().unwrap_or_default());
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_trace_header_is_kept() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    crate::lambda::create_python(&lambda, "echo", ON_PROCESSED, &[]).await;
    let root = "1-65a1b2c3-0123456789abcdef01234567";
    let header = format!("Root={root};Parent=53995c3f42cd8ad8;Sampled=1");
    let sent = header.clone();
    lambda
        .invoke()
        .function_name("echo")
        .payload(Blob::new("{}"))
        .customize()
        .mutate_request(move |req| {
            req.headers_mut().insert("x-amzn-trace-id", sent.clone());
        })
        .send()
        .await
        .expect("invoke");
    let spans = wait_for_trace(&server, root, |spans| spans.len() >= 2).await;
    let labels: Vec<(String, String)> = spans.iter().map(label).collect();
    assert_eq!(
        labels,
        [("lambda".to_owned(), "Invoke".to_owned()), ("lambda".to_owned(), "Invoke".to_owned())]
    );
    // The request, under the client's span, then the invocation it ran.
    assert_eq!(spans[0]["parent"], "53995c3f42cd8ad8");
    assert!(spans[0]["requestId"].is_null() && spans[1]["requestId"].is_string(), "{spans:#?}");
    assert_eq!(spans[1]["parent"], spans[0]["id"]);

    // A malformed header is ignored: the request starts a trace of its own.
    lambda
        .invoke()
        .function_name("echo")
        .payload(Blob::new("{}"))
        .customize()
        .mutate_request(|req| {
            req.headers_mut().insert("x-amzn-trace-id", "Root=nonsense");
        })
        .send()
        .await
        .expect("invoke");
    let (_, list) = get(&server, "/_nimbus/api/traces").await;
    let ids: Vec<&str> =
        list["traces"].as_array().into_iter().flatten().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{list}");
    assert_eq!(ids[1], root, "newest first: {list}");
    let (status, _) = get(&server, &format!("/_nimbus/api/traces/{root}?account=111111111111")).await;
    assert_eq!(status, 404, "another tenant does not see it");
}
