//! Service-level tests: requests through `Operation::parse` and `act` on an in-memory store, a
//! clock the test moves and an invoker that records what it was given.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ports::{
    BoxFuture, FunctionInvoker, InvokeResponse, PortError, QueueMessageAttribute, QueueSender, TopicMessage,
    TopicPublisher,
};
use protocol::{Request, RequestContext, Response};
use serde_json::{Value, json};
use storage::Store;
use time::OffsetDateTime;
use time::macros::datetime;
use types::{Clock, Scope};

use crate::{EventsConfig, EventsService, Operation, queue};

#[derive(Debug)]
struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *crate::lock(&self.0)
    }
}

#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(String, Value)>>,
    fail: Mutex<Option<PortError>>,
}

impl FunctionInvoker for Recorder {
    fn invoke_async(&self, function_arn: &str, payload: Bytes) -> Result<(), PortError> {
        if let Some(e) = crate::lock(&self.fail).clone() {
            return Err(e);
        }
        let value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        crate::lock(&self.calls).push((function_arn.to_owned(), value));
        Ok(())
    }

    fn invoke(&self, _: &str, _: Bytes) -> BoxFuture<'_, Result<InvokeResponse, PortError>> {
        Box::pin(async { Err(PortError::Invalid("not used".to_owned())) })
    }
}

/// One message a queue was sent: queue ARN, body, attributes as `name=value`, group id.
type Sent = (String, String, Vec<String>, Option<String>);

/// Records what SQS was sent; queues whose name starts with `missing` do not exist.
#[derive(Default)]
struct Queues(Mutex<Vec<Sent>>);

impl QueueSender for Queues {
    fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
    ) -> Result<String, PortError> {
        if queue_arn.rsplit(':').next().is_some_and(|n| n.starts_with("missing")) {
            return Err(PortError::NotFound(queue_arn.to_owned()));
        }
        let attributes = attributes
            .iter()
            .map(|(k, v)| format!("{k}={}:{}", v.data_type, String::from_utf8_lossy(&v.value)))
            .collect();
        crate::lock(&self.0).push((
            queue_arn.to_owned(),
            body.to_owned(),
            attributes,
            group_id.map(str::to_owned),
        ));
        Ok("id".to_owned())
    }
}

/// Records what SNS was asked to publish: topic ARN and message.
#[derive(Default)]
struct Topics(Mutex<Vec<(String, TopicMessage)>>);

impl TopicPublisher for Topics {
    fn publish(&self, topic_arn: &str, message: TopicMessage) -> Result<String, PortError> {
        crate::lock(&self.0).push((topic_arn.to_owned(), message));
        Ok("id".to_owned())
    }
}

struct Env {
    svc: EventsService,
    topics: Arc<Topics>,
    clock: Arc<TestClock>,
    invoker: Arc<Recorder>,
    queues: Arc<Queues>,
    store: Store,
}

impl Env {
    fn new() -> Env {
        Env::with_store(Store::memory())
    }

    fn with_store(store: Store) -> Env {
        let clock = Arc::new(TestClock(Mutex::new(datetime!(2024-05-01 12:00:30 UTC))));
        let invoker = Arc::new(Recorder::default());
        let svc = EventsService::new(store.clone(), clock.clone(), invoker.clone(), EventsConfig::default())
            .expect("service");
        let queues = Arc::new(Queues::default());
        svc.set_queue_sender(queues.clone());
        let topics = Arc::new(Topics::default());
        svc.set_topic_publisher(topics.clone());
        Env { svc, topics, clock, invoker, queues, store }
    }

    fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let req: Request = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("x-amz-target", format!("AWSEvents.{op}"))
            .body(Bytes::from(body.to_string()))
            .expect("request");
        let ctx = RequestContext::new(Scope::default(), "test");
        let resp: Response = match Operation::parse(&req) {
            Ok(op) => self.svc.inner.act(&ctx, op).unwrap_or_else(|e| e.into_response(&ctx)),
            Err(e) => e.into_response(&ctx),
        };
        (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        let (status, out) = self.call(op, body);
        assert_eq!(status, 200, "{op}: {out}");
        out
    }

    fn err(&self, op: &str, body: Value) -> (String, String) {
        let (status, out) = self.call(op, body);
        assert_ne!(status, 200, "{op} should fail");
        (
            out["__type"].as_str().unwrap_or_default().to_owned(),
            out["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    fn sent(&self) -> Vec<Sent> {
        std::mem::take(&mut *crate::lock(&self.queues.0))
    }

    fn advance(&self, seconds: i64) {
        let mut t = crate::lock(&self.clock.0);
        *t += time::Duration::seconds(seconds);
    }

    fn deliver(&self) -> Vec<(String, Value)> {
        queue::deliver_due(&self.svc.inner).expect("deliver");
        std::mem::take(&mut *crate::lock(&self.invoker.calls))
    }
}

const FN: &str = "arn:aws:lambda:us-east-1:000000000000:function:inventory";

fn order(kind: &str) -> Value {
    json!({ "Source": "shop", "DetailType": kind, "Detail": "{\"total\": 42}", "EventBusName": "orders" })
}

#[test]
fn buses_and_rules_lifecycle() {
    let env = Env::new();
    assert_eq!(
        env.ok("CreateEventBus", json!({"Name": "orders"}))["EventBusArn"],
        "arn:aws:events:us-east-1:000000000000:event-bus/orders"
    );
    assert_eq!(
        env.err("CreateEventBus", json!({"Name": "orders"})),
        ("ResourceAlreadyExistsException".into(), "Event bus orders already exists.".into())
    );
    let names: Vec<Value> = env.ok("ListEventBuses", json!({}))["EventBuses"]
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["Name"].clone())
        .collect();
    assert_eq!(names, vec![json!("default"), json!("orders")]);
    assert_eq!(
        env.err("DeleteEventBus", json!({"Name": "default"})),
        ("ValidationException".into(), "Cannot delete event bus default.".into())
    );

    let arn = env.ok("PutRule", json!({"Name": "placed", "EventBusName": "orders", "EventPattern": "{\"detail-type\":[\"OrderPlaced\"]}"}));
    assert_eq!(arn["RuleArn"], "arn:aws:events:us-east-1:000000000000:rule/orders/placed");
    assert_eq!(
        env.err("DescribeRule", json!({"Name": "placed"})),
        ("ResourceNotFoundException".into(), "Rule placed does not exist on EventBus default.".into())
    );
    let described = env.ok("DescribeRule", json!({"Name": "placed", "EventBusName": "orders"}));
    assert_eq!(described["State"], "ENABLED");
    assert_eq!(described["EventBusName"], "orders");

    let (code, message) = env.err("PutRule", json!({"Name": "bad", "EventPattern": "{\"a\": 1}"}));
    assert_eq!(code, "InvalidEventPatternException");
    assert_eq!(message, "Event pattern is not valid. Reason: \"a\" must be an object or an array");
    assert_eq!(
        env.err("PutRule", json!({"Name": "none"})).1,
        "Parameter(s) EventPattern or ScheduleExpression must be specified."
    );
    assert_eq!(
        env.err(
            "PutRule",
            json!({"Name": "s", "EventBusName": "orders", "ScheduleExpression": "rate(1 minute)"})
        )
        .1,
        "ScheduleExpression is supported only on the default event bus."
    );
    assert_eq!(
        env.err("PutRule", json!({"Name": "s", "ScheduleExpression": "rate(1 minutes)"})).1,
        "Parameter ScheduleExpression is not valid."
    );
    assert_eq!(
        env.err(
            "PutRule",
            json!({"Name": "x", "EventBusName": "nope", "EventPattern": "{\"source\":[\"x\"]}"})
        )
        .1,
        "Event bus nope does not exist."
    );

    let put = env.ok(
        "PutTargets",
        json!({"Rule": "placed", "EventBusName": "orders", "Targets": [
            {"Id": "inv", "Arn": FN},
            {"Id": "q", "Arn": "arn:aws:kinesis:us-east-1:000000000000:stream/q"}
        ]}),
    );
    assert_eq!(put["FailedEntryCount"], 1);
    assert_eq!(put["FailedEntries"][0]["TargetId"], "q");
    assert_eq!(put["FailedEntries"][0]["ErrorCode"], "NotImplemented");
    let (code, message) = env.err(
        "PutTargets",
        json!({"Rule": "placed", "EventBusName": "orders", "Targets": [
            {"Id": "t", "Arn": FN, "InputTransformer": {"InputTemplate": "<nope>"}}
        ]}),
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "InputTemplate for target t contains invalid placeholder nope.")
    );
    assert_eq!(
        env.ok("ListTargetsByRule", json!({"Rule": "placed", "EventBusName": "orders"}))["Targets"],
        json!([{"Id": "inv", "Arn": FN}])
    );
    assert_eq!(
        env.ok("ListRuleNamesByTarget", json!({"TargetArn": FN, "EventBusName": "orders"}))["RuleNames"],
        json!(["placed"])
    );
    assert_eq!(
        env.err("DeleteRule", json!({"Name": "placed", "EventBusName": "orders"})),
        ("ValidationException".into(), "Rule can't be deleted since it has targets.".into())
    );
    env.ok("RemoveTargets", json!({"Rule": "placed", "EventBusName": "orders", "Ids": ["inv"]}));
    env.ok("DeleteRule", json!({"Name": "placed", "EventBusName": "orders"}));
    env.ok("DeleteRule", json!({"Name": "placed", "EventBusName": "orders"}));
    assert_eq!(env.ok("ListRules", json!({"EventBusName": "orders"}))["Rules"], json!([]));
}

#[test]
fn list_rules_pages_with_prefix() {
    let env = Env::new();
    for name in ["a1", "a2", "a3", "b1"] {
        env.ok("PutRule", json!({"Name": name, "EventPattern": "{\"source\":[\"x\"]}"}));
    }
    let first = env.ok("ListRules", json!({"NamePrefix": "a", "Limit": 2}));
    assert_eq!(first["Rules"].as_array().map(Vec::len), Some(2));
    let second = env.ok("ListRules", json!({"NamePrefix": "a", "Limit": 2, "NextToken": first["NextToken"]}));
    assert_eq!(second["Rules"][0]["Name"], "a3");
    assert!(second.get("NextToken").is_none());
}

#[test]
fn tags_on_rules_and_buses() {
    let env = Env::new();
    env.ok(
        "PutRule",
        json!({"Name": "r", "EventPattern": "{\"source\":[\"x\"]}", "Tags": [{"Key": "team", "Value": "a"}]}),
    );
    let arn = "arn:aws:events:us-east-1:000000000000:rule/r";
    env.ok("TagResource", json!({"ResourceARN": arn, "Tags": [{"Key": "env", "Value": "dev"}]}));
    env.ok("UntagResource", json!({"ResourceARN": arn, "TagKeys": ["team"]}));
    assert_eq!(
        env.ok("ListTagsForResource", json!({"ResourceARN": arn}))["Tags"],
        json!([{"Key": "env", "Value": "dev"}])
    );
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    env.ok("TagResource", json!({"ResourceARN": bus, "Tags": [{"Key": "k", "Value": "v"}]}));
    assert_eq!(
        env.ok("ListTagsForResource", json!({"ResourceARN": bus}))["Tags"],
        json!([{"Key": "k", "Value": "v"}])
    );
}

#[test]
fn put_events_matches_fans_out_and_validates_entries() {
    let env = Env::new();
    env.ok("CreateEventBus", json!({"Name": "orders"}));
    env.ok("PutRule", json!({"Name": "placed", "EventBusName": "orders", "EventPattern": "{\"detail-type\":[\"OrderPlaced\"]}"}));
    env.ok("PutTargets", json!({"Rule": "placed", "EventBusName": "orders", "Targets": [
        {"Id": "whole", "Arn": FN},
        {"Id": "path", "Arn": FN, "InputPath": "$.detail"},
        {"Id": "t", "Arn": FN, "InputTransformer": {"InputPathsMap": {"total": "$.detail.total"}, "InputTemplate": "{\"rule\": <aws.events.rule-name>, \"total\": <total>}"}}
    ]}));
    let out = env.ok(
        "PutEvents",
        json!({"Entries": [
            order("OrderPlaced"),
            order("OrderShipped"),
            {"DetailType": "x", "Detail": "{}"},
            {"Source": "s", "DetailType": "x", "Detail": "[1]"},
            {"Source": "s", "DetailType": "x", "Detail": "{}", "EventBusName": "nope"}
        ]}),
    );
    assert_eq!(out["FailedEntryCount"], 3);
    assert!(out["Entries"][0]["EventId"].is_string());
    assert_eq!(
        out["Entries"][2],
        json!({"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."})
    );
    assert_eq!(
        out["Entries"][3],
        json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
    );
    assert_eq!(out["Entries"][4]["ErrorMessage"], "Event bus nope does not exist.");
    let mut got = env.deliver();
    got.sort_by_key(|(_, v)| v.to_string());
    assert_eq!(got.len(), 3, "{got:?}");
    let payloads: Vec<&Value> = got.iter().map(|(_, v)| v).collect();
    assert!(payloads.contains(&&json!({"total": 42})));
    assert!(payloads.contains(&&json!({"rule": "placed", "total": 42})));
    let whole = payloads.iter().find(|p| p.get("detail-type").is_some()).expect("whole event");
    assert_eq!(whole["source"], "shop");
    assert_eq!(whole["account"], "000000000000");
    assert_eq!(whole["time"], "2024-05-01T12:00:30Z");
    assert!(env.deliver().is_empty(), "delivered once");
}

#[test]
fn matcher_follows_rule_changes() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"a\"]}"}));
    env.ok("PutTargets", json!({"Rule": "r", "Targets": [{"Id": "f", "Arn": FN}]}));
    let send = |source: &str| {
        env.ok("PutEvents", json!({"Entries": [{"Source": source, "DetailType": "d", "Detail": "{}"}]}));
        env.deliver().len()
    };
    assert_eq!(send("a"), 1);
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"b\"]}"}));
    assert_eq!(send("a"), 0);
    assert_eq!(send("b"), 1, "targets survive PutRule");
    env.ok("DisableRule", json!({"Name": "r"}));
    assert_eq!(send("b"), 0);
    env.ok("EnableRule", json!({"Name": "r"}));
    assert_eq!(send("b"), 1);
    // A second service on the same store loads rules and matchers at start.
    let again = Env::with_store(env.store.clone());
    again.ok("PutEvents", json!({"Entries": [{"Source": "b", "DetailType": "d", "Detail": "{}"}]}));
    assert_eq!(again.deliver().len(), 1);
}

#[test]
fn unavailable_targets_are_retried_then_given_up() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"a\"]}"}));
    env.ok(
        "PutTargets",
        json!({"Rule": "r", "Targets": [{"Id": "f", "Arn": FN, "RetryPolicy": {"MaximumRetryAttempts": 1}}]}),
    );
    *crate::lock(&env.invoker.fail) = Some(PortError::Unavailable("busy".into()));
    env.ok("PutEvents", json!({"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}"}]}));
    assert!(env.deliver().is_empty());
    *crate::lock(&env.invoker.fail) = None;
    assert!(env.deliver().is_empty(), "not due yet");
    env.advance(2);
    assert_eq!(env.deliver().len(), 1, "retried after the backoff");
    *crate::lock(&env.invoker.fail) = Some(PortError::Unavailable("busy".into()));
    env.ok("PutEvents", json!({"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{}"}]}));
    env.deliver();
    env.advance(2);
    env.deliver();
    *crate::lock(&env.invoker.fail) = None;
    env.advance(10);
    assert!(env.deliver().is_empty(), "dropped after MaximumRetryAttempts");
}

#[test]
fn a_rate_rule_fires_under_the_test_clock() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "tick", "ScheduleExpression": "rate(1 minute)"}));
    env.ok("PutTargets", json!({"Rule": "tick", "Targets": [{"Id": "f", "Arn": FN}]}));
    queue::fire_schedules(&env.svc.inner).expect("tick");
    assert!(env.deliver().is_empty(), "not yet");
    env.advance(59);
    queue::fire_schedules(&env.svc.inner).expect("tick");
    assert!(env.deliver().is_empty(), "not yet");
    env.advance(1);
    queue::fire_schedules(&env.svc.inner).expect("tick");
    let got = env.deliver();
    assert_eq!(got.len(), 1);
    let event = &got[0].1;
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["resources"], json!(["arn:aws:events:us-east-1:000000000000:rule/tick"]));
    assert_eq!(event["detail"], json!({}));
    assert_eq!(event["time"], "2024-05-01T12:01:30Z");
    env.advance(60);
    queue::fire_schedules(&env.svc.inner).expect("tick");
    assert_eq!(env.deliver().len(), 1, "and again a minute later");
    env.ok("DisableRule", json!({"Name": "tick"}));
    env.advance(60);
    queue::fire_schedules(&env.svc.inner).expect("tick");
    assert!(env.deliver().is_empty(), "disabled rules do not fire");
}

#[test]
fn test_event_pattern_answers_and_refuses() {
    let env = Env::new();
    let event = json!({"id": "1", "account": "1", "source": "s", "time": "t", "region": "r", "detail-type": "d", "detail": {"n": 300.0}}).to_string();
    let ok =
        env.ok("TestEventPattern", json!({"EventPattern": "{\"detail\":{\"n\":[300]}}", "Event": event}));
    assert_eq!(ok["Result"], true);
    assert_eq!(
        env.err(
            "TestEventPattern",
            json!({"EventPattern": "{\"detail\":{\"n\":[300]}}", "Event": "{\"source\":\"s\"}"})
        ),
        ("ValidationException".into(), "Parameter Event is not valid.".into())
    );
    assert_eq!(
        env.err("TestEventPattern", json!({"EventPattern": "[]", "Event": event})).0,
        "InvalidEventPatternException"
    );
}

const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:orders";
const DLQ: &str = "arn:aws:sqs:us-east-1:000000000000:dlq";

#[test]
fn queue_targets_get_the_event_and_fifo_queues_need_a_group() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"a\"]}"}));
    let (code, message) = env.err(
        "PutTargets",
        json!({"Rule": "r", "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:o.fifo"}]}),
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "Parameter(s) SqsParameters must be specified for target: q.")
    );
    env.ok("PutTargets", json!({"Rule": "r", "Targets": [
        {"Id": "q", "Arn": QUEUE, "InputPath": "$.detail"},
        {"Id": "f", "Arn": "arn:aws:sqs:us-east-1:000000000000:o.fifo", "SqsParameters": {"MessageGroupId": "g1"}}
    ]}));
    let listed = env.ok("ListTargetsByRule", json!({"Rule": "r"}));
    assert_eq!(listed["Targets"][0]["SqsParameters"], json!({"MessageGroupId": "g1"}));
    env.ok("PutEvents", json!({"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{\"n\": 1}"}]}));
    env.deliver();
    let mut sent = env.sent();
    sent.sort();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, "arn:aws:sqs:us-east-1:000000000000:o.fifo");
    assert_eq!(sent[0].3.as_deref(), Some("g1"));
    assert_eq!(serde_json::from_str::<Value>(&sent[0].1).expect("event")["detail"], json!({"n": 1}));
    assert_eq!((sent[1].0.as_str(), sent[1].1.as_str(), sent[1].3.as_ref()), (QUEUE, "{\"n\":1}", None));
}

#[test]
fn failed_deliveries_go_to_the_dlq_with_eventbridges_attributes() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"a\"]}"}));
    env.ok("PutTargets", json!({"Rule": "r", "Targets": [
        {"Id": "gone", "Arn": "arn:aws:sqs:us-east-1:000000000000:missing", "InputPath": "$.detail", "DeadLetterConfig": {"Arn": DLQ}},
        {"Id": "busy", "Arn": FN, "RetryPolicy": {"MaximumRetryAttempts": 1}, "DeadLetterConfig": {"Arn": DLQ}}
    ]}));
    *crate::lock(&env.invoker.fail) = Some(PortError::Unavailable("Rate exceeded".into()));
    env.ok("PutEvents", json!({"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{\"n\": 1}"}]}));
    env.deliver();
    // A target that does not exist is not retried: its DLQ gets the event (not the target's input).
    let sent = env.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (queue, body, attributes, _) = &sent[0];
    assert_eq!(queue, DLQ);
    assert_eq!(serde_json::from_str::<Value>(body).expect("event")["detail"], json!({"n": 1}));
    assert_eq!(
        attributes,
        &vec![
            "RULE_ARN=String:arn:aws:events:us-east-1:000000000000:rule/r".to_owned(),
            "TARGET_ARN=String:arn:aws:sqs:us-east-1:000000000000:missing".to_owned(),
            "ERROR_CODE=String:NO_RESOURCE".to_owned(),
            "ERROR_MESSAGE=String:not found: arn:aws:sqs:us-east-1:000000000000:missing".to_owned(),
            "RETRY_ATTEMPTS=Number:0".to_owned(),
        ]
    );
    // A throttled target is retried, then given up with the condition that ran out.
    env.advance(2);
    env.deliver();
    let sent = env.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].2.contains(&"EXHAUSTED_RETRY_CONDITION=String:MaximumRetryAttempts".to_owned()),
        "{sent:?}"
    );
    assert!(sent[0].2.contains(&"RETRY_ATTEMPTS=Number:1".to_owned()), "{sent:?}");
    assert!(
        sent[0].2.contains(
            &"TARGET_ARN=String:arn:aws:lambda:us-east-1:000000000000:function:inventory".to_owned()
        )
    );
}

#[test]
fn bus_targets_route_events_on_and_cycles_end() {
    let env = Env::new();
    let bus = |name: &str| format!("arn:aws:events:us-east-1:000000000000:event-bus/{name}");
    env.ok("CreateEventBus", json!({"Name": "orders"}));
    env.ok("CreateEventBus", json!({"Name": "audit"}));
    env.ok("PutRule", json!({"Name": "fwd", "EventPattern": "{\"source\":[\"shop\"]}"}));
    env.ok("PutTargets", json!({"Rule": "fwd", "Targets": [{"Id": "b", "Arn": bus("orders")}]}));
    env.ok(
        "PutRule",
        json!({"Name": "in", "EventBusName": "orders", "EventPattern": "{\"source\":[\"shop\"]}"}),
    );
    env.ok(
        "PutTargets",
        json!({"Rule": "in", "EventBusName": "orders", "Targets": [
            {"Id": "f", "Arn": FN}, {"Id": "back", "Arn": bus("default")}, {"Id": "a", "Arn": bus("audit")}
        ]}),
    );
    env.ok(
        "PutRule",
        json!({"Name": "log", "EventBusName": "audit", "EventPattern": "{\"source\":[\"shop\"]}"}),
    );
    env.ok(
        "PutTargets",
        json!({"Rule": "log", "EventBusName": "audit", "Targets": [{"Id": "q", "Arn": QUEUE}]}),
    );
    env.ok("PutEvents", json!({"Entries": [{"Source": "shop", "DetailType": "d", "Detail": "{}"}]}));
    // default → orders → (function, default again: a cycle, dropped; audit → queue).
    let mut calls = Vec::new();
    for _ in 0..4 {
        calls.extend(env.deliver());
    }
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].1["source"], "shop");
    let sent = env.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, QUEUE);
    // A bus that does not exist is not retried.
    env.ok(
        "PutTargets",
        json!({"Rule": "fwd", "Targets": [{"Id": "b", "Arn": bus("nope")}, {"Id": "q", "Arn": QUEUE}]}),
    );
    env.ok("PutEvents", json!({"Entries": [{"Source": "shop", "DetailType": "d", "Detail": "{}"}]}));
    env.deliver();
    env.advance(600);
    env.deliver();
    assert_eq!(env.sent().len(), 1, "only the queue target");
}

#[test]
fn archives_keep_matching_events_and_replays_route_them_again() {
    let env = Env::new();
    let default_bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    let (code, message) = env.err(
        "CreateArchive",
        json!({"ArchiveName": "a", "EventSourceArn": "arn:aws:events:us-east-1:000000000000:event-bus/nope"}),
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", "Event bus nope does not exist.")
    );
    let created = env.ok(
        "CreateArchive",
        json!({"ArchiveName": "orders", "EventSourceArn": default_bus, "EventPattern": "{\"source\":[\"shop\"]}", "RetentionDays": 1}),
    );
    assert_eq!(created["ArchiveArn"], "arn:aws:events:us-east-1:000000000000:archive/orders");
    assert_eq!(created["State"], "ENABLED");
    let (code, message) =
        env.err("CreateArchive", json!({"ArchiveName": "orders", "EventSourceArn": default_bus}));
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceAlreadyExistsException", "Archive orders already exists.")
    );

    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"shop\"]}"}));
    env.ok("PutTargets", json!({"Rule": "r", "Targets": [{"Id": "f", "Arn": FN}]}));
    env.ok("PutRule", json!({"Name": "other", "EventPattern": "{\"source\":[\"shop\"]}"}));
    env.ok("PutTargets", json!({"Rule": "other", "Targets": [{"Id": "q", "Arn": QUEUE}]}));
    env.ok(
        "PutEvents",
        json!({"Entries": [
            {"Source": "shop", "DetailType": "d", "Detail": "{\"n\": 1}"},
            {"Source": "shop", "DetailType": "d", "Detail": "{\"n\": 2}"},
            {"Source": "elsewhere", "DetailType": "d", "Detail": "{}"}
        ]}),
    );
    assert_eq!(env.deliver().len(), 2);
    env.sent();
    let described = env.ok("DescribeArchive", json!({"ArchiveName": "orders"}));
    assert_eq!(described["EventCount"], 2, "only matching events are archived: {described}");
    assert!(described["SizeBytes"].as_u64().unwrap_or_default() > 100);
    let listed = env.ok("ListArchives", json!({"NamePrefix": "ord"}));
    assert_eq!(listed["Archives"][0]["ArchiveName"], "orders");

    let start = 1_714_564_800.0; // 2024-05-01T12:00:00Z, before the events.
    let replay = |name: &str, filter: Value| {
        json!({"ReplayName": name, "EventSourceArn": "arn:aws:events:us-east-1:000000000000:archive/orders",
               "EventStartTime": start, "EventEndTime": start + 3600.0,
               "Destination": {"Arn": default_bus, "FilterArns": filter}})
    };
    let (_, message) = env.err("StartReplay", json!({"ReplayName": "x", "EventSourceArn": "arn:aws:events:us-east-1:000000000000:archive/orders", "EventStartTime": start, "EventEndTime": start, "Destination": {"Arn": default_bus}}));
    assert_eq!(
        message,
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
    );
    let started =
        env.ok("StartReplay", replay("again", json!(["arn:aws:events:us-east-1:000000000000:rule/r"])));
    assert_eq!(started["State"], "STARTING");
    let (code, _) = env.err("StartReplay", replay("again", json!([])));
    assert_eq!(code, "ResourceAlreadyExistsException");
    assert!(!crate::archives::run_replays(&env.svc.inner).expect("replay"));
    let got = env.deliver();
    assert_eq!(got.len(), 2, "replayed to the filtered rule only: {got:?}");
    assert!(env.sent().is_empty(), "the other rule was not in FilterArns");
    assert_eq!(got[0].1["replay-name"], "again");
    let described = env.ok("DescribeReplay", json!({"ReplayName": "again"}));
    assert_eq!(described["State"], "COMPLETED");
    assert!(described["EventLastReplayedTime"].is_number());
    assert_eq!(
        env.ok("DescribeArchive", json!({"ArchiveName": "orders"}))["EventCount"],
        2,
        "replays are not archived again"
    );
    let (code, _) = env.err("CancelReplay", json!({"ReplayName": "again"}));
    assert_eq!(code, "IllegalStatusException");

    // Retention: a day later the events are gone.
    env.advance(86_400 + 120);
    crate::archives::purge(&env.svc.inner).expect("purge");
    assert_eq!(env.ok("DescribeArchive", json!({"ArchiveName": "orders"}))["EventCount"], 0);
    env.ok("DeleteArchive", json!({"ArchiveName": "orders"}));
    let (code, message) = env.err("DescribeArchive", json!({"ArchiveName": "orders"}));
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", "Archive orders does not exist.")
    );
}

#[test]
fn topic_targets_publish_the_input() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"a\"]}"}));
    let put = env.ok(
        "PutTargets",
        json!({"Rule": "r", "Targets": [
            {"Id": "t", "Arn": "arn:aws:sns:us-east-1:000000000000:alerts", "InputPath": "$.detail"}
        ]}),
    );
    assert_eq!(put["FailedEntryCount"], 0);
    env.ok("PutEvents", json!({"Entries": [{"Source": "a", "DetailType": "d", "Detail": "{\"n\": 1}"}]}));
    env.deliver();
    let published = std::mem::take(&mut *crate::lock(&env.topics.0));
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, "arn:aws:sns:us-east-1:000000000000:alerts");
    assert_eq!(published[0].1.message, "{\"n\":1}");
}
