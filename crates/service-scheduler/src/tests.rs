//! Service-level tests: requests through `Operation::parse` and `act` on an in-memory store, a
//! clock the test moves, and targets that record what they were given.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ports::{
    BoxFuture, BusEvent, EventPublisher, FunctionInvoker, InvokeResponse, PortError, QueueMessageAttribute,
    QueueSender, TopicMessage, TopicPublisher,
};
use protocol::{Request, RequestContext};
use serde_json::{Value, json};
use storage::Store;
use time::OffsetDateTime;
use time::macros::datetime;
use types::{Clock, Scope};

use crate::{Operation, SchedulerConfig, SchedulerService, lock};

#[derive(Debug)]
struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *lock(&self.0)
    }
}

/// Functions that exist are listed; the others are not found. `busy` makes every call a
/// throttle.
#[derive(Default)]
struct Functions {
    exist: BTreeSet<String>,
    busy: Mutex<bool>,
    calls: Mutex<Vec<(String, String)>>,
}

impl FunctionInvoker for Functions {
    fn invoke_async(
        &self,
        function_arn: &str,
        payload: Bytes,
        _: Option<types::trace::TraceHeader>,
    ) -> Result<(), PortError> {
        if *lock(&self.busy) {
            return Err(PortError::Unavailable("Rate Exceeded.".to_owned()));
        }
        if !self.exist.contains(function_arn) {
            return Err(PortError::NotFound(format!("Function not found: {function_arn}")));
        }
        lock(&self.calls).push((function_arn.to_owned(), String::from_utf8_lossy(&payload).into_owned()));
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
        let attributes =
            attributes.iter().map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(&v.value))).collect();
        lock(&self.0).push((queue_arn.to_owned(), body.to_owned(), attributes, group_id.map(str::to_owned)));
        Ok("id".to_owned())
    }
}

const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:worker";
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:jobs";
const DLQ: &str = "arn:aws:sqs:us-east-1:000000000000:dlq";
const ROLE: &str = "arn:aws:iam::000000000000:role/scheduler";

struct Env {
    svc: SchedulerService,
    clock: Arc<TestClock>,
    functions: Arc<Functions>,
    queues: Arc<Queues>,
}

impl Env {
    fn new(store: Store) -> Env {
        let clock = Arc::new(TestClock(Mutex::new(datetime!(2024-05-01 12:00:30 UTC))));
        let svc = SchedulerService::new(store, clock.clone(), SchedulerConfig::default());
        let functions = Arc::new(Functions { exist: [FUNCTION.to_owned()].into(), ..Functions::default() });
        let queues = Arc::new(Queues::default());
        svc.set_function_invoker(functions.clone());
        svc.set_queue_sender(queues.clone());
        Env { svc, clock, functions, queues }
    }

    fn set_time(&self, t: OffsetDateTime) {
        *lock(&self.clock.0) = t;
    }

    fn call(&self, method: &str, uri: &str, body: Value) -> (u16, String, Value) {
        let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
        let req: Request = http::Request::builder().method(method).uri(uri).body(body).expect("request");
        let ctx = RequestContext::new(Scope::default(), "test");
        let resp = match Operation::parse(&req) {
            Ok(op) => self.svc.inner.act(&ctx, op).unwrap_or_else(|e| e.into_response(&ctx)),
            Err(e) => e.into_response(&ctx),
        };
        let code =
            resp.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        (resp.status().as_u16(), code, serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
    }

    fn ok(&self, method: &str, uri: &str, body: Value) -> Value {
        let (status, code, out) = self.call(method, uri, body);
        assert_eq!(status, 200, "{method} {uri}: {code} {out}");
        out
    }

    fn err(&self, method: &str, uri: &str, body: Value) -> (u16, String, String) {
        let (status, code, out) = self.call(method, uri, body);
        assert_ne!(status, 200, "{method} {uri} succeeded: {out}");
        (status, code, out["message"].as_str().unwrap_or_default().to_owned())
    }

    fn run(&self) -> usize {
        self.svc.run_once().expect("worker step")
    }
}

fn schedule(expr: &str, target: Value) -> Value {
    json!({ "ScheduleExpression": expr, "FlexibleTimeWindow": { "Mode": "OFF" }, "Target": target })
}

#[test]
fn schedules_and_groups_round_trip_with_scheduler_errors() {
    let env = Env::new(Store::memory());
    let mut input = schedule("cron(0 8 * * ? *)", json!({ "Arn": QUEUE, "RoleArn": ROLE, "Input": "hi" }));
    input["ScheduleExpressionTimezone"] = json!("Europe/Paris");
    input["Description"] = json!("every morning");
    let out = env.ok("POST", "/schedules/morning", input.clone());
    assert_eq!(out["ScheduleArn"], "arn:aws:scheduler:us-east-1:000000000000:schedule/default/morning");

    let got = env.ok("GET", "/schedules/morning", Value::Null);
    assert_eq!(got["ScheduleExpressionTimezone"], "Europe/Paris");
    assert_eq!(got["State"], "ENABLED");
    assert_eq!(got["ActionAfterCompletion"], "NONE");
    assert_eq!(got["GroupName"], "default");
    assert_eq!(
        got["Target"]["RetryPolicy"],
        json!({ "MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185 })
    );
    assert_eq!(got["CreationDate"], json!(1_714_564_830.0));

    let (status, code, message) = env.err("POST", "/schedules/morning", input.clone());
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (409, "ConflictException", "Schedule morning already exists.")
    );
    let (status, code, message) = env.err("GET", "/schedules/nope", Value::Null);
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (404, "ResourceNotFoundException", "Schedule nope does not exist.")
    );
    let (_, code, message) = env.err(
        "POST",
        "/schedules/bad",
        schedule("rate(1 minutes)", json!({ "Arn": QUEUE, "RoleArn": ROLE })),
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "Invalid Schedule Expression rate(1 minutes)")
    );
    let mut in_group = input.clone();
    in_group["GroupName"] = json!("ops");
    let (status, _, message) = env.err("POST", "/schedules/x", in_group.clone());
    assert_eq!((status, message.as_str()), (404, "Schedule group ops does not exist."));
    let (status, code, _) = env.err(
        "POST",
        "/schedules/u",
        schedule(
            "rate(1 hour)",
            json!({ "Arn": "arn:aws:scheduler:::aws-sdk:s3:listBuckets", "RoleArn": ROLE }),
        ),
    );
    assert_eq!((status, code.as_str()), (501, "NotImplemented"));
    let (_, code, message) =
        env.err("POST", "/schedules/r", schedule("rate(1 hour)", json!({ "Arn": QUEUE, "RoleArn": "role" })));
    assert_eq!(code, "ValidationException");
    assert!(message.contains("at 'target.roleArn'"), "{message}");

    env.ok("POST", "/schedule-groups/ops", json!({ "Tags": [{ "Key": "team", "Value": "ops" }] }));
    env.ok("POST", "/schedules/x", in_group.clone());
    let mut disabled = in_group.clone();
    disabled["State"] = json!("DISABLED");
    env.ok("POST", "/schedules/y", disabled);
    let listed = env.ok("GET", "/schedules?ScheduleGroup=ops&State=DISABLED", Value::Null);
    let names: Vec<&str> =
        listed["Schedules"].as_array().expect("list").iter().filter_map(|s| s["Name"].as_str()).collect();
    assert_eq!(names, ["y"]);
    let page = env.ok("GET", "/schedules?MaxResults=2", Value::Null);
    assert_eq!(page["Schedules"].as_array().map(Vec::len), Some(2));
    let token = page["NextToken"].as_str().expect("a second page");
    let rest = env.ok("GET", &format!("/schedules?MaxResults=2&NextToken={token}"), Value::Null);
    assert_eq!(rest["Schedules"][0]["Name"], "y");
    assert!(rest.get("NextToken").is_none());
    let prefixed = env.ok("GET", "/schedules?NamePrefix=mor", Value::Null);
    assert_eq!(prefixed["Schedules"][0]["Target"], json!({ "Arn": QUEUE }));

    let groups = env.ok("GET", "/schedule-groups", Value::Null);
    let names: Vec<&str> = groups["ScheduleGroups"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|g| g["Name"].as_str())
        .collect();
    assert_eq!(names, ["default", "ops"]);
    let arn = "arn%3Aaws%3Ascheduler%3Aus-east-1%3A000000000000%3Aschedule-group%2Fops";
    env.ok("POST", &format!("/tags/{arn}"), json!({ "Tags": [{ "Key": "env", "Value": "prod" }] }));
    env.ok("DELETE", &format!("/tags/{arn}?TagKeys=team"), Value::Null);
    assert_eq!(
        env.ok("GET", &format!("/tags/{arn}"), Value::Null)["Tags"],
        json!([{ "Key": "env", "Value": "prod" }])
    );

    let (_, code, _) = env.err("DELETE", "/schedule-groups/default", Value::Null);
    assert_eq!(code, "ValidationException");
    env.ok("DELETE", "/schedule-groups/ops", Value::Null);
    let (status, _, _) = env.err("GET", "/schedules/x?groupName=ops", Value::Null);
    assert_eq!(status, 404, "deleting a group deletes its schedules");
    assert_eq!(env.ok("GET", "/schedules", Value::Null)["Schedules"].as_array().map(Vec::len), Some(1));
    env.ok("DELETE", "/schedules/morning", Value::Null);
    assert_eq!(env.err("DELETE", "/schedules/morning", Value::Null).0, 404);
}

#[test]
fn a_one_time_schedule_fires_once_then_deletes_itself() {
    let env = Env::new(Store::memory());
    let mut input = schedule(
        "at(2024-05-01T14:01:00)",
        json!({
            "Arn": QUEUE,
            "RoleArn": ROLE,
            "Input": "{\"arn\":\"<aws.scheduler.schedule-arn>\",\"at\":\"<aws.scheduler.scheduled-time>\",\"n\":<aws.scheduler.attempt-number>}",
            "SqsParameters": { "MessageGroupId": "g1" }
        }),
    );
    // 14:01 in Paris (UTC+2 in May) is 12:01Z.
    input["ScheduleExpressionTimezone"] = json!("Europe/Paris");
    input["ActionAfterCompletion"] = json!("DELETE");
    env.ok("POST", "/schedules/once", input);
    assert_eq!(env.run(), 0, "not due yet");
    assert!(lock(&env.queues.0).is_empty());

    env.set_time(datetime!(2024-05-01 12:01:00 UTC));
    assert_eq!(env.run(), 1);
    let sent = lock(&env.queues.0).clone();
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_str(&sent[0].1).expect("json body");
    assert_eq!(
        body,
        json!({ "arn": "arn:aws:scheduler:us-east-1:000000000000:schedule/default/once", "at": "2024-05-01T12:01:00Z", "n": 1 })
    );
    assert_eq!(sent[0].3.as_deref(), Some("g1"));
    assert_eq!(env.err("GET", "/schedules/once", Value::Null).0, 404, "ActionAfterCompletion DELETE");

    env.set_time(datetime!(2024-05-02 12:01:00 UTC));
    assert_eq!(env.run(), 0, "fires once");
}

#[test]
fn a_missing_function_sends_the_invocation_to_the_dead_letter_queue() {
    let env = Env::new(Store::memory());
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:gone";
    env.ok(
        "POST",
        "/schedules/orphan",
        schedule(
            "rate(5 minutes)",
            json!({ "Arn": missing, "RoleArn": ROLE, "DeadLetterConfig": { "Arn": DLQ } }),
        ),
    );
    // A rate without a StartDate fires at once.
    assert_eq!(env.run(), 1);
    let sent = lock(&env.queues.0).clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, DLQ);
    assert_eq!(sent[0].1, "{}");
    for expected in [
        "ERROR_CODE=ResourceNotFoundException".to_owned(),
        "RETRY_ATTEMPTS=0".to_owned(),
        format!("TARGET_ARN={missing}"),
        "SCHEDULE_ARN=arn:aws:scheduler:us-east-1:000000000000:schedule/default/orphan".to_owned(),
    ] {
        assert!(sent[0].2.contains(&expected), "{expected} in {:?}", sent[0].2);
    }
}

#[test]
fn a_throttled_target_is_retried_then_dead_lettered() {
    let env = Env::new(Store::memory());
    *lock(&env.functions.busy) = true;
    let target = json!({
        "Arn": FUNCTION, "RoleArn": ROLE, "DeadLetterConfig": { "Arn": DLQ },
        "RetryPolicy": { "MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60 }
    });
    env.ok("POST", "/schedules/busy", schedule("rate(1 hour)", target));
    env.run();
    assert!(lock(&env.queues.0).is_empty(), "the first failure is retried");
    env.set_time(datetime!(2024-05-01 12:00:32 UTC));
    env.run();
    let sent = lock(&env.queues.0).clone();
    assert_eq!(sent.len(), 1, "the retry failed too: {sent:?}");
    assert!(
        sent[0].2.contains(&"EXHAUSTED_RETRY_CONDITION=MaximumRetryAttempts".to_owned()),
        "{:?}",
        sent[0].2
    );
    assert!(sent[0].2.contains(&"RETRY_ATTEMPTS=1".to_owned()));
}

#[test]
fn a_firing_missed_while_down_fires_once_on_start_and_the_schedule_goes_on() {
    let store = Store::memory();
    {
        let env = Env::new(store.clone());
        let mut input =
            schedule("rate(10 minutes)", json!({ "Arn": FUNCTION, "RoleArn": ROLE, "Input": "{\"job\":1}" }));
        input["StartDate"] = json!(1_714_566_000.0); // 12:20Z
        env.ok("POST", "/schedules/tick", input);
        assert_eq!(env.run(), 0, "waits for its StartDate");
    }
    // "Restart" an hour later: four windows (12:20 … 12:50) passed while down.
    let env = Env::new(store);
    env.set_time(datetime!(2024-05-01 13:05:00 UTC));
    assert_eq!(env.run(), 1);
    assert_eq!(lock(&env.functions.calls).clone(), [(FUNCTION.to_owned(), "{\"job\":1}".to_owned())]);
    assert_eq!(env.run(), 0, "the missed windows are not made up");
    env.set_time(datetime!(2024-05-01 13:10:00 UTC));
    assert_eq!(env.run(), 1, "the schedule goes on at its own times (12:20 + 5 × 10 min)");
}

#[test]
fn disabled_schedules_and_end_dates_stop_firing() {
    let env = Env::new(Store::memory());
    let mut input = schedule("cron(* * * * ? *)", json!({ "Arn": FUNCTION, "RoleArn": ROLE }));
    input["EndDate"] = json!(1_714_564_980.0); // 12:03Z
    env.ok("POST", "/schedules/minutely", input.clone());
    for minute in 1..=5 {
        env.set_time(datetime!(2024-05-01 12:00:00 UTC) + time::Duration::minutes(minute));
        env.run();
    }
    assert_eq!(lock(&env.functions.calls).len(), 3, "12:01, 12:02, 12:03, then the EndDate");
    let got = env.ok("GET", "/schedules/minutely", Value::Null);
    assert_eq!(got["EndDate"], json!(1_714_564_980.0));

    input.as_object_mut().map(|m| m.remove("EndDate"));
    input["State"] = json!("DISABLED");
    env.ok("PUT", "/schedules/minutely", input);
    env.set_time(datetime!(2024-05-01 12:10:00 UTC));
    env.run();
    assert_eq!(lock(&env.functions.calls).len(), 3, "a disabled schedule does not fire");
}

#[derive(Default)]
struct Buses(Mutex<Vec<BusEvent>>);

impl EventPublisher for Buses {
    fn put_event(&self, event: BusEvent) -> Result<String, PortError> {
        if serde_json::from_str::<serde_json::Map<String, Value>>(&event.detail).is_err() {
            return Err(PortError::Invalid("Detail is not a JSON object".to_owned()));
        }
        lock(&self.0).push(event);
        Ok("event-id".to_owned())
    }
}

#[derive(Default)]
struct Topics(Mutex<Vec<(String, TopicMessage)>>);

impl TopicPublisher for Topics {
    fn publish(&self, topic_arn: &str, message: TopicMessage) -> Result<String, PortError> {
        lock(&self.0).push((topic_arn.to_owned(), message));
        Ok("message-id".to_owned())
    }
}

#[test]
fn bus_and_topic_targets_get_the_input_as_event_detail_and_message() {
    let env = Env::new(Store::memory());
    let buses = Arc::new(Buses::default());
    let topics = Arc::new(Topics::default());
    env.svc.set_event_publisher(buses.clone());
    env.svc.set_topic_publisher(topics.clone());
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    let topic = "arn:aws:sns:us-east-1:000000000000:alerts";
    let (_, code, _) =
        env.err("POST", "/schedules/b", schedule("rate(1 hour)", json!({ "Arn": bus, "RoleArn": ROLE })));
    assert_eq!(code, "ValidationException", "a bus target needs EventBridgeParameters");
    env.ok(
        "POST",
        "/schedules/b",
        schedule(
            "rate(1 hour)",
            json!({
                "Arn": bus, "RoleArn": ROLE, "Input": "{\"report\":true}",
                "EventBridgeParameters": { "DetailType": "Report Due", "Source": "com.example.reports" }
            }),
        ),
    );
    env.ok(
        "POST",
        "/schedules/t",
        schedule("rate(1 hour)", json!({ "Arn": topic, "RoleArn": ROLE, "Input": "ping" })),
    );
    assert_eq!(env.run(), 2);
    let events = lock(&buses.0).clone();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].source.as_str(), events[0].detail_type.as_str()),
        ("com.example.reports", "Report Due")
    );
    assert_eq!(events[0].detail, "{\"report\":true}");
    assert_eq!(events[0].resources, ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/b"]);
    let published = lock(&topics.0).clone();
    assert_eq!(published.len(), 1);
    assert_eq!((published[0].0.as_str(), published[0].1.message.as_str()), (topic, "ping"));
}
