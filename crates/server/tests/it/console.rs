//! The web console at `/_nimbus/` against a real server: an application wired through S3
//! notifications, an SQS event source mapping and an EventBridge rule, invoked for real; the
//! console's graph, invocations (cold and warm, from the REPORT lines) and cost (GB-seconds ×
//! the list price) must tell exactly what happened.

use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_s3::types::{Event, LambdaFunctionConfiguration, NotificationConfiguration};
use serde_json::Value;

use crate::harness::Server;

const HANDLER: &str = r#"
import json

def handler(event, context):
    print("handled", context.function_name, json.dumps(event)[:80])
    return "ok"
"#;

/// The list prices the console ships with (`crates/console/prices/us-east-1.json`).
const PER_REQUEST: f64 = 0.0000002;
const PER_GB_SECOND_X86: f64 = 0.0000166667;

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let resp = server.http().get(format!("{}{path}", server.endpoint())).send().await.expect("get");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Polls the console's function list until `want(name) <= invocations` for every function.
async fn wait_for_invocations(server: &Server, want: &[(&str, u64)]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get(server, "/_nimbus/api/functions").await;
        assert_eq!(status, 200, "{body}");
        let count = |name: &str| {
            body["functions"]
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["name"] == name))
                .and_then(|f| f["invocations"].as_u64())
                .unwrap_or(0)
        };
        if want.iter().all(|(name, n)| count(name) >= *n) {
            return body;
        }
        assert!(Instant::now() < deadline, "invocations never showed up: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn has_edge(graph: &Value, from: &str, to: &str, kind: &str) -> bool {
    graph["edges"]
        .as_array()
        .is_some_and(|es| es.iter().any(|e| e["from"] == from && e["to"] == to && e["kind"] == kind))
}

fn node_kind<'g>(graph: &'g Value, id: &str) -> Option<&'g str> {
    graph["nodes"].as_array()?.iter().find(|n| n["id"] == id)?["kind"].as_str()
}

/// REPORT figures read straight from CloudWatch Logs with the SDK: (billed ms, memory MB, cold).
async fn reports(server: &Server, function: &str) -> Vec<(u64, u64, bool)> {
    let logs = server.logs("test", "us-east-1").await;
    let out = logs
        .filter_log_events()
        .log_group_name(format!("/aws/lambda/{function}"))
        .filter_pattern("REPORT")
        .send()
        .await
        .expect("filter");
    out.events()
        .iter()
        .filter_map(|e| e.message())
        .filter(|m| m.starts_with("REPORT "))
        .map(|m| {
            let field = |name: &str| {
                m.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .expect("field")
            };
            (field("Billed Duration: "), field("Memory Size: "), m.contains("Init Duration: "))
        })
        .collect()
}

#[tokio::test]
async fn the_console_shows_the_wiring_the_invocations_and_their_cost() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let mut arns = Vec::new();
    for name in ["on-upload", "on-job", "on-rule"] {
        let f = crate::lambda::create_python(&lambda, name, HANDLER, &[]).await;
        arns.push(f.function_arn().expect("arn").to_owned());
    }

    // bucket → on-upload
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("uploads").send().await.expect("bucket");
    let config = NotificationConfiguration::builder()
        .lambda_function_configurations(
            LambdaFunctionConfiguration::builder()
                .id("new-upload")
                .lambda_function_arn(&arns[0])
                .events(Event::from("s3:ObjectCreated:*"))
                .build()
                .expect("config"),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(config)
        .send()
        .await
        .expect("notification");

    // queue → on-job
    let sqs = server.sqs("test", "us-east-1").await;
    let url = crate::harness::create_queue(&sqs, "jobs").await;
    let queue_arn = "arn:aws:sqs:us-east-1:000000000000:jobs";
    lambda
        .create_event_source_mapping()
        .function_name("on-job")
        .event_source_arn(queue_arn)
        .batch_size(1)
        .send()
        .await
        .expect("mapping");

    // default bus → rule → on-rule
    let events = server.events("test", "us-east-1").await;
    events
        .put_rule()
        .name("images")
        .event_pattern(r#"{"source":["test.images"]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("images")
        .targets(Target::builder().id("fn").arn(&arns[2]).build().expect("target"))
        .send()
        .await
        .expect("targets");

    let (status, graph) = get(&server, "/_nimbus/api/graph").await;
    assert_eq!(status, 200, "{graph}");
    assert_eq!(
        (graph["account"].as_str(), graph["region"].as_str()),
        (Some("000000000000"), Some("us-east-1"))
    );
    assert_eq!(graph["warnings"], serde_json::json!([]), "{graph}");
    let bucket = "arn:aws:s3:::uploads";
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    let rule = "arn:aws:events:us-east-1:000000000000:rule/images";
    assert_eq!(node_kind(&graph, bucket), Some("bucket"));
    assert_eq!(node_kind(&graph, queue_arn), Some("queue"));
    assert_eq!(node_kind(&graph, bus), Some("bus"));
    assert_eq!(node_kind(&graph, rule), Some("rule"));
    for arn in &arns {
        assert_eq!(node_kind(&graph, arn), Some("function"), "{arn}");
    }
    assert!(has_edge(&graph, bucket, &arns[0], "notification"), "{graph}");
    assert!(has_edge(&graph, queue_arn, &arns[1], "event source"), "{graph}");
    assert!(has_edge(&graph, bus, rule, "rule"), "{graph}");
    assert!(has_edge(&graph, rule, &arns[2], "target"), "{graph}");
    // Sources left of the functions they trigger.
    let layer = |id: &str| {
        graph["nodes"]
            .as_array()
            .and_then(|ns| ns.iter().find(|n| n["id"] == id))
            .and_then(|n| n["layer"].as_u64())
    };
    assert!(layer(bucket) < layer(&arns[0]));
    assert!(layer(rule) < layer(&arns[2]));

    // Traffic: the upload invokes on-upload (cold), then a direct invoke reuses it (warm).
    s3.put_object().bucket("uploads").key("cat.jpg").body(b"img".to_vec().into()).send().await.expect("put");
    sqs.send_message().queue_url(&url).message_body("job-1").send().await.expect("send");
    events
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .source("test.images")
                .detail_type("ImageProcessed")
                .detail(r#"{"key":"cat.jpg"}"#)
                .build(),
        )
        .send()
        .await
        .expect("put events");
    wait_for_invocations(&server, &[("on-upload", 1), ("on-job", 1), ("on-rule", 1)]).await;
    lambda
        .invoke()
        .function_name("on-upload")
        .payload(Blob::new(r#"{"direct":true}"#))
        .send()
        .await
        .expect("invoke");
    let functions = wait_for_invocations(&server, &[("on-upload", 2)]).await;
    let on_upload = functions["functions"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"] == "on-upload"))
        .expect("on-upload listed");
    assert_eq!(on_upload["coldStarts"], 1, "{on_upload}");
    assert_eq!(on_upload["architecture"], "x86_64");

    let (status, inv) = get(&server, "/_nimbus/api/invocations?function=on-upload").await;
    assert_eq!(status, 200, "{inv}");
    assert_eq!(inv["total"], 2, "{inv}");
    let (newest, oldest) = (&inv["invocations"][0], &inv["invocations"][1]);
    assert_eq!(newest["cold"], false, "{inv}");
    assert!(newest.get("init_duration_ms").is_none());
    assert_eq!(oldest["cold"], true, "{inv}");
    assert!(oldest["init_duration_ms"].as_f64().is_some_and(|d| d > 0.0), "{inv}");
    assert_eq!(oldest["outcome"], "ok");
    assert_eq!(oldest["memory_size_mb"], 128);
    assert!(newest["billed_duration_ms"].as_u64().is_some_and(|b| b >= 1));
    let logs: Vec<&str> =
        newest["logs"].as_array().expect("logs").iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(logs.first().is_some_and(|l| l.starts_with("START RequestId: ")), "{logs:?}");
    assert!(logs.iter().any(|l| l.contains("handled on-upload") && l.contains("direct")), "{logs:?}");
    assert!(logs.last().is_some_and(|l| l.starts_with("REPORT RequestId: ")), "{logs:?}");
    assert!(
        logs.iter().all(|l| !l.contains("aws:s3")),
        "the upload invocation's lines are not this one's: {logs:?}"
    );

    // Cost: every REPORT line, read independently, priced at the list price.
    let (status, bill) = get(&server, "/_nimbus/api/cost").await;
    assert_eq!(status, 200, "{bill}");
    let mut want_total = 0.0;
    let mut want_gb_s = 0.0;
    for name in ["on-upload", "on-job", "on-rule"] {
        let reports = reports(&server, name).await;
        let gb_s: f64 =
            reports.iter().map(|(billed, mem, _)| *mem as f64 / 1024.0 * *billed as f64 / 1000.0).sum();
        let line = bill["functions"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["function"] == name))
            .unwrap_or_else(|| panic!("{name} missing from {bill}"));
        assert_eq!(line["requests"].as_u64(), Some(reports.len() as u64), "{name}: {bill}");
        assert_eq!(line["cold_starts"].as_u64(), Some(reports.iter().filter(|r| r.2).count() as u64));
        assert!(
            (line["gb_seconds"].as_f64().expect("gb-s") - gb_s).abs() < 1e-12,
            "{name}: {line} vs {gb_s}"
        );
        let cost = gb_s * PER_GB_SECOND_X86 + reports.len() as f64 * PER_REQUEST;
        assert!((line["total"].as_f64().expect("total") - cost).abs() < 1e-15, "{name}: {line} vs {cost}");
        want_total += cost;
        want_gb_s += gb_s;
    }
    assert_eq!(bill["requests"], 4);
    assert!((bill["gb_seconds"].as_f64().expect("gb-s") - want_gb_s).abs() < 1e-12);
    assert!((bill["total"].as_f64().expect("total") - want_total).abs() < 1e-15, "{bill}");
    assert_eq!(bill["prices"]["source"], "https://aws.amazon.com/lambda/pricing/");

    // A window that starts after all of it has nothing to price.
    let later =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis()
            + 60_000;
    let (_, empty) = get(&server, &format!("/_nimbus/api/cost?since={later}")).await;
    assert_eq!(empty["requests"], 0, "{empty}");
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_and_tenants_are_separate() {
    let server = Server::ephemeral();
    let no_redirect =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let resp = no_redirect.get(format!("{}/_nimbus", server.endpoint())).send().await.expect("get");
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/_nimbus/");
    for (path, ty, needle) in [
        ("/_nimbus/", "text/html", "app.js"),
        ("/_nimbus/app.js", "text/javascript", "refreshGraph"),
        ("/_nimbus/app.css", "text/css", "--function"),
    ] {
        let resp = server.http().get(format!("{}{path}", server.endpoint())).send().await.expect("get");
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with(ty)), "{path}");
        assert!(resp.text().await.expect("body").contains(needle), "{path}");
    }
    // Health stays where tooling polls it.
    let (status, health) = get(&server, "/_nimbus/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["services"]["lambda"], "running");

    // A queue in another account shows only there.
    let other = server.sqs("111122223333", "eu-west-1").await;
    crate::harness::create_queue(&other, "elsewhere").await;
    let (_, mine) = get(&server, "/_nimbus/api/graph").await;
    assert!(mine["nodes"].as_array().is_some_and(|ns| ns.iter().all(|n| n["name"] != "elsewhere")), "{mine}");
    let (_, theirs) = get(&server, "/_nimbus/api/graph?account=111122223333&region=eu-west-1").await;
    assert_eq!(node_kind(&theirs, "arn:aws:sqs:eu-west-1:111122223333:elsewhere"), Some("queue"), "{theirs}");

    let (status, err) = get(&server, "/_nimbus/api/graph?region=not%20a%20region").await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "BadRequest");
    let (status, _) = get(&server, "/_nimbus/api/nope").await;
    assert_eq!(status, 404);
}
