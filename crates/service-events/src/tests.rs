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
    fn invoke_async(
        &self,
        function_arn: &str,
        payload: Bytes,
        _: Option<types::trace::TraceHeader>,
    ) -> Result<(), PortError> {
        if let Some(e) = crate::lock(&self.fail).clone() {
            return Err(e);
        }
        let value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        crate::lock(&self.calls).push((function_arn.to_owned(), value));
        Ok(())
    }

    fn invoke(
        &self,
        _: &str,
        _: Bytes,
        _: Option<types::trace::TraceHeader>,
    ) -> BoxFuture<'_, Result<InvokeResponse, PortError>> {
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
        _trace: Option<types::trace::TraceHeader>,
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
fn one_scan_delivers_side_by_side_yet_a_fifo_group_keeps_its_order() {
    let env = Env::new();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"a\"]}"}));
    env.ok("PutTargets", json!({"Rule": "r", "Targets": [
        {"Id": "q", "Arn": QUEUE, "InputPath": "$.detail"},
        {"Id": "f", "Arn": "arn:aws:sqs:us-east-1:000000000000:o.fifo", "InputPath": "$.detail", "SqsParameters": {"MessageGroupId": "g1"}}
    ]}));
    for batch in 0..4 {
        let entries: Vec<Value> = (0..10)
            .map(|i| json!({"Source": "a", "DetailType": "d", "Detail": format!("{{\"n\": {}}}", batch * 10 + i)}))
            .collect();
        env.ok("PutEvents", json!({ "Entries": entries }));
    }
    // 80 deliveries: two scans of 64, the second finishing the rest.
    env.deliver();
    env.deliver();
    let sent = env.sent();
    let numbers = |arn: &str| -> Vec<u64> {
        sent.iter()
            .filter(|s| s.0 == arn)
            .map(|s| serde_json::from_str::<Value>(&s.1).expect("input")["n"].as_u64().expect("n"))
            .collect()
    };
    assert_eq!(numbers("arn:aws:sqs:us-east-1:000000000000:o.fifo"), (0..40).collect::<Vec<u64>>());
    let mut standard = numbers(QUEUE);
    standard.sort_unstable();
    assert_eq!(standard, (0..40).collect::<Vec<u64>>());
    assert!(env.deliver().is_empty() && env.sent().is_empty(), "each delivered once");
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

const KEY_CONN: &str = "arn:aws:events:us-east-1:000000000000:connection/";

fn api_key_connection(env: &Env, name: &str) -> String {
    let out = env.ok(
        "CreateConnection",
        json!({"Name": name, "AuthorizationType": "API_KEY", "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "x-team", "Value": "payments"}, {"Key": "x-token", "Value": "hidden", "IsValueSecret": true}],
                "QueryStringParameters": [{"Key": "v", "Value": "2"}]
            }
        }}),
    );
    out["ConnectionArn"].as_str().expect("arn").to_owned()
}

#[test]
fn connections_lifecycle_in_aws_words() {
    let env = Env::new();
    let arn = api_key_connection(&env, "payments");
    let uuid = arn.strip_prefix(&format!("{KEY_CONN}payments/")).expect("connection ARN shape");
    assert_eq!(uuid.len(), 36, "{arn}");
    let d = env.ok("DescribeConnection", json!({"Name": "payments"}));
    assert_eq!(d["ConnectionState"], "AUTHORIZED");
    assert_eq!(d["AuthorizationType"], "API_KEY");
    assert_eq!(d["AuthParameters"]["ApiKeyAuthParameters"], json!({"ApiKeyName": "x-api-key"}));
    assert_eq!(
        d["AuthParameters"]["InvocationHttpParameters"]["HeaderParameters"],
        json!([{"Key": "x-team", "Value": "payments", "IsValueSecret": false}, {"Key": "x-token", "IsValueSecret": true}])
    );
    let secret = d["SecretArn"].as_str().expect("secret");
    assert!(
        secret
            .starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/payments/"),
        "{secret}"
    );
    assert!(!d.to_string().contains("s3cret"), "no secret is shown: {d}");
    assert!(d["LastAuthorizedTime"].is_number() && d["CreationTime"].is_number());
    assert_eq!(
        env.err("CreateConnection", json!({"Name": "payments", "AuthorizationType": "BASIC", "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}})).0,
        "ResourceAlreadyExistsException"
    );
    // LocalStack's AWS-recorded messages.
    assert_eq!(
        env.err("CreateConnection", json!({"Name": "Invalid Name With Spaces!", "AuthorizationType": "API_KEY", "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}})).1,
        r"1 validation error detected: Value 'Invalid Name With Spaces!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
    );
    assert_eq!(
        env.err(
            "CreateConnection",
            json!({"Name": "c", "AuthorizationType": "INVALID_AUTH_TYPE", "AuthParameters": {}})
        )
        .1,
        "1 validation error detected: Value 'INVALID_AUTH_TYPE' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
    );
    assert_eq!(
        env.err("CreateConnection", json!({"Name": "c", "AuthorizationType": "BASIC", "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}})).0,
        "ValidationException"
    );
    env.ok("CreateConnection", json!({"Name": "basic", "AuthorizationType": "BASIC", "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}}));
    env.ok("CreateConnection", json!({"Name": "other", "AuthorizationType": "BASIC", "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}}));
    let names = |out: &Value| -> Vec<String> {
        out["Connections"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["Name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let page = env.ok("ListConnections", json!({"Limit": 2}));
    assert_eq!(names(&page), ["basic", "other"]);
    let rest = env.ok("ListConnections", json!({"Limit": 2, "NextToken": page["NextToken"]}));
    assert_eq!(names(&rest), ["payments"]);
    assert!(rest.get("NextToken").is_none());
    assert_eq!(names(&env.ok("ListConnections", json!({"NamePrefix": "pay"}))), ["payments"]);

    let updated = env.ok(
        "UpdateConnection",
        json!({"Name": "basic", "AuthParameters": {"BasicAuthParameters": {"Username": "new_user"}}}),
    );
    assert_eq!(updated["ConnectionState"], "AUTHORIZED");
    assert!(updated["LastAuthorizedTime"].is_number());
    let d = env.ok("DescribeConnection", json!({"Name": "basic"}));
    assert_eq!(d["AuthParameters"]["BasicAuthParameters"]["Username"], "new_user");

    let deauth = env.ok("DeauthorizeConnection", json!({"Name": "basic"}));
    assert_eq!(deauth["ConnectionState"], "DEAUTHORIZING");
    let d = env.ok("DescribeConnection", json!({"Name": "basic"}));
    assert_eq!(d["ConnectionState"], "DEAUTHORIZED");
    assert!(d.get("SecretArn").is_none(), "{d}");
    assert_eq!(names(&env.ok("ListConnections", json!({"ConnectionState": "DEAUTHORIZED"}))), ["basic"]);
    // Without its secret again, it cannot be authorized; with one, it is.
    assert_eq!(
        env.err(
            "UpdateConnection",
            json!({"Name": "basic", "AuthParameters": {"BasicAuthParameters": {"Username": "x"}}})
        )
        .0,
        "ValidationException"
    );
    let again = env.ok(
        "UpdateConnection",
        json!({"Name": "basic", "AuthParameters": {"BasicAuthParameters": {"Password": "p2"}}}),
    );
    assert_eq!(again["ConnectionState"], "AUTHORIZED");

    let deleted = env.ok("DeleteConnection", json!({"Name": "other"}));
    assert_eq!(deleted["ConnectionState"], "DELETING");
    assert_eq!(
        env.err("DescribeConnection", json!({"Name": "other"})),
        (
            "ResourceNotFoundException".to_owned(),
            "Failed to describe the connection(s). Connection 'other' does not exist.".to_owned()
        )
    );
    assert_eq!(env.err("DeleteConnection", json!({"Name": "other"})).0, "ResourceNotFoundException");

    // Records survive a restart.
    let again = Env::with_store(env.store.clone());
    assert_eq!(again.ok("DescribeConnection", json!({"Name": "payments"}))["ConnectionArn"], arn);
}

#[test]
fn an_oauth_connection_is_authorizing_until_its_token_comes() {
    let env = Env::new();
    let out = env.ok(
        "CreateConnection",
        json!({"Name": "o", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {"OAuthParameters": {
            "AuthorizationEndpoint": "https://example.com/oauth", "HttpMethod": "POST",
            "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"}
        }}}),
    );
    assert_eq!(out["ConnectionState"], "AUTHORIZING");
    let d = env.ok("DescribeConnection", json!({"Name": "o"}));
    assert_eq!(
        d["AuthParameters"]["OAuthParameters"],
        json!({"AuthorizationEndpoint": "https://example.com/oauth", "HttpMethod": "POST", "ClientParameters": {"ClientID": "id"}})
    );
    let e = env.err(
        "CreateConnection",
        json!({"Name": "o2", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {"OAuthParameters": {
            "AuthorizationEndpoint": "https://example.com/oauth", "HttpMethod": "DELETE",
            "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"}
        }}}),
    );
    assert!(e.1.contains("at 'authParameters.oAuthParameters.httpMethod'"), "{e:?}");
    // An API destination on it is INACTIVE until it is authorized.
    let arn = out["ConnectionArn"].as_str().expect("arn");
    let dest = env.ok("CreateApiDestination", json!({"Name": "d", "ConnectionArn": arn, "InvocationEndpoint": "https://example.com/x", "HttpMethod": "POST"}));
    assert_eq!(dest["ApiDestinationState"], "INACTIVE");
}

#[test]
fn api_destinations_lifecycle_in_aws_words() {
    let env = Env::new();
    let conn = api_key_connection(&env, "c");
    let create = |name: &str, extra: Value| {
        let mut body = json!({"Name": name, "ConnectionArn": conn, "InvocationEndpoint": "https://example.com/api/*", "HttpMethod": "POST"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        body
    };
    // LocalStack's AWS-recorded message: every broken constraint, in member order.
    assert_eq!(
        env.err("CreateApiDestination", json!({"Name": "d", "ConnectionArn": "invalid-connection-arn", "HttpMethod": "INVALID_METHOD", "InvocationEndpoint": "invalid-endpoint"})).1,
        r"2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$; Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"
    );
    assert_eq!(
        env.err("CreateApiDestination", create("d", json!({"InvocationEndpoint": "http://example.com/"}))).0,
        "ValidationException"
    );
    assert_eq!(
        env.err("CreateApiDestination", create("d", json!({"InvocationRateLimitPerSecond": 301}))).0,
        "LimitExceededException"
    );
    assert!(
        env.err("CreateApiDestination", create("d", json!({"InvocationRateLimitPerSecond": 0})))
            .1
            .contains("greater than or equal to 1")
    );
    let missing = format!("{KEY_CONN}nope/0b6e1c0e-0000-0000-0000-000000000000");
    assert_eq!(
        env.err("CreateApiDestination", create("d", json!({"ConnectionArn": missing}))).0,
        "ResourceNotFoundException"
    );

    let out = env.ok("CreateApiDestination", create("d", json!({"Description": "Test API destination"})));
    assert_eq!(out["ApiDestinationState"], "ACTIVE");
    let arn = out["ApiDestinationArn"].as_str().expect("arn");
    assert!(arn.starts_with("arn:aws:events:us-east-1:000000000000:api-destination/d/"), "{arn}");
    assert_eq!(env.err("CreateApiDestination", create("d", json!({}))).0, "ResourceAlreadyExistsException");
    let d = env.ok("DescribeApiDestination", json!({"Name": "d"}));
    assert_eq!(d["InvocationRateLimitPerSecond"], 300);
    assert_eq!(d["Description"], "Test API destination");
    assert_eq!(d["ConnectionArn"], conn.as_str());
    env.ok("CreateApiDestination", create("e", json!({"InvocationRateLimitPerSecond": 10})));
    let listed = env.ok("ListApiDestinations", json!({"NamePrefix": "d"}));
    assert_eq!(listed["ApiDestinations"].as_array().map(Vec::len), Some(1));
    assert!(listed["ApiDestinations"][0].get("Description").is_none());
    let by_conn = env.ok("ListApiDestinations", json!({"ConnectionArn": conn}));
    assert_eq!(by_conn["ApiDestinations"].as_array().map(Vec::len), Some(2));

    let up = env.ok(
        "UpdateApiDestination",
        json!({"Name": "d", "HttpMethod": "PUT", "InvocationEndpoint": "https://example.com/api/v2"}),
    );
    assert_eq!(up["ApiDestinationState"], "ACTIVE");
    let d = env.ok("DescribeApiDestination", json!({"Name": "d"}));
    assert_eq!(
        (d["HttpMethod"].as_str(), d["InvocationEndpoint"].as_str()),
        (Some("PUT"), Some("https://example.com/api/v2"))
    );
    env.ok("DeauthorizeConnection", json!({"Name": "c"}));
    assert_eq!(env.ok("DescribeApiDestination", json!({"Name": "d"}))["ApiDestinationState"], "INACTIVE");

    env.ok("DeleteApiDestination", json!({"Name": "d"}));
    assert_eq!(
        env.err("DescribeApiDestination", json!({"Name": "d"})),
        (
            "ResourceNotFoundException".to_owned(),
            "Failed to describe the api-destination(s). An api-destination 'd' does not exist.".to_owned()
        )
    );
}

/// A local HTTPS endpoint answering each request with the next status of `statuses` (200 when
/// they run out); what it got, head and body, goes to the returned list.
async fn endpoint(statuses: Vec<u16>) -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let mut statuses = statuses.into_iter();
    outbound::fixtures::recording_endpoint(move |_| (statuses.next().unwrap_or(200), String::new())).await
}

impl Env {
    /// Runs the worker's scan and waits for the HTTP tasks it started.
    async fn deliver_http(&self) {
        queue::deliver_due(&self.svc.inner).expect("deliver");
        for _ in 0..200 {
            if crate::lock(self.svc.inner.queue.in_flight_keys()).is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("HTTP deliveries did not finish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_destination_targets_get_the_request_retries_and_the_dlq() {
    let env = Env::new();
    let _ = env.svc.inner.http_client.set(outbound::Client::with_roots(outbound::fixtures::ca()));
    let (port, got) = endpoint(vec![500, 200, 400]).await;
    let conn = api_key_connection(&env, "c");
    let dest = env.ok("CreateApiDestination", json!({"Name": "d", "ConnectionArn": conn, "InvocationEndpoint": format!("https://localhost:{port}/orders/*"), "HttpMethod": "POST"}))["ApiDestinationArn"].as_str().expect("arn").to_owned();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"shop\"]}"}));
    let put = env.ok("PutTargets", json!({"Rule": "r", "Targets": [{
        "Id": "api", "Arn": dest, "DeadLetterConfig": {"Arn": DLQ},
        "HttpParameters": {"PathParameterValues": ["o-1"], "HeaderParameters": {"x-team": "target", "x-trace": "t1"}, "QueryStringParameters": {"mode": "fast"}},
        "InputTransformer": {"InputPathsMap": {"total": "$.detail.total"}, "InputTemplate": "{\"total\": <total>}"}
    }]}));
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    env.ok(
        "PutEvents",
        json!({"Entries": [{"Source": "shop", "DetailType": "d", "Detail": "{\"total\": 42}"}]}),
    );

    // 500: retried after the backoff.
    env.deliver_http().await;
    assert_eq!(std::mem::take(&mut *crate::lock(&got)).len(), 1);
    assert!(env.sent().is_empty());
    env.deliver_http().await;
    assert!(crate::lock(&got).is_empty(), "not before its backoff");
    env.advance(2);
    env.deliver_http().await;
    let requests = std::mem::take(&mut *crate::lock(&got));
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (head, body) = &requests[0];
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("post /orders/o-1?mode=fast&v=2 http/1.1"), "{head}");
    for h in [
        "x-api-key: s3cret",
        "x-team: payments",
        "x-trace: t1",
        "x-token: hidden",
        "user-agent: amazon/eventbridge/apidestinations",
        "content-type: application/json; charset=utf-8",
    ] {
        assert!(lower.contains(h), "{h} in {head}");
    }
    assert_eq!(serde_json::from_str::<Value>(body).expect("json"), json!({"total": 42}));
    env.deliver_http().await;
    assert!(crate::lock(&got).is_empty(), "delivered once");

    // 400: not retried; the DLQ gets the event with EventBridge's attributes.
    env.ok(
        "PutEvents",
        json!({"Entries": [{"Source": "shop", "DetailType": "d", "Detail": "{\"total\": 7}"}]}),
    );
    env.deliver_http().await;
    assert_eq!(crate::lock(&got).len(), 1);
    let sent = env.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, DLQ);
    assert_eq!(serde_json::from_str::<Value>(&sent[0].1).expect("event")["detail"], json!({"total": 7}));
    assert!(sent[0].2.contains(&"ERROR_CODE=String:ERROR_FROM_TARGET".to_owned()), "{sent:?}");
    assert!(sent[0].2.contains(&format!("TARGET_ARN=String:{dest}")), "{sent:?}");
    assert!(sent[0].2.contains(&"RETRY_ATTEMPTS=Number:0".to_owned()), "{sent:?}");
    assert!(!sent[0].2.iter().any(|a| a.starts_with("EXHAUSTED_RETRY_CONDITION")), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destinations_rate_limit_delays_events_without_dropping_them() {
    let env = Env::new();
    let _ = env.svc.inner.http_client.set(outbound::Client::with_roots(outbound::fixtures::ca()));
    let (port, got) = endpoint(Vec::new()).await;
    let conn = api_key_connection(&env, "c");
    let dest = env.ok("CreateApiDestination", json!({"Name": "d", "ConnectionArn": conn, "InvocationEndpoint": format!("https://localhost:{port}/"), "HttpMethod": "PUT", "InvocationRateLimitPerSecond": 1}))["ApiDestinationArn"].as_str().expect("arn").to_owned();
    env.ok("PutRule", json!({"Name": "r", "EventPattern": "{\"source\":[\"shop\"]}"}));
    env.ok("PutTargets", json!({"Rule": "r", "Targets": [{"Id": "api", "Arn": dest}]}));
    let entry = json!({"Source": "shop", "DetailType": "d", "Detail": "{}"});
    env.ok("PutEvents", json!({"Entries": [entry, entry, entry]}));
    env.deliver_http().await;
    assert_eq!(crate::lock(&got).len(), 1, "one a second");
    env.advance(1);
    env.deliver_http().await;
    assert_eq!(crate::lock(&got).len(), 2);
    env.advance(1);
    env.deliver_http().await;
    assert_eq!(crate::lock(&got).len(), 3, "all three, in time");
    assert!(env.sent().is_empty());
}
