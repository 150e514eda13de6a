//! Service-level tests: requests through `Operation::parse` and `act` on an in-memory store,
//! with an SQS and a Lambda port that record what they were given. The HTTP handshake is tested
//! end to end (`crates/server/tests/it/sns.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use ports::{BoxFuture, FunctionInvoker, InvokeResponse, PortError, QueueMessageAttribute, QueueSender};
use protocol::RequestContext;
use serde_json::Value;
use storage::Store;
use types::{AccountId, Region, Scope};

use crate::{SnsConfig, SnsService, lock, queue};

type Sent = (String, String, Vec<(String, QueueMessageAttribute)>, Option<String>, Option<String>);

#[derive(Default)]
struct Queues {
    sent: Mutex<Vec<Sent>>,
    /// How many sends to [`QUEUE`] fail with `Unavailable` before they succeed.
    failures: AtomicUsize,
    missing: Mutex<Vec<String>>,
}

impl QueueSender for Queues {
    fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        trace: Option<types::trace::TraceHeader>,
    ) -> Result<String, PortError> {
        self.send_message_deduplicated(queue_arn, body, attributes, group_id, None, trace)
    }

    fn send_message_deduplicated(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        dedup_id: Option<&str>,
        _trace: Option<types::trace::TraceHeader>,
    ) -> Result<String, PortError> {
        if lock(&self.missing).iter().any(|q| q == queue_arn) {
            return Err(PortError::NotFound(queue_arn.to_owned()));
        }
        if queue_arn == QUEUE && self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(PortError::Unavailable("busy".to_owned()));
        }
        lock(&self.sent).push((
            queue_arn.to_owned(),
            body.to_owned(),
            attributes.to_vec(),
            group_id.map(str::to_owned),
            dedup_id.map(str::to_owned),
        ));
        Ok("id".to_owned())
    }
}

#[derive(Default)]
struct Lambda {
    calls: Mutex<Vec<(String, Value)>>,
}

impl FunctionInvoker for Lambda {
    fn invoke_async(
        &self,
        function_arn: &str,
        payload: Bytes,
        _: Option<types::trace::TraceHeader>,
    ) -> Result<(), PortError> {
        let value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        lock(&self.calls).push((function_arn.to_owned(), value));
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

struct Env {
    svc: SnsService,
    queues: Arc<Queues>,
    lambda: Arc<Lambda>,
    store: Store,
}

const ARN: &str = "arn:aws:sns:us-east-1:000000000000";
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:q";

impl Env {
    fn new() -> Env {
        Env::with_store(Store::memory())
    }

    fn with_store(store: Store) -> Env {
        let queues = Arc::new(Queues::default());
        let lambda = Arc::new(Lambda::default());
        let config = SnsConfig {
            retry_base: Duration::ZERO,
            endpoint_url: "http://127.0.0.1:4566".into(),
            ..SnsConfig::default()
        };
        let svc = SnsService::new(
            store.clone(),
            Arc::new(types::SystemClock),
            queues.clone(),
            lambda.clone(),
            config,
        )
        .expect("service starts");
        Env { svc, queues, lambda, store }
    }

    fn call(&self, params: &[(&str, &str)]) -> (StatusCode, String) {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let req = http::Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from(body))
            .expect("request");
        let scope = Scope {
            account: AccountId::parse("000000000000").expect("id"),
            region: Region::parse("us-east-1").expect("region"),
        };
        let resp = self.svc.handle(&RequestContext::new(scope, "test"), &req);
        (resp.status(), String::from_utf8_lossy(resp.body()).into_owned())
    }

    fn ok(&self, params: &[(&str, &str)]) -> String {
        let (status, body) = self.call(params);
        assert_eq!(status, StatusCode::OK, "{params:?}: {body}");
        body
    }

    fn error(&self, params: &[(&str, &str)]) -> (StatusCode, String, String) {
        let (status, body) = self.call(params);
        assert_ne!(status, StatusCode::OK, "{params:?} succeeded: {body}");
        (status, leaf(&body, "Code"), leaf(&body, "Message"))
    }

    async fn deliver(&self) {
        queue::deliver_due(&self.svc.inner).await.expect("deliveries run");
    }

    fn sent(&self) -> Vec<Sent> {
        std::mem::take(&mut *lock(&self.queues.sent))
    }
}

/// The text of the first `<name>` element, XML entities decoded.
fn leaf(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let Some(start) = xml.find(&open) else { return String::new() };
    let rest = &xml[start + open.len()..];
    let end = rest.find(&format!("</{name}>")).unwrap_or(rest.len());
    rest[..end].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn attribute(xml: &str, key: &str) -> Option<String> {
    let marker = format!("<key>{key}</key><value>");
    let start = xml.find(&marker)? + marker.len();
    let end = xml[start..].find("</value>")?;
    Some(xml[start..start + end].replace("&quot;", "\"").replace("&amp;", "&"))
}

#[test]
fn topics_are_idempotent_listed_and_deleted() {
    let env = Env::new();
    let body = env.ok(&[
        ("Action", "CreateTopic"),
        ("Name", "orders"),
        ("Attributes.entry.1.key", "DisplayName"),
        ("Attributes.entry.1.value", "Orders"),
    ]);
    let arn = leaf(&body, "TopicArn");
    assert_eq!(arn, format!("{ARN}:orders"));
    assert!(
        body.starts_with("<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"),
        "{body}"
    );
    let again = env.ok(&[
        ("Action", "CreateTopic"),
        ("Name", "orders"),
        ("Attributes.entry.1.key", "DisplayName"),
        ("Attributes.entry.1.value", "Orders"),
    ]);
    assert_eq!(leaf(&again, "TopicArn"), arn);
    let (status, code, message) = env.error(&[
        ("Action", "CreateTopic"),
        ("Name", "orders"),
        ("Attributes.entry.1.key", "DisplayName"),
        ("Attributes.entry.1.value", "Other"),
    ]);
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "InvalidParameter"));
    assert_eq!(
        message,
        "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
    );

    let attrs = env.ok(&[("Action", "GetTopicAttributes"), ("TopicArn", &arn)]);
    assert_eq!(attribute(&attrs, "DisplayName").as_deref(), Some("Orders"));
    assert_eq!(attribute(&attrs, "Owner").as_deref(), Some("000000000000"));
    assert_eq!(attribute(&attrs, "SubscriptionsConfirmed").as_deref(), Some("0"));
    assert!(attribute(&attrs, "Policy").is_some_and(|p| p.contains("__default_policy_ID")));
    assert!(attribute(&attrs, "EffectiveDeliveryPolicy").is_some_and(|p| p.contains("numRetries")));

    env.ok(&[
        ("Action", "SetTopicAttributes"),
        ("TopicArn", &arn),
        ("AttributeName", "DisplayName"),
        ("AttributeValue", "New"),
    ]);
    let attrs = env.ok(&[("Action", "GetTopicAttributes"), ("TopicArn", &arn)]);
    assert_eq!(attribute(&attrs, "DisplayName").as_deref(), Some("New"));
    let (_, _, message) = env.error(&[
        ("Action", "SetTopicAttributes"),
        ("TopicArn", &arn),
        ("AttributeName", "FifoTopic"),
        ("AttributeValue", "true"),
    ]);
    assert_eq!(message, "Invalid parameter: AttributeName");

    for i in 0..120 {
        env.ok(&[("Action", "CreateTopic"), ("Name", &format!("t{i:03}"))]);
    }
    let page1 = env.ok(&[("Action", "ListTopics")]);
    assert_eq!(page1.matches("<TopicArn>").count(), 100);
    let token = leaf(&page1, "NextToken");
    assert!(!token.is_empty());
    let page2 = env.ok(&[("Action", "ListTopics"), ("NextToken", &token)]);
    assert_eq!(page2.matches("<TopicArn>").count(), 21);
    assert!(!page2.contains("<NextToken>"));

    env.ok(&[("Action", "DeleteTopic"), ("TopicArn", &arn)]);
    let (status, code, message) = env.error(&[("Action", "GetTopicAttributes"), ("TopicArn", &arn)]);
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (StatusCode::NOT_FOUND, "NotFound", "Topic does not exist")
    );
    // Deleting it again is not an error.
    env.ok(&[("Action", "DeleteTopic"), ("TopicArn", &arn)]);
}

#[test]
fn topic_name_and_fifo_rules() {
    let env = Env::new();
    let (_, _, m) = env.error(&[("Action", "CreateTopic"), ("Name", "a.fifo")]);
    assert_eq!(m, "Invalid parameter: Topic Name");
    let (_, _, m) = env.error(&[
        ("Action", "CreateTopic"),
        ("Name", "plain"),
        ("Attributes.entry.1.key", "FifoTopic"),
        ("Attributes.entry.1.value", "true"),
    ]);
    assert!(m.starts_with("Invalid parameter: Fifo Topic names must end with .fifo"), "{m}");
    let body = env.ok(&[
        ("Action", "CreateTopic"),
        ("Name", "a.fifo"),
        ("Attributes.entry.1.key", "FifoTopic"),
        ("Attributes.entry.1.value", "true"),
    ]);
    let attrs = env.ok(&[("Action", "GetTopicAttributes"), ("TopicArn", &leaf(&body, "TopicArn"))]);
    assert_eq!(attribute(&attrs, "FifoTopic").as_deref(), Some("true"));
    assert_eq!(attribute(&attrs, "ContentBasedDeduplication").as_deref(), Some("false"));
    let (_, code, _) = env.error(&[("Action", "CreatePlatformApplication"), ("Name", "x")]);
    assert_eq!(code, "NotImplemented");
    let (_, code, m) = env.error(&[("Action", "Nope"), ("Version", "2010-03-31")]);
    assert_eq!(
        (code.as_str(), m.as_str()),
        ("InvalidAction", "Could not find operation Nope for version 2010-03-31")
    );
}

fn topic(env: &Env, name: &str) -> String {
    leaf(&env.ok(&[("Action", "CreateTopic"), ("Name", name)]), "TopicArn")
}

fn subscribe(env: &Env, topic: &str, protocol: &str, endpoint: &str, attrs: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("Action".to_owned(), "Subscribe".to_owned()),
        ("TopicArn".into(), topic.into()),
        ("Protocol".into(), protocol.into()),
        ("Endpoint".into(), endpoint.into()),
    ];
    for (i, (k, v)) in attrs.iter().enumerate() {
        params.push((format!("Attributes.entry.{}.key", i + 1), (*k).to_owned()));
        params.push((format!("Attributes.entry.{}.value", i + 1), (*v).to_owned()));
    }
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    leaf(&env.ok(&refs), "SubscriptionArn")
}

#[tokio::test]
async fn sqs_gets_only_matching_messages_wrapped_or_raw() {
    let env = Env::new();
    let t = topic(&env, "orders");
    let wrapped = subscribe(
        &env,
        &t,
        "sqs",
        QUEUE,
        &[("FilterPolicy", r#"{"color":["red"],"size":[{"numeric":[">",10]}]}"#)],
    );
    assert!(wrapped.starts_with(&format!("{t}:")), "{wrapped}");
    let raw_queue = "arn:aws:sqs:us-east-1:000000000000:raw";
    subscribe(&env, &t, "sqs", raw_queue, &[("RawMessageDelivery", "true")]);

    let publish = |color: &str, size: &str| {
        env.ok(&[
            ("Action", "Publish"),
            ("TopicArn", &t),
            ("Message", "hello"),
            ("Subject", "greeting"),
            ("MessageAttributes.entry.1.Name", "color"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            ("MessageAttributes.entry.1.Value.StringValue", color),
            ("MessageAttributes.entry.2.Name", "size"),
            ("MessageAttributes.entry.2.Value.DataType", "Number"),
            ("MessageAttributes.entry.2.Value.StringValue", size),
        ])
    };
    let matching = leaf(&publish("red", "12"), "MessageId");
    publish("blue", "12");
    publish("red", "3");
    env.deliver().await;
    let sent = env.sent();
    let to_wrapped: Vec<&Sent> = sent.iter().filter(|s| s.0 == QUEUE).collect();
    let to_raw: Vec<&Sent> = sent.iter().filter(|s| s.0 == raw_queue).collect();
    assert_eq!(to_wrapped.len(), 1, "only the matching message: {sent:?}");
    assert_eq!(to_raw.len(), 3);

    let envelope: Value = serde_json::from_str(&to_wrapped[0].1).expect("envelope is JSON");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["MessageId"], matching.as_str());
    assert_eq!(envelope["TopicArn"], t.as_str());
    assert_eq!(envelope["Subject"], "greeting");
    assert_eq!(envelope["Message"], "hello");
    assert_eq!(envelope["MessageAttributes"]["size"], serde_json::json!({"Type": "Number", "Value": "12"}));
    assert!(envelope["UnsubscribeURL"].as_str().is_some_and(|u| u.contains(&wrapped)));
    assert!(to_wrapped[0].2.is_empty(), "wrapped messages carry attributes in the body only");

    assert_eq!(to_raw[0].1, "hello");
    let names: Vec<&str> = to_raw[0].2.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["color", "size"]);
    assert_eq!(
        to_raw[0].2[1].1,
        QueueMessageAttribute { data_type: "Number".into(), value: Bytes::from_static(b"12") }
    );
}

#[tokio::test]
async fn body_scope_and_message_structure() {
    let env = Env::new();
    let t = topic(&env, "t");
    subscribe(
        &env,
        &t,
        "sqs",
        QUEUE,
        &[
            ("FilterPolicyScope", "MessageBody"),
            ("FilterPolicy", r#"{"kind":[{"prefix":"im"}]}"#),
            ("RawMessageDelivery", "true"),
        ],
    );
    env.ok(&[("Action", "Publish"), ("TopicArn", &t), ("Message", r#"{"kind":"image"}"#)]);
    env.ok(&[("Action", "Publish"), ("TopicArn", &t), ("Message", r#"{"kind":"text"}"#)]);
    env.ok(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("MessageStructure", "json"),
        ("Message", r#"{"default":"x","sqs":"{\"kind\":\"img2\"}"}"#),
    ]);
    env.deliver().await;
    let bodies: Vec<String> = env.sent().into_iter().map(|s| s.1).collect();
    assert_eq!(bodies, [r#"{"kind":"image"}"#, r#"{"kind":"img2"}"#]);
    let (_, _, m) = env.error(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("MessageStructure", "json"),
        ("Message", r#"{"sqs":"x"}"#),
    ]);
    assert_eq!(m, "Invalid parameter: Message Structure - No default entry in JSON message body");
    let (_, _, m) = env.error(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("MessageStructure", "json"),
        ("Message", "nope"),
    ]);
    assert_eq!(m, "Invalid parameter: Message Structure - JSON message body failed to parse");
}

#[tokio::test]
async fn lambda_gets_the_sns_event_record() {
    let env = Env::new();
    let t = topic(&env, "t");
    let f = "arn:aws:lambda:us-east-1:000000000000:function:f";
    let sub = subscribe(&env, &t, "lambda", f, &[]);
    let id = leaf(&env.ok(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "m")]), "MessageId");
    env.deliver().await;
    let calls = std::mem::take(&mut *lock(&env.lambda.calls));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, f);
    let record = &calls[0].1["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert_eq!(record["EventSubscriptionArn"], sub.as_str());
    assert_eq!(record["Sns"]["MessageId"], id.as_str());
    assert_eq!(record["Sns"]["Message"], "m");
    assert_eq!(record["Sns"]["Type"], "Notification");
    let (_, _, m) = env.error(&[
        ("Action", "Subscribe"),
        ("TopicArn", &t),
        ("Protocol", "lambda"),
        ("Endpoint", f),
        ("Attributes.entry.1.key", "RawMessageDelivery"),
        ("Attributes.entry.1.value", "true"),
    ]);
    assert_eq!(
        m,
        "Invalid parameter: Attributes Reason: Delivery protocol [lambda] does not support raw message delivery."
    );
}

#[tokio::test]
async fn fifo_topics_require_ids_and_drop_duplicates() {
    let env = Env::new();
    let body = env.ok(&[
        ("Action", "CreateTopic"),
        ("Name", "o.fifo"),
        ("Attributes.entry.1.key", "FifoTopic"),
        ("Attributes.entry.1.value", "true"),
    ]);
    let t = leaf(&body, "TopicArn");
    let fifo_queue = "arn:aws:sqs:us-east-1:000000000000:q.fifo";
    subscribe(&env, &t, "sqs", fifo_queue, &[("RawMessageDelivery", "true")]);
    let (_, _, m) = env.error(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "a")]);
    assert_eq!(m, "Invalid parameter: The MessageGroupId parameter is required for FIFO topics");
    let (_, _, m) =
        env.error(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "a"), ("MessageGroupId", "g")]);
    assert_eq!(
        m,
        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    );
    let mut seqs = Vec::new();
    for (text, dedup) in [("1", "d1"), ("2", "d2"), ("again", "d1"), ("3", "d3")] {
        let body = env.ok(&[
            ("Action", "Publish"),
            ("TopicArn", &t),
            ("Message", text),
            ("MessageGroupId", "g"),
            ("MessageDeduplicationId", dedup),
        ]);
        seqs.push(leaf(&body, "SequenceNumber"));
    }
    assert!(seqs.iter().all(|s| s.len() == 20), "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers grow: {seqs:?}");
    env.deliver().await;
    let sent = env.sent();
    let bodies: Vec<&str> = sent.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(bodies, ["1", "2", "3"], "in order, the duplicate dropped");
    assert_eq!(sent[1].3.as_deref(), Some("g"));
    assert_eq!(sent[1].4.as_deref(), Some("d2"));

    let standard = topic(&env, "std");
    let (_, _, m) = env.error(&[
        ("Action", "Subscribe"),
        ("TopicArn", &standard),
        ("Protocol", "sqs"),
        ("Endpoint", fifo_queue),
    ]);
    assert_eq!(
        m,
        "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
    );
    let (_, _, m) = env.error(&[
        ("Action", "Publish"),
        ("TopicArn", &standard),
        ("Message", "a"),
        ("MessageDeduplicationId", "x"),
    ]);
    assert!(m.starts_with("Invalid parameter: MessageDeduplicationId Reason:"), "{m}");
}

#[tokio::test]
async fn publish_batch_reports_each_entry() {
    let env = Env::new();
    let t = topic(&env, "t");
    subscribe(&env, &t, "sqs", QUEUE, &[("RawMessageDelivery", "true")]);
    let entry = |n: usize, field: &str| format!("PublishBatchRequestEntries.member.{n}.{field}");
    let (k1, k2, k3, k4) = (entry(1, "Id"), entry(1, "Message"), entry(2, "Id"), entry(2, "Message"));
    let body = env.ok(&[
        ("Action", "PublishBatch"),
        ("TopicArn", &t),
        (&k1, "a"),
        (&k2, "one"),
        (&k3, "b"),
        (&k4, ""),
    ]);
    assert_eq!(leaf(&leaf(&body, "Successful"), "Id"), "a");
    let failed = leaf(&body, "Failed");
    assert_eq!(leaf(&failed, "Id"), "b");
    assert_eq!(leaf(&failed, "Code"), "InvalidParameter");
    assert_eq!(leaf(&failed, "Message"), "Invalid parameter: Empty message");
    assert_eq!(leaf(&failed, "SenderFault"), "true");
    env.deliver().await;
    assert_eq!(env.sent().len(), 1);

    let (_, code, m) = env.error(&[
        ("Action", "PublishBatch"),
        ("TopicArn", &t),
        (&k1, "a"),
        (&k2, "one"),
        (&k3, "a"),
        (&k4, "two"),
    ]);
    assert_eq!(
        (code.as_str(), m.as_str()),
        ("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
    );
    let many: Vec<(String, String)> = (1..=11)
        .flat_map(|n| [(entry(n, "Id"), format!("e{n}")), (entry(n, "Message"), "m".to_owned())])
        .collect();
    let mut params: Vec<(&str, &str)> = vec![("Action", "PublishBatch"), ("TopicArn", &t)];
    params.extend(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (_, code, _) = env.error(&params);
    assert_eq!(code, "TooManyEntriesInBatchRequest");
    let (_, code, _) =
        env.error(&[("Action", "PublishBatch"), ("TopicArn", &t), (&k1, "bad id!"), (&k2, "m")]);
    assert_eq!(code, "InvalidBatchEntryId");
}

#[tokio::test]
async fn deliveries_are_retried_survive_restarts_and_dead_letter() {
    let store = Store::memory();
    let env = Env::with_store(store.clone());
    let t = topic(&env, "t");
    let dlq = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let gone = "arn:aws:sqs:us-east-1:000000000000:gone";
    subscribe(&env, &t, "sqs", QUEUE, &[("RawMessageDelivery", "true")]);
    subscribe(&env, &t, "sqs", gone, &[("RedrivePolicy", &format!(r#"{{"deadLetterTargetArn":"{dlq}"}}"#))]);
    lock(&env.queues.missing).push(gone.to_owned());
    env.ok(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "durable")]);

    // A new service on the same store (a restart) delivers what the first one accepted.
    let restarted = Env::with_store(env.store.clone());
    lock(&restarted.queues.missing).push(gone.to_owned());
    restarted.queues.failures.store(2, Ordering::SeqCst);
    for _ in 0..5 {
        restarted.deliver().await;
    }
    let sent = restarted.sent();
    let to_queue: Vec<&Sent> = sent.iter().filter(|s| s.0 == QUEUE).collect();
    assert_eq!(to_queue.len(), 1, "delivered once after two refusals: {sent:?}");
    assert_eq!(to_queue[0].1, "durable");
    let to_dlq: Vec<&Sent> = sent.iter().filter(|s| s.0 == dlq).collect();
    assert_eq!(to_dlq.len(), 1, "the missing queue's copy went to the DLQ");
    let dead: Value = serde_json::from_str(&to_dlq[0].1).expect("envelope");
    assert_eq!(dead["Message"], "durable");
    assert!(store.kv.scan(crate::model::DELIVERIES, storage::KeyRange::all(), 10).expect("scan").is_empty());
}

#[tokio::test]
async fn subscription_attributes_lists_and_unsubscribe() {
    let env = Env::new();
    let t = topic(&env, "t");
    let sub = subscribe(&env, &t, "sqs", QUEUE, &[]);
    assert_eq!(subscribe(&env, &t, "sqs", QUEUE, &[]), sub, "Subscribe is idempotent");
    let attrs = env.ok(&[("Action", "GetSubscriptionAttributes"), ("SubscriptionArn", &sub)]);
    assert_eq!(attribute(&attrs, "RawMessageDelivery").as_deref(), Some("false"));
    assert_eq!(attribute(&attrs, "PendingConfirmation").as_deref(), Some("false"));
    assert_eq!(attribute(&attrs, "Endpoint").as_deref(), Some(QUEUE));
    assert_eq!(attribute(&attrs, "FilterPolicyScope"), None);
    env.ok(&[
        ("Action", "SetSubscriptionAttributes"),
        ("SubscriptionArn", &sub),
        ("AttributeName", "FilterPolicy"),
        ("AttributeValue", r#"{"a":["b"]}"#),
    ]);
    let attrs = env.ok(&[("Action", "GetSubscriptionAttributes"), ("SubscriptionArn", &sub)]);
    assert_eq!(attribute(&attrs, "FilterPolicy").as_deref(), Some(r#"{"a":["b"]}"#));
    assert_eq!(attribute(&attrs, "FilterPolicyScope").as_deref(), Some("MessageAttributes"));
    let (_, _, m) = env.error(&[
        ("Action", "SetSubscriptionAttributes"),
        ("SubscriptionArn", &sub),
        ("AttributeName", "FilterPolicy"),
        ("AttributeValue", r#"{"a":[{"numeric":[">",3,"<",1]}]}"#),
    ]);
    assert_eq!(m, "Invalid parameter: FilterPolicy: Bottom must be less than top");
    let (_, _, m) = env.error(&[
        ("Action", "SetSubscriptionAttributes"),
        ("SubscriptionArn", &sub),
        ("AttributeName", "Bogus"),
        ("AttributeValue", "1"),
    ]);
    assert_eq!(m, "Invalid parameter: AttributeName");

    let list = env.ok(&[("Action", "ListSubscriptionsByTopic"), ("TopicArn", &t)]);
    assert_eq!(leaf(&list, "SubscriptionArn"), sub);
    assert_eq!(leaf(&list, "Protocol"), "sqs");
    let all = env.ok(&[("Action", "ListSubscriptions")]);
    assert_eq!(all.matches("<member>").count(), 1);

    env.ok(&[("Action", "Unsubscribe"), ("SubscriptionArn", &sub)]);
    let (status, code, m) = env.error(&[("Action", "GetSubscriptionAttributes"), ("SubscriptionArn", &sub)]);
    assert_eq!(
        (status, code.as_str(), m.as_str()),
        (StatusCode::NOT_FOUND, "NotFound", "Subscription does not exist")
    );
    let attrs = env.ok(&[("Action", "GetTopicAttributes"), ("TopicArn", &t)]);
    assert_eq!(attribute(&attrs, "SubscriptionsDeleted").as_deref(), Some("1"));
    let (_, _, m) =
        env.error(&[("Action", "Subscribe"), ("TopicArn", &t), ("Protocol", "ftp"), ("Endpoint", "x")]);
    assert_eq!(m, "Invalid parameter: Amazon SNS does not support this protocol string: ftp");
    let (_, _, m) = env.error(&[
        ("Action", "Subscribe"),
        ("TopicArn", &t),
        ("Protocol", "http"),
        ("Endpoint", "https://x"),
    ]);
    assert_eq!(m, "Invalid parameter: Endpoint must match the specified protocol");
    let (_, code, _) = env.error(&[
        ("Action", "Subscribe"),
        ("TopicArn", &format!("{ARN}:missing")),
        ("Protocol", "sqs"),
        ("Endpoint", QUEUE),
    ]);
    assert_eq!(code, "NotFound");

    env.ok(&[
        ("Action", "TagResource"),
        ("ResourceArn", &t),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "x"),
    ]);
    let tags = env.ok(&[("Action", "ListTagsForResource"), ("ResourceArn", &t)]);
    assert_eq!((leaf(&tags, "Key").as_str(), leaf(&tags, "Value").as_str()), ("team", "x"));
    env.ok(&[("Action", "UntagResource"), ("ResourceArn", &t), ("TagKeys.member.1", "team")]);
    assert!(!env.ok(&[("Action", "ListTagsForResource"), ("ResourceArn", &t)]).contains("<Key>"));
    let (status, code, _) =
        env.error(&[("Action", "ListTagsForResource"), ("ResourceArn", &format!("{ARN}:missing"))]);
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
}

#[tokio::test]
async fn other_services_publish_through_the_port() {
    use ports::{TopicMessage, TopicPublisher};

    let env = Env::new();
    let t = topic(&env, "t");
    subscribe(&env, &t, "sqs", QUEUE, &[("FilterPolicy", r#"{"source":["s3"]}"#)]);
    let message = TopicMessage {
        message: r#"{"Records":[]}"#.to_owned(),
        subject: Some("Amazon S3 Notification".to_owned()),
        attributes: vec![(
            "source".to_owned(),
            QueueMessageAttribute { data_type: "String".to_owned(), value: Bytes::from_static(b"s3") },
        )],
        ..TopicMessage::default()
    };
    let id = env.svc.publish(&t, message.clone()).expect("published");
    env.deliver().await;
    let sent = env.sent();
    assert_eq!(sent.len(), 1);
    let envelope: Value = serde_json::from_str(&sent[0].1).expect("envelope");
    assert_eq!(envelope["MessageId"], id.as_str());
    assert_eq!(envelope["Subject"], "Amazon S3 Notification");
    assert!(matches!(
        env.svc.publish(&format!("{ARN}:missing"), message.clone()),
        Err(PortError::NotFound(_))
    ));
    let empty = TopicMessage { message: String::new(), ..message };
    assert_eq!(
        env.svc.publish(&t, empty),
        Err(PortError::Invalid("Invalid parameter: Empty message".to_owned()))
    );
}

#[tokio::test]
async fn a_silent_http_endpoint_holds_up_no_other_delivery() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let env = Env::new();
    let t = topic(&env, "t");
    subscribe(&env, &t, "http", &url, &[]);
    subscribe(&env, &t, "sqs", QUEUE, &[("RawMessageDelivery", "true")]);
    env.ok(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "m")]);
    let started = std::time::Instant::now();
    env.deliver().await;
    assert!(started.elapsed() < Duration::from_secs(2), "the worker waited for the endpoint");
    let sent = env.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, "m");
    // The confirmation is still under way: another scan leaves it alone.
    env.deliver().await;
    assert_eq!(env.svc.inner.worker.in_flight_len(), 1);
}

/// A FIFO topic's deduplication window survives a restart: the ids are committed with the
/// message, so a repeat after the restart is still dropped.
#[tokio::test]
async fn fifo_deduplication_survives_a_restart() {
    let store = Store::memory();
    let env = Env::with_store(store.clone());
    let body = env.ok(&[
        ("Action", "CreateTopic"),
        ("Name", "d.fifo"),
        ("Attributes.entry.1.key", "FifoTopic"),
        ("Attributes.entry.1.value", "true"),
    ]);
    let t = leaf(&body, "TopicArn");
    subscribe(
        &env,
        &t,
        "sqs",
        "arn:aws:sqs:us-east-1:000000000000:q.fifo",
        &[("RawMessageDelivery", "true")],
    );
    let publish = |env: &Env, text: &str, dedup: &str| {
        env.ok(&[
            ("Action", "Publish"),
            ("TopicArn", &t),
            ("Message", text),
            ("MessageGroupId", "g"),
            ("MessageDeduplicationId", dedup),
        ]);
    };
    publish(&env, "first", "d1");
    env.deliver().await;
    let restarted = Env::with_store(env.store.clone());
    publish(&restarted, "repeat", "d1");
    publish(&restarted, "second", "d2");
    restarted.deliver().await;
    let bodies: Vec<String> = restarted.sent().iter().map(|s| s.1.clone()).collect();
    assert_eq!(bodies, ["second"], "the repeat was dropped after the restart too");
}
