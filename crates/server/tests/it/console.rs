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
    assert!((bill["lambda_total"].as_f64().expect("total") - want_total).abs() < 1e-15, "{bill}");
    assert_eq!(bill["prices"]["source"], "https://aws.amazon.com/lambda/pricing/");
    // The bucket's requests (CreateBucket, PutBucketNotificationConfiguration, PutObject) and
    // the custom event are priced beside the functions, and in the total.
    let uploads = resource(&bill, "uploads");
    assert_eq!(line_of(uploads, "PUT, COPY, POST, LIST requests")["quantity"], 3.0, "{uploads}");
    let default_bus = resource(&bill, "default");
    assert_eq!(line_of(default_bus, "custom events (64 KB chunks)")["quantity"], 1.0, "{default_bus}");
    let resources: f64 =
        bill["resources"].as_array().expect("resources").iter().filter_map(|r| r["total"].as_f64()).sum();
    assert!((bill["total"].as_f64().expect("total") - (want_total + resources)).abs() < 1e-15, "{bill}");

    // Each invocation names what invoked it and its trace.
    let (_, inv) = get(&server, "/_nimbus/api/invocations?function=on-upload&limit=1").await;
    assert_eq!(inv["invocations"].as_array().map(Vec::len), Some(1), "{inv}");
    assert_eq!(inv["invocations"][0]["trigger"]["kind"], "Invoke", "{inv}");
    let next = inv["next"].as_str().expect("a second page").to_owned();
    let (_, older) =
        get(&server, &format!("/_nimbus/api/invocations?function=on-upload&limit=1&after={next}")).await;
    let upload = &older["invocations"][0];
    assert_eq!(upload["trigger"]["kind"], "S3", "{older}");
    assert_eq!(upload["trigger"]["resource"], "uploads/cat.jpg", "{older}");
    assert!(upload["trace_id"].as_str().is_some_and(|t| t.starts_with("1-")), "{older}");
    assert_eq!(older["next"], Value::Null);
    let (_, rule) = get(&server, "/_nimbus/api/invocations?function=on-rule").await;
    assert_eq!(rule["invocations"][0]["trigger"]["kind"], "EventBridge", "{rule}");

    // Cold starts: on-upload's one cold start of two, with its init duration.
    let (status, cold) = get(&server, "/_nimbus/api/coldstarts").await;
    assert_eq!(status, 200, "{cold}");
    let f = cold["functions"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["function"] == "on-upload"))
        .expect("listed");
    assert_eq!(
        (f["invocations"].as_u64(), f["coldStarts"].as_u64(), f["coldShare"].as_f64()),
        (Some(2), Some(1), Some(0.5)),
        "{f}"
    );
    assert_eq!(f["initP50Ms"], oldest["init_duration_ms"], "{f}");
    assert_eq!(f["peakConcurrency"], 1);
    assert_eq!(f["provisioned"][0]["coldStartsAvoided"], 1, "{f}");

    // A window that starts after all of it has nothing to price.
    let later =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis()
            + 60_000;
    let (_, empty) = get(&server, &format!("/_nimbus/api/cost?since={later}")).await;
    assert_eq!(empty["requests"], 0, "{empty}");
}

fn resource<'b>(bill: &'b Value, name: &str) -> &'b Value {
    bill["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("{name} missing from {bill}"))
}

fn line_of<'r>(resource: &'r Value, item: &str) -> &'r Value {
    resource["lines"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["item"] == item))
        .unwrap_or_else(|| panic!("{item} missing from {resource}"))
}

/// Checks a priced line: the quantity metered and the cost at the list price.
fn priced(resource: &Value, item: &str, quantity: f64, unit_price: f64) {
    let line = line_of(resource, item);
    assert!((line["quantity"].as_f64().expect("quantity") - quantity).abs() < 1e-12, "{item}: {resource}");
    assert_eq!(line["unit_price"].as_f64(), Some(unit_price), "{item}");
    assert!(
        (line["cost"].as_f64().expect("cost") - quantity * unit_price).abs() < 1e-18,
        "{item}: {resource}"
    );
}

/// What DynamoDB, S3, EventBridge and API Gateway served is metered in their billing units and
/// priced at the list prices in `prices/us-east-1.json`.
#[tokio::test]
async fn the_services_usage_is_metered_and_priced() {
    use aws_sdk_dynamodb::types::AttributeValue;

    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    crate::harness::create_id_table(&ddb, "images").await;
    // Three small items (a write unit each) and one of 1,500 bytes (two).
    for (id, size) in [("a", 10), ("b", 10), ("c", 10), ("big", 1_500)] {
        ddb.put_item()
            .table_name("images")
            .item("id", AttributeValue::S(id.to_owned()))
            .item("blob", AttributeValue::S("x".repeat(size)))
            .send()
            .await
            .expect("put");
    }
    // An eventually consistent read (half a unit) and a strongly consistent one (one).
    ddb.get_item()
        .table_name("images")
        .key("id", AttributeValue::S("a".to_owned()))
        .send()
        .await
        .expect("get");
    ddb.get_item()
        .table_name("images")
        .key("id", AttributeValue::S("b".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get");

    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("photos").send().await.expect("bucket");
    s3.put_object().bucket("photos").key("a.png").body(vec![0u8; 1000].into()).send().await.expect("put");
    s3.put_object().bucket("photos").key("b.png").body(vec![0u8; 500].into()).send().await.expect("put");
    s3.get_object().bucket("photos").key("a.png").send().await.expect("get");
    s3.list_objects_v2().bucket("photos").send().await.expect("list");
    s3.delete_object().bucket("photos").key("b.png").send().await.expect("delete");

    // Two events on the default bus, one of them 70 KB: 1 + 2 chunks.
    let events = server.events("test", "us-east-1").await;
    let entry = |detail: String| {
        PutEventsRequestEntry::builder().source("app").detail_type("t").detail(detail).build()
    };
    events
        .put_events()
        .entries(entry(r#"{"n":1}"#.to_owned()))
        .entries(entry(format!(r#"{{"pad":"{}"}}"#, "y".repeat(70 * 1024))))
        .send()
        .await
        .expect("put events");

    // Two calls to a REST API and one to an HTTP API (their answers do not matter).
    let rest = server.apigateway().await.create_rest_api().name("r").send().await.expect("rest api");
    let rest_id = rest.id().expect("id").to_owned();
    let http = server
        .apigatewayv2()
        .await
        .create_api()
        .name("h")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await
        .expect("http api");
    let http_id = http.api_id().expect("id").to_owned();
    for url in [
        server.execute_api(&rest_id, "/dev/x"),
        server.execute_api(&rest_id, "/dev/y"),
        server.execute_api(&http_id, "/z"),
    ] {
        server.http().get(url).send().await.expect("call");
    }

    let (status, bill) = get(&server, "/_nimbus/api/cost").await;
    assert_eq!(status, 200, "{bill}");
    let p = &bill["prices"];
    let table = resource(&bill, "images");
    assert_eq!(table["service"], "dynamodb");
    priced(table, "write request units", 5.0, p["dynamodb"]["write_request_unit"].as_f64().expect("price"));
    priced(table, "read request units", 1.5, p["dynamodb"]["read_request_unit"].as_f64().expect("price"));
    let photos = resource(&bill, "photos");
    // CreateBucket, two PUTs and a LIST; one GET; DELETE is free.
    priced(photos, "PUT, COPY, POST, LIST requests", 4.0, p["s3"]["tier1_request"].as_f64().expect("price"));
    priced(photos, "GET and other requests", 1.0, p["s3"]["tier2_request"].as_f64().expect("price"));
    let storage = line_of(photos, "storage (GB-months)");
    assert!(storage["quantity"].as_f64().is_some_and(|q| q > 0.0 && q < 1e-9), "{photos}");
    let bus = resource(&bill, "default");
    priced(bus, "custom events (64 KB chunks)", 3.0, p["events"]["custom_event"].as_f64().expect("price"));
    priced(
        resource(&bill, &rest_id),
        "REST API requests",
        2.0,
        p["apigateway"]["rest_request"].as_f64().expect("price"),
    );
    priced(
        resource(&bill, &http_id),
        "HTTP API requests (512 KB increments)",
        1.0,
        p["apigateway"]["http_request"].as_f64().expect("price"),
    );
    assert!(bill["service_requests"]["dynamodb"].as_u64().is_some_and(|n| n >= 7), "{bill}");
    for source in ["s3", "dynamodb", "events", "apigateway"] {
        assert!(
            p[source]["source"].as_str().is_some_and(|s| s.starts_with("https://aws.amazon.com/")),
            "{source}"
        );
    }
    let sum: f64 =
        bill["resources"].as_array().expect("resources").iter().filter_map(|r| r["total"].as_f64()).sum();
    assert!((bill["total"].as_f64().expect("total") - sum).abs() < 1e-15, "{bill}");

    // Another tenant was metered nothing.
    let (_, theirs) = get(&server, "/_nimbus/api/cost?account=111122223333").await;
    assert_eq!(theirs["resources"], serde_json::json!([]), "{theirs}");
}

/// The live stream announces an invocation as it happens.
#[tokio::test]
async fn the_event_stream_delivers_invocations_as_they_happen() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    crate::lambda::create_python(&lambda, "live", HANDLER, &[]).await;
    let mut stream =
        server.http().get(format!("{}/_nimbus/api/events", server.endpoint())).send().await.expect("events");
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/event-stream")));
    let first = stream.chunk().await.expect("read").expect("a first chunk");
    assert!(String::from_utf8_lossy(&first).starts_with("retry: "), "{first:?}");

    let invoked =
        lambda.invoke().function_name("live").payload(Blob::new("{}")).send().await.expect("invoke");
    let request_id = aws_sdk_lambda::operation::RequestId::request_id(&invoked).map(str::to_owned);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    let event = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk()).await.expect("an invocation event in time");
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("read").expect("stream open")));
        if let Some(data) = seen.split("\n\n").find_map(|e| e.strip_prefix("event: invocation\ndata: ")) {
            break serde_json::from_str::<Value>(data).expect("json");
        }
    };
    assert_eq!(event["function"], "live", "{event}");
    assert_eq!(event["cold"], true, "{event}");
    assert_eq!(event["outcome"], "ok");
    if let Some(id) = request_id {
        assert_eq!(event["requestId"], id.as_str(), "{event}");
    }
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

/// One function's entry in a console listing (`functions[]` keyed by `key`).
fn entry<'b>(body: &'b Value, key: &str, name: &str) -> &'b Value {
    body["functions"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f[key] == name))
        .unwrap_or_else(|| panic!("{name} missing from {body}"))
}

/// What a bucket stores now, as the cost page tells it (polled: S3 counts what it holds in the
/// background at start).
async fn stored_bytes(server: &Server, bucket: &str, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, bill) = get(server, "/_nimbus/api/cost").await;
        let got = bill["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == bucket))
            .and_then(|r| r["stored_bytes"].as_i64());
        if got == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{bucket} stores {got:?}, not {want}: {bill}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// After a restart the console tells the same story: the summaries come back from the stored
/// invocation records, each invocation still names its trigger and trace (the in-memory trace
/// store is empty by then), and S3's stored bytes count what the buckets held before.
#[tokio::test]
async fn invocations_triggers_and_stored_bytes_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(dir.path());
    let lambda = server.lambda("test", "us-east-1").await;
    let f = crate::lambda::create_python(&lambda, "keeper", HANDLER, &[]).await;
    let arn = f.function_arn().expect("arn").to_owned();
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("kept").send().await.expect("bucket");
    let config = NotificationConfiguration::builder()
        .lambda_function_configurations(
            LambdaFunctionConfiguration::builder()
                .lambda_function_arn(&arn)
                .events(Event::from("s3:ObjectCreated:*"))
                .build()
                .expect("config"),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket("kept")
        .notification_configuration(config)
        .send()
        .await
        .expect("notification");
    s3.create_bucket().bucket("plain").send().await.expect("bucket");
    s3.put_object().bucket("plain").key("a").body(vec![b'a'; 1000].into()).send().await.expect("put");
    s3.put_object().bucket("plain").key("b").body(vec![b'b'; 500].into()).send().await.expect("put");
    s3.put_object().bucket("kept").key("up.txt").body(b"up".to_vec().into()).send().await.expect("put");
    wait_for_invocations(&server, &[("keeper", 1)]).await;
    for _ in 0..2 {
        lambda.invoke().function_name("keeper").payload(Blob::new("{}")).send().await.expect("invoke");
    }
    wait_for_invocations(&server, &[("keeper", 3)]).await;
    stored_bytes(&server, "plain", 1500).await;

    let (_, functions) = get(&server, "/_nimbus/api/functions").await;
    let (_, cold) = get(&server, "/_nimbus/api/coldstarts").await;
    let (_, bill) = get(&server, "/_nimbus/api/cost").await;
    // Function logs reach CloudWatch Logs asynchronously (as on AWS): the page is taken once it
    // shows every invocation's REPORT line.
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let (_, page) = get(&server, "/_nimbus/api/invocations?function=keeper").await;
        let reported = |i: &Value| {
            i["logs"].as_array().is_some_and(|lines| {
                lines.iter().any(|l| l["message"].as_str().is_some_and(|m| m.starts_with("REPORT")))
            })
        };
        if page["invocations"].as_array().is_some_and(|list| list.len() == 3 && list.iter().all(reported)) {
            break page;
        }
        assert!(Instant::now() < deadline, "the logs never arrived: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let triggers: Vec<&str> = page["invocations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["trigger"]["kind"].as_str())
        .collect();
    assert_eq!(triggers, ["Invoke", "Invoke", "S3"], "{page}");

    server.terminate();
    server.restart();
    // The records are read back in the background; the answers say when that is done.
    let deadline = Instant::now() + Duration::from_secs(30);
    let functions_after = loop {
        let (_, body) = get(&server, "/_nimbus/api/functions").await;
        if body["complete"] == true {
            break body;
        }
        assert!(Instant::now() < deadline, "never complete: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(entry(&functions_after, "name", "keeper"), entry(&functions, "name", "keeper"));
    let (_, cold_after) = get(&server, "/_nimbus/api/coldstarts").await;
    let (a, b) = (entry(&cold_after, "function", "keeper"), entry(&cold, "function", "keeper"));
    for field in
        ["invocations", "coldStarts", "coldShare", "initP50Ms", "initP95Ms", "initMaxMs", "peakConcurrency"]
    {
        assert_eq!(a[field], b[field], "{field}: {a} vs {b}");
    }
    assert_eq!(b["coldStarts"], 1, "{b}");
    let (_, bill_after) = get(&server, "/_nimbus/api/cost").await;
    let (a, b) = (entry(&bill_after, "function", "keeper"), entry(&bill, "function", "keeper"));
    for field in ["requests", "cold_starts", "billed_ms", "gb_seconds", "total"] {
        assert_eq!(a[field], b[field], "{field}: {a} vs {b}");
    }
    let (_, page_after) = get(&server, "/_nimbus/api/invocations?function=keeper").await;
    for (a, b) in page_after["invocations"]
        .as_array()
        .expect("list")
        .iter()
        .zip(page["invocations"].as_array().expect("list"))
    {
        for field in
            ["request_id", "trigger", "trace_id", "cold", "billed_duration_ms", "init_duration_ms", "outcome"]
        {
            assert_eq!(a[field], b[field], "{field}: {a} vs {b}");
        }
        // The lines are read from the logs again.
        assert_eq!(a["logs"], b["logs"], "{a}");
    }
    assert_eq!(page_after["invocations"][2]["trigger"]["resource"], "kept/up.txt", "{page_after}");

    // The buckets' bytes are counted from what they hold, and deletes count down from there.
    stored_bytes(&server, "plain", 1500).await;
    let s3 = server.s3("test", "us-east-1").await;
    s3.delete_object().bucket("plain").key("a").send().await.expect("delete");
    stored_bytes(&server, "plain", 500).await;
}

/// Looking at the console costs nothing: its own reads (a graph lists every bucket and reads
/// each one's notifications) are not metered. A client's ListBuckets is a LIST request of the
/// account, shown as such rather than as a bucket.
#[tokio::test]
async fn the_consoles_own_reads_cost_nothing_and_list_buckets_is_the_accounts() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("quiet").send().await.expect("bucket");
    for _ in 0..3 {
        let (status, graph) = get(&server, "/_nimbus/api/graph").await;
        assert_eq!(status, 200, "{graph}");
        assert_eq!(node_kind(&graph, "arn:aws:s3:::quiet"), Some("bucket"));
    }
    let (_, bill) = get(&server, "/_nimbus/api/cost").await;
    let quiet = resource(&bill, "quiet");
    assert_eq!(line_of(quiet, "PUT, COPY, POST, LIST requests")["quantity"], 1.0, "{quiet}");
    assert!(
        quiet["lines"].as_array().is_some_and(|ls| ls.iter().all(|l| l["item"] != "GET and other requests")),
        "the console's reads were billed: {quiet}"
    );
    assert_eq!(bill["service_requests"]["s3"], 1, "{bill}");
    assert!(bill["resources"].as_array().is_some_and(|rs| rs.len() == 1), "{bill}");

    s3.list_buckets().send().await.expect("list buckets");
    let (_, bill) = get(&server, "/_nimbus/api/cost").await;
    let account = resource(&bill, "(account: ListBuckets)");
    assert_eq!(account["kind"], "account", "{account}");
    assert_eq!(account["service"], "s3");
    assert_eq!(line_of(account, "PUT, COPY, POST, LIST requests")["quantity"], 1.0, "{account}");
    assert_eq!(bill["service_requests"]["s3"], 2, "{bill}");
}

/// A function's invocations page newest first, every one exactly once, each with its own
/// lines (read for that page only).
#[tokio::test]
async fn every_invocation_pages_once_with_its_own_lines() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    crate::lambda::create_python(&lambda, "pager", HANDLER, &[]).await;
    const N: usize = 120;
    for n in 0..N {
        lambda
            .invoke()
            .function_name("pager")
            .payload(Blob::new(format!(r#"{{"n": {n}}}"#)))
            .send()
            .await
            .expect("invoke");
    }
    wait_for_invocations(&server, &[("pager", N as u64)]).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut last_start = i64::MAX;
    loop {
        let path = match &after {
            Some(a) => format!("/_nimbus/api/invocations?function=pager&limit=25&after={a}"),
            None => "/_nimbus/api/invocations?function=pager&limit=25".to_owned(),
        };
        let (status, page) = get(&server, &path).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], N as u64);
        for inv in page["invocations"].as_array().expect("list") {
            let started = inv["started_ms"].as_i64().expect("start");
            assert!(started <= last_start, "newest first");
            last_start = started;
            let id = inv["request_id"].as_str().expect("id");
            let logs: Vec<&str> =
                inv["logs"].as_array().expect("logs").iter().filter_map(|l| l["message"].as_str()).collect();
            // The cold one also has its environment's INIT_START line before its START.
            let starts: Vec<&&str> = logs.iter().filter(|l| l.starts_with("START ")).collect();
            assert_eq!(starts.len(), 1, "{logs:?}");
            assert!(starts[0].starts_with(&format!("START RequestId: {id}")), "{logs:?}");
            assert!(
                logs.last().is_some_and(|l| l.starts_with(&format!("REPORT RequestId: {id}"))),
                "{logs:?}"
            );
            let handled: Vec<&&str> = logs.iter().filter(|l| l.starts_with("handled pager")).collect();
            assert_eq!(handled.len(), 1, "{logs:?}");
            let n: usize = handled[0]
                .split(r#"{"n": "#)
                .nth(1)
                .and_then(|rest| rest.trim_end_matches('}').parse().ok())
                .expect("n");
            seen.push(n);
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
}
