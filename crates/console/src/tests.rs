//! The console over a fake [`ServiceApi`] answering canned documents, the way the services
//! answer them: graph building, layering, the API's parameters and errors.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use ports::{BoxFuture, ServiceApi};
use protocol::{AwsService, RequestContext};
use serde_json::{Value, json};
use types::Scope;

use super::*;
use crate::graph::Kind;

const A: &str = "000000000000";
const R: &str = "us-east-1";

fn fn_arn(name: &str) -> String {
    format!("arn:aws:lambda:{R}:{A}:function:{name}")
}

/// Answers by `{service} {x-amz-target | Action | path?query}`; anything else is a 404.
#[derive(Default)]
struct FakeApi {
    answers: HashMap<String, String>,
    seen: Mutex<Vec<(Scope, String)>>,
}

impl FakeApi {
    fn on(mut self, key: &str, body: impl Into<String>) -> FakeApi {
        self.answers.insert(key.to_owned(), body.into());
        self
    }
}

impl ServiceApi for FakeApi {
    fn call(
        &self,
        scope: &Scope,
        service: &str,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, http::Response<Bytes>> {
        let key = if let Some(t) = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()) {
            format!("{service} {t}")
        } else if request.method() == Method::POST {
            let action = form_urlencoded::parse(request.body())
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            format!("{service} {action}")
        } else {
            format!("{service} {}", request.uri())
        };
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push((scope.clone(), key.clone()));
        let resp = match self.answers.get(&key) {
            Some(body) => http::Response::new(Bytes::from(body.clone())),
            None => {
                let mut r = http::Response::new(Bytes::from(format!(
                    "{{\"__type\":\"ResourceNotFoundException\",\"message\":\"{key}\"}}"
                )));
                *r.status_mut() = StatusCode::NOT_FOUND;
                r
            }
        };
        Box::pin(async move { resp })
    }
}

fn function(name: &str, arch: &str) -> Value {
    json!({
        "FunctionName": name, "FunctionArn": fn_arn(name), "Runtime": "python3.12",
        "MemorySize": 128, "Architectures": [arch], "Handler": "app.handler",
    })
}

fn application() -> FakeApi {
    let mut resize = function("resize", "x86_64");
    resize["DeadLetterConfig"] = json!({ "TargetArn": format!("arn:aws:sqs:{R}:{A}:dlq") });
    let functions = json!({ "Functions": [resize, function("worker", "arm64"), function("on-rule", "x86_64"), function("api-fn", "x86_64")] });
    let stream = format!("arn:aws:dynamodb:{R}:{A}:table/images/stream/2026-01-01T00:00:00.000");
    let mappings = json!({ "EventSourceMappings": [
        { "EventSourceArn": format!("arn:aws:sqs:{R}:{A}:jobs"), "FunctionArn": fn_arn("worker"), "BatchSize": 10, "State": "Enabled" },
        { "EventSourceArn": stream, "FunctionArn": format!("{}:live", fn_arn("worker")), "BatchSize": 100, "State": "Enabled",
          "DestinationConfig": { "OnFailure": { "Destination": format!("arn:aws:sqs:{R}:{A}:dlq") } } },
    ]});
    let empty_configs = json!({ "FunctionEventInvokeConfigs": [] }).to_string();
    let uri =
        format!("arn:aws:apigateway:{R}:lambda:path/2015-03-31/functions/{}/invocations", fn_arn("api-fn"));
    FakeApi::default()
        .on("lambda /2015-03-31/functions/", functions.to_string())
        .on("lambda /2015-03-31/event-source-mappings/", mappings.to_string())
        .on(
            "lambda /2019-09-25/functions/resize/event-invoke-config/list",
            json!({ "FunctionEventInvokeConfigs": [{ "DestinationConfig": {
                "OnSuccess": { "Destination": format!("arn:aws:events:{R}:{A}:event-bus/default") } } }] })
            .to_string(),
        )
        .on("lambda /2019-09-25/functions/worker/event-invoke-config/list", empty_configs.clone())
        .on("lambda /2019-09-25/functions/on-rule/event-invoke-config/list", empty_configs.clone())
        .on("lambda /2019-09-25/functions/api-fn/event-invoke-config/list", empty_configs)
        .on("dynamodb DynamoDB_20120810.ListTables", json!({ "TableNames": ["images"] }).to_string())
        .on(
            "sqs AmazonSQS.ListQueues",
            json!({ "QueueUrls": ["http://127.0.0.1:4566/000000000000/jobs", "http://127.0.0.1:4566/000000000000/dlq"] })
                .to_string(),
        )
        .on(
            "sns ListTopics",
            format!("<ListTopicsResponse><ListTopicsResult><Topics><member><TopicArn>arn:aws:sns:{R}:{A}:done</TopicArn></member></Topics></ListTopicsResult></ListTopicsResponse>"),
        )
        .on(
            "sns ListSubscriptions",
            format!("<ListSubscriptionsResponse><ListSubscriptionsResult><Subscriptions>\
                <member><TopicArn>arn:aws:sns:{R}:{A}:done</TopicArn><Protocol>lambda</Protocol><Endpoint>{}</Endpoint></member>\
                <member><TopicArn>arn:aws:sns:{R}:{A}:done</TopicArn><Protocol>https</Protocol><Endpoint>https://example.com/hook</Endpoint></member>\
                </Subscriptions></ListSubscriptionsResult></ListSubscriptionsResponse>", fn_arn("on-rule")),
        )
        .on(
            "s3 /?bucket-region=us-east-1",
            "<ListAllMyBucketsResult><Buckets><Bucket><Name>uploads</Name><CreationDate>2026-01-01T00:00:00Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>",
        )
        .on(
            "s3 /uploads?notification",
            format!("<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CloudFunctionConfiguration><Id>jpg</Id><CloudFunction>{}</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration></NotificationConfiguration>", fn_arn("resize")),
        )
        .on(
            "events AWSEvents.ListEventBuses",
            json!({ "EventBuses": [{ "Name": "default", "Arn": format!("arn:aws:events:{R}:{A}:event-bus/default") }] }).to_string(),
        )
        .on(
            "events AWSEvents.ListRules",
            json!({ "Rules": [{ "Name": "processed", "Arn": format!("arn:aws:events:{R}:{A}:rule/processed"), "EventPattern": "{\"source\":[\"images\"]}", "State": "ENABLED" }] }).to_string(),
        )
        .on(
            "events AWSEvents.ListTargetsByRule",
            json!({ "Targets": [{ "Id": "t1", "Arn": fn_arn("on-rule") }] }).to_string(),
        )
        .on("apigateway /restapis?limit=500", json!({ "item": [{ "id": "abc", "name": "images-api" }] }).to_string())
        .on(
            "apigateway /restapis/abc/resources?embed=methods&limit=500",
            json!({ "item": [
                { "id": "root", "path": "/" },
                { "id": "r1", "path": "/images", "resourceMethods": { "GET": { "methodIntegration": { "type": "AWS_PROXY", "uri": uri } } } },
            ]})
            .to_string(),
        )
        .on("apigateway /v2/apis", json!({ "items": [{ "apiId": "h1", "name": "http", "protocolType": "HTTP" }] }).to_string())
        .on(
            "apigateway /v2/apis/h1/integrations",
            json!({ "items": [{ "integrationId": "i1", "integrationType": "AWS_PROXY", "integrationUri": fn_arn("api-fn") }] }).to_string(),
        )
        .on(
            "apigateway /v2/apis/h1/routes",
            json!({ "items": [{ "routeId": "rt", "routeKey": "POST /upload", "target": "integrations/i1" }] }).to_string(),
        )
        .on(
            "scheduler /schedules?MaxResults=100",
            json!({ "Schedules": [{ "Arn": format!("arn:aws:scheduler:{R}:{A}:schedule/default/nightly"), "Name": "nightly",
                "GroupName": "default", "State": "ENABLED", "Target": { "Arn": fn_arn("resize") } }] })
            .to_string(),
        )
        .on(
            "cloudformation DescribeStacks",
            format!("<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>images</StackName><StackId>arn:aws:cloudformation:{R}:{A}:stack/images/1</StackId><StackStatus>CREATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult></DescribeStacksResponse>"),
        )
        .on(
            "cloudformation ListStackResources",
            "<ListStackResourcesResponse><ListStackResourcesResult><StackResourceSummaries>\
             <member><LogicalResourceId>Uploads</LogicalResourceId><PhysicalResourceId>uploads</PhysicalResourceId><ResourceType>AWS::S3::Bucket</ResourceType></member>\
             <member><LogicalResourceId>Jobs</LogicalResourceId><PhysicalResourceId>http://127.0.0.1:4566/000000000000/jobs</PhysicalResourceId><ResourceType>AWS::SQS::Queue</ResourceType></member>\
             </StackResourceSummaries></ListStackResourcesResult></ListStackResourcesResponse>",
        )
}

async fn graph_of(api: &FakeApi) -> graph::Graph {
    let scope = Scope::default();
    graph::collect(Reader::new(api, &scope)).await.graph()
}

fn has_edge(g: &graph::Graph, from: &str, to: &str, kind: &str) -> bool {
    g.edges.iter().any(|e| e.from == from && e.to == to && e.kind == kind)
}

fn node<'g>(g: &'g graph::Graph, id: &str) -> &'g graph::Node {
    g.nodes.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("no node {id}: {:?}", g.nodes))
}

#[tokio::test]
async fn every_wiring_becomes_an_edge() {
    let g = graph_of(&application()).await;
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    let bucket = "arn:aws:s3:::uploads";
    let table = format!("arn:aws:dynamodb:{R}:{A}:table/images");
    let jobs = format!("arn:aws:sqs:{R}:{A}:jobs");
    let dlq = format!("arn:aws:sqs:{R}:{A}:dlq");
    let bus = format!("arn:aws:events:{R}:{A}:event-bus/default");
    let rule = format!("arn:aws:events:{R}:{A}:rule/processed");
    let topic = format!("arn:aws:sns:{R}:{A}:done");
    let api = format!("arn:aws:apigateway:{R}::/restapis/abc");
    let route = format!("{api}/resources/r1/methods/GET");
    let http_route = format!("arn:aws:apigateway:{R}::/apis/h1/routes/rt");
    let schedule = format!("arn:aws:scheduler:{R}:{A}:schedule/default/nightly");

    assert!(has_edge(&g, bucket, &fn_arn("resize"), "notification"));
    assert!(has_edge(&g, &jobs, &fn_arn("worker"), "event source"));
    // A stream mapping starts at its table; a qualified function ARN lands on the function.
    assert!(has_edge(&g, &table, &fn_arn("worker"), "event source"));
    assert!(has_edge(&g, &fn_arn("worker"), &dlq, "on failure"));
    assert!(has_edge(&g, &fn_arn("resize"), &bus, "on success"));
    assert!(has_edge(&g, &fn_arn("resize"), &dlq, "dead-letter"));
    assert!(has_edge(&g, &bus, &rule, "rule"));
    assert!(has_edge(&g, &rule, &fn_arn("on-rule"), "target"));
    assert!(has_edge(&g, &topic, &fn_arn("on-rule"), "subscription"));
    assert!(has_edge(&g, &topic, "https://example.com/hook", "subscription"));
    assert!(has_edge(&g, &api, &route, "route"));
    assert!(has_edge(&g, &route, &fn_arn("api-fn"), "integration"));
    assert!(has_edge(&g, &http_route, &fn_arn("api-fn"), "integration"));
    assert!(has_edge(&g, &schedule, &fn_arn("resize"), "schedule"));

    assert_eq!(node(&g, bucket).kind, Kind::Bucket);
    assert_eq!(node(&g, &route).name, "GET /images");
    assert_eq!(node(&g, &http_route).name, "POST /upload");
    assert_eq!(node(&g, "https://example.com/hook").kind, Kind::External);
    assert_eq!(node(&g, &fn_arn("worker")).details["architectures"], json!(["arm64"]));
    // The stack claims the resources it lists, by name or by queue URL.
    assert_eq!(node(&g, bucket).stack.as_deref(), Some("images"));
    assert_eq!(node(&g, &jobs).stack.as_deref(), Some("images"));
    assert_eq!(node(&g, &table).stack, None);
    assert_eq!(node(&g, &format!("arn:aws:cloudformation:{R}:{A}:stack/images/1")).kind, Kind::Stack);
}

#[tokio::test]
async fn layers_put_sources_left_and_sinks_right() {
    let g = graph_of(&application()).await;
    for e in &g.edges {
        let (from, to) = (node(&g, &e.from), node(&g, &e.to));
        // Every edge points right, except into the cycle resize → bus → ... (none here).
        assert!(from.layer < to.layer, "{} ({}) → {} ({})", from.name, from.layer, to.name, to.layer);
    }
    assert_eq!(node(&g, "arn:aws:s3:::uploads").layer, 0);
    assert_eq!(node(&g, &fn_arn("resize")).layer, 1);
    assert_eq!(node(&g, &format!("arn:aws:sqs:{R}:{A}:dlq")).layer, 2);
    assert_eq!(node(&g, &fn_arn("on-rule")).layer, 4);
    assert_eq!(node(&g, &fn_arn("api-fn")).layer, 2);
}

#[tokio::test]
async fn a_cycle_does_not_hang_and_a_failing_listing_is_a_warning() {
    // on-rule publishes to the bus whose rule invokes it.
    let api = application().on(
        "lambda /2019-09-25/functions/on-rule/event-invoke-config/list",
        json!({ "FunctionEventInvokeConfigs": [{ "DestinationConfig": {
            "OnSuccess": { "Destination": format!("arn:aws:events:{R}:{A}:event-bus/default") } } }] })
        .to_string(),
    );
    let mut api = api;
    api.answers.remove("scheduler /schedules?MaxResults=100");
    let g = graph_of(&api).await;
    assert!(g.nodes.iter().all(|n| n.layer <= g.nodes.len()));
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    assert!(g.warnings[0].starts_with("Scheduler ListSchedules"));
    assert!(g.nodes.iter().all(|n| n.kind != Kind::Schedule));
}

async fn get(console: &Console, uri: &str) -> (u16, Value) {
    let req = http::Request::builder().uri(uri).body(Bytes::new()).expect("request");
    let resp = console.call(RequestContext::new(Scope::default(), ""), req).await;
    let status = resp.status().as_u16();
    let body = resp.into_body();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned())),
    )
}

#[tokio::test]
async fn the_api_reads_as_the_tenant_asked_for() {
    let fake = Arc::new(application());
    let console = Console::new(fake.clone());
    let (status, body) = get(&console, "/_nimbus/api/graph?account=123456789012&region=eu-west-1").await;
    assert_eq!(status, 200);
    assert_eq!(body["account"], "123456789012");
    assert_eq!(body["region"], "eu-west-1");
    let seen = fake.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        seen.iter().all(|(s, _)| s.account.as_str() == "123456789012" && s.region.as_str() == "eu-west-1")
    );
    assert!(seen.iter().any(|(_, k)| k == "s3 /?bucket-region=eu-west-1"));

    let (status, body) = get(&console, "/_nimbus/api/graph?account=12").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "BadRequest");
    let (status, _) = get(&console, "/_nimbus/api/invocations").await;
    assert_eq!(status, 400);
    let (status, _) = get(&console, "/_nimbus/api/cost?since=yesterday").await;
    assert_eq!(status, 400);
    let (status, _) = get(&console, "/_nimbus/api/nothing").await;
    assert_eq!(status, 404);
    let (status, page) = get(&console, "/_nimbus/").await;
    assert_eq!(status, 200);
    assert!(page.as_str().is_some_and(|p| p.contains("<svg") || p.contains("app.js")));
}

/// Invocations as the server's store would hand them over: summed with the same
/// `FunctionSummary::add`, paged newest first.
struct Recorded(Vec<ports::InvocationRecord>);

impl InvocationReader for Recorded {
    fn summaries(&self, scope: &Scope, since_ms: i64, until_ms: Option<i64>) -> ports::Summaries {
        let mut by: std::collections::BTreeMap<String, FunctionSummary> = Default::default();
        for r in self.0.iter().filter(|r| r.scope == *scope) {
            if r.ended_ms >= since_ms && until_ms.is_none_or(|u| r.ended_ms < u) {
                by.entry(r.function.clone()).or_default().add(r);
            }
        }
        ports::Summaries { functions: by.into_iter().collect(), complete: true }
    }

    fn summary(
        &self,
        scope: &Scope,
        function: &str,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> FunctionSummary {
        self.summaries(scope, since_ms, until_ms)
            .functions
            .into_iter()
            .find(|(n, _)| n == function)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    fn page(
        &self,
        scope: &Scope,
        function: &str,
        _since_ms: i64,
        _until_ms: Option<i64>,
        after: Option<&ports::InvocationCursor>,
        limit: usize,
    ) -> ports::InvocationPage {
        let mut list: Vec<ports::InvocationRecord> =
            self.0.iter().filter(|r| r.scope == *scope && r.function == function).cloned().collect();
        list.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then_with(|| a.request_id.cmp(&b.request_id)));
        let list: Vec<_> = list
            .into_iter()
            .filter(|r| after.is_none_or(|c| (r.started_ms, &c.request_id) < (c.started_ms, &r.request_id)))
            .collect();
        let next = (list.len() > limit).then(|| ports::InvocationCursor {
            started_ms: list[limit - 1].started_ms,
            request_id: list[limit - 1].request_id.clone(),
        });
        ports::InvocationPage { invocations: list.into_iter().take(limit).collect(), next }
    }
}

fn record(id: &str, started_ms: i64, billed: u64, init: Option<u64>) -> ports::InvocationRecord {
    ports::InvocationRecord {
        scope: Scope::default(),
        function: "resize".to_owned(),
        request_id: id.to_owned(),
        version: "$LATEST".to_owned(),
        architecture: ports::Architecture::X86_64,
        started_ms,
        ended_ms: started_ms + 1,
        duration_ms_x100: 100,
        billed_ms: billed,
        memory_mb: 128,
        max_memory_used_mb: 30,
        init_ms_x100: init,
        outcome: ports::InvocationOutcome::Ok,
        concurrency: 1,
        log_group: "/aws/lambda/resize".to_owned(),
        log_stream: "s".to_owned(),
        trace: TraceId::new(1, 1),
        caller: None,
        trigger: Some(ports::Trigger::of(None, false)),
    }
}

#[tokio::test]
async fn invocations_come_from_the_records_with_their_lines_and_are_priced() {
    let report = |id: &str, billed: u64, init: &str| {
        format!(
            "REPORT RequestId: {id}\tDuration: 1.00 ms\tBilled Duration: {billed} ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\t{init}"
        )
    };
    let events = json!({ "events": [
        { "logStreamName": "s", "timestamp": 10, "message": "START RequestId: a Version: $LATEST" },
        { "logStreamName": "s", "timestamp": 11, "message": "END RequestId: a" },
        { "logStreamName": "s", "timestamp": 11, "message": report("a", 100, "Init Duration: 99.00 ms\t") },
        { "logStreamName": "s", "timestamp": 20, "message": "START RequestId: b Version: $LATEST" },
        { "logStreamName": "s", "timestamp": 20, "message": "hello from b" },
        { "logStreamName": "s", "timestamp": 21, "message": "END RequestId: b" },
        { "logStreamName": "s", "timestamp": 21, "message": report("b", 2, "") },
    ]});
    let api = FakeApi::default()
        .on(
            "lambda /2015-03-31/functions/",
            json!({ "Functions": [function("resize", "x86_64"), function("idle", "arm64")] }).to_string(),
        )
        .on("logs Logs_20140328.FilterLogEvents", events.to_string());
    let recorded = Recorded(vec![record("a", 10, 100, Some(9_900)), record("b", 20, 2, None)]);
    let console = Console::new(Arc::new(api)).with_invocations(Arc::new(recorded));
    let (status, body) = get(&console, "/_nimbus/api/invocations?function=resize").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 2);
    let b = &body["invocations"][0];
    assert_eq!((b["request_id"].as_str(), b["cold"].as_bool()), (Some("b"), Some(false)));
    assert_eq!(b["logs"].as_array().map(Vec::len), Some(4), "{b}");
    assert_eq!(b["logs"][1]["message"], "hello from b");
    assert_eq!(b["trigger"]["kind"], "Invoke");
    assert_eq!(body["invocations"][1]["cold"], true);
    assert_eq!(body["invocations"][1]["init_duration_ms"], 99.0);
    let (_, first) = get(&console, "/_nimbus/api/invocations?function=resize&limit=1").await;
    assert_eq!(first["next"], "20:b");
    let (_, second) = get(&console, "/_nimbus/api/invocations?function=resize&limit=1&after=20:b").await;
    assert_eq!(second["invocations"][0]["request_id"], "a", "{second}");
    assert_eq!(second["next"], Value::Null);

    let (_, body) = get(&console, "/_nimbus/api/functions").await;
    let resize = &body["functions"][0];
    assert_eq!(
        (resize["name"].as_str(), resize["invocations"].as_u64(), resize["coldStarts"].as_u64()),
        (Some("resize"), Some(2), Some(1))
    );
    assert_eq!(resize["avgInitDurationMs"], 99.0);
    assert_eq!(body["functions"][1]["invocations"], 0);
    assert_eq!(body["complete"], true);

    let (_, bill) = get(&console, "/_nimbus/api/cost").await;
    let gb_s = 0.125 * 0.102;
    assert!((bill["gb_seconds"].as_f64().expect("gb-s") - gb_s).abs() < 1e-12, "{bill}");
    let want = gb_s * 0.0000166667 + 2.0 * 0.0000002;
    assert!((bill["total"].as_f64().expect("total") - want).abs() < 1e-15, "{bill}");
    assert_eq!(bill["functions"][0]["function"], "resize");
    assert_eq!(bill["prices"]["region"], "us-east-1");

    let (_, cold) = get(&console, "/_nimbus/api/coldstarts").await;
    let c = &cold["functions"][0];
    assert_eq!((c["coldStarts"].as_u64(), c["initP50Ms"].as_f64()), (Some(1), Some(99.0)), "{c}");
}
