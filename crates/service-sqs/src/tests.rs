//! Service-level tests: requests in both protocols through `SqsService::call` on an in-memory
//! store, with a clock the test moves.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use protocol::{AwsService, Request, RequestContext};
use serde_json::{Value, json};
use storage::Store;
use time::OffsetDateTime;
use time::macros::datetime;
use types::{Clock, Scope};

use crate::operation::{Operation, parse_queue_url};
use crate::{SqsConfig, SqsService};

#[derive(Debug)]
struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *crate::lock(&self.0)
    }
}

struct Harness {
    svc: SqsService,
    clock: Arc<TestClock>,
}

fn harness() -> Harness {
    let clock = Arc::new(TestClock(Mutex::new(datetime!(2025-01-01 00:00 UTC))));
    let svc = SqsService::new(Store::memory(), clock.clone(), SqsConfig::default()).expect("service");
    Harness { svc, clock }
}

fn json_request(action: &str, body: &Value) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "localhost:4566")
        .header("x-amz-target", format!("AmazonSQS.{action}"))
        .header("content-type", "application/x-amz-json-1.0")
        .body(Bytes::from(body.to_string()))
        .expect("request")
}

fn query_request(params: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "localhost:4566")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(format!("{params}&Version=2012-11-05")))
        .expect("request")
}

impl Harness {
    fn advance(&self, seconds: i64) {
        let mut now = crate::lock(&self.clock.0);
        *now += time::Duration::seconds(seconds);
    }

    async fn raw(&self, req: Request) -> (u16, http::HeaderMap, String) {
        let ctx = RequestContext::new(Scope::default(), "test");
        let resp = self.svc.call(ctx, req).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, String::from_utf8_lossy(resp.body()).into_owned())
    }

    /// An awsJson call; the output, or the error's body with `__status`.
    async fn call(&self, action: &str, body: Value) -> Value {
        let (status, headers, text) = self.raw(json_request(action, &body)).await;
        let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status != 200 {
            v["__status"] = json!(status);
            v["__query"] = json!(headers.get("x-amzn-query-error").and_then(|h| h.to_str().ok()));
        }
        v
    }

    async fn create(&self, name: &str, attributes: Value) -> String {
        let out = self.call("CreateQueue", json!({"QueueName": name, "Attributes": attributes})).await;
        out["QueueUrl"].as_str().expect("url").to_owned()
    }

    async fn send(&self, url: &str, body: &str, extra: Value) -> Value {
        let mut input = json!({"QueueUrl": url, "MessageBody": body});
        if let (Some(o), Value::Object(e)) = (input.as_object_mut(), extra) {
            o.extend(e);
        }
        self.call("SendMessage", input).await
    }

    async fn receive(&self, url: &str, max: i64) -> Vec<Value> {
        let out = self
            .call(
                "ReceiveMessage",
                json!({"QueueUrl": url, "MaxNumberOfMessages": max, "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]}),
            )
            .await;
        out["Messages"].as_array().cloned().unwrap_or_default()
    }

    async fn count(&self, url: &str, name: &str) -> String {
        let out = self.call("GetQueueAttributes", json!({"QueueUrl": url, "AttributeNames": [name]})).await;
        out["Attributes"][name].as_str().unwrap_or_default().to_owned()
    }
}

#[test]
fn queue_urls_in_every_form() {
    for url in [
        "http://sqs.us-east-1.localhost:4566/000000000000/q1",
        "http://localhost:4566/000000000000/q1",
        "https://sqs.us-east-1.amazonaws.com/000000000000/q1",
        "/000000000000/q1",
    ] {
        let q = parse_queue_url(url).expect(url);
        assert_eq!((q.account.as_deref(), q.name.as_str()), (Some("000000000000"), "q1"), "{url}");
    }
    assert_eq!(parse_queue_url("http://localhost:4566/q2").map(|q| q.name), Some("q2".to_owned()));
    assert_eq!(parse_queue_url("http://localhost:4566/"), None);
}

#[test]
fn both_protocols_parse_to_the_same_operation() {
    let json = json_request(
        "SendMessageBatch",
        &json!({"QueueUrl": "http://localhost/000000000000/q", "Entries": [
            {"Id": "a", "MessageBody": "x", "DelaySeconds": 5,
             "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            {"Id": "b", "MessageBody": "y"}
        ]}),
    );
    let query = query_request(
        "Action=SendMessageBatch&QueueUrl=http%3A%2F%2Flocalhost%2F000000000000%2Fq\
         &SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y\
         &SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x\
         &SendMessageBatchRequestEntry.1.DelaySeconds=5\
         &SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k\
         &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String\
         &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v",
    );
    let a = Operation::parse(&json, protocol::Protocol::AwsJson1_0).expect("json");
    let b = Operation::parse(&query, protocol::Protocol::Query).expect("query");
    assert_eq!(a, b);
    let Operation::SendMessageBatch(_, entries) = a else { panic!("not a batch") };
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].delay_seconds, Some(5));

    let query = query_request(
        "Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=t&Tag.1.Value=v",
    );
    let json = json_request(
        "CreateQueue",
        &json!({"QueueName": "q", "Attributes": {"VisibilityTimeout": "5"}, "tags": {"t": "v"}}),
    );
    assert_eq!(
        Operation::parse(&query, protocol::Protocol::Query).expect("query"),
        Operation::parse(&json, protocol::Protocol::AwsJson1_0).expect("json")
    );
}

#[tokio::test]
async fn create_is_idempotent_only_with_the_same_attributes() {
    let h = harness();
    let url = h.create("q", json!({"VisibilityTimeout": "10"})).await;
    assert_eq!(url, "http://localhost:4566/000000000000/q");
    assert_eq!(h.create("q", json!({"VisibilityTimeout": "10"})).await, url);
    let err =
        h.call("CreateQueue", json!({"QueueName": "q", "Attributes": {"VisibilityTimeout": "11"}})).await;
    assert_eq!(err["__type"], "com.amazonaws.sqs#QueueNameExists");
    assert_eq!(err["__query"], "QueueAlreadyExists;Sender");
    let err = h.call("CreateQueue", json!({"QueueName": "bad", "Attributes": {"DelaySeconds": "901"}})).await;
    assert_eq!(err["__query"], "InvalidAttributeValue;Sender");
    let err = h.call("CreateQueue", json!({"QueueName": "bad", "Attributes": {"Nope": "1"}})).await;
    assert_eq!(err["message"], "Unknown Attribute Nope.");
    let err = h.call("CreateQueue", json!({"QueueName": "x.fifo"})).await;
    assert_eq!(err["__query"], "InvalidParameterValue;Sender");
}

#[tokio::test]
async fn errors_in_the_query_protocol_are_xml() {
    let h = harness();
    let (status, _, body) = h.raw(query_request("Action=GetQueueUrl&QueueName=missing")).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"), "{body}");
    assert!(body.contains("<Message>The specified queue does not exist.</Message>"), "{body}");
    let err = h.call("GetQueueUrl", json!({"QueueName": "missing"})).await;
    assert_eq!(err["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
    assert_eq!(err["__query"], "AWS.SimpleQueueService.NonExistentQueue;Sender");
}

#[tokio::test]
async fn query_receive_is_flattened_xml() {
    let h = harness();
    let url = h.create("q", json!({})).await;
    h.send(&url, "hello", json!({"MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}))
        .await;
    let (status, _, body) = h
        .raw(query_request(&format!(
            "Action=ReceiveMessage&QueueUrl={url}&AttributeName.1=All&MessageAttributeName.1=All"
        )))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<ReceiveMessageResult><Message>"), "{body}");
    assert!(body.contains("<Body>hello</Body>"), "{body}");
    assert!(
        body.contains("<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"),
        "{body}"
    );
    assert!(
        body.contains("<MessageAttribute><Name>k</Name><Value><DataType>String</DataType><StringValue>v</StringValue></Value></MessageAttribute>"),
        "{body}"
    );
}

#[tokio::test]
async fn visibility_timeout_counts_and_expiry_follow_the_clock() {
    let h = harness();
    let url = h.create("q", json!({"VisibilityTimeout": "30"})).await;
    h.send(&url, "one", json!({})).await;
    h.send(&url, "later", json!({"DelaySeconds": 60})).await;
    assert_eq!(h.count(&url, "ApproximateNumberOfMessages").await, "1");
    assert_eq!(h.count(&url, "ApproximateNumberOfMessagesDelayed").await, "1");
    let got = h.receive(&url, 10).await;
    assert_eq!(got.len(), 1);
    assert_eq!(h.count(&url, "ApproximateNumberOfMessagesNotVisible").await, "1");
    assert!(h.receive(&url, 10).await.is_empty());
    h.advance(29);
    assert!(h.receive(&url, 10).await.is_empty());
    h.advance(1);
    let again = h.receive(&url, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["Attributes"]["ApproximateReceiveCount"], "2");
    // The old handle is stale: ChangeMessageVisibility refuses it, DeleteMessage ignores it.
    let stale = got[0]["ReceiptHandle"].as_str().expect("handle");
    let err = h
        .call(
            "ChangeMessageVisibility",
            json!({"QueueUrl": url, "ReceiptHandle": stale, "VisibilityTimeout": 0}),
        )
        .await;
    assert_eq!(err["__query"], "AWS.SimpleQueueService.MessageNotInflight;Sender");
    h.call("DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": stale})).await;
    assert_eq!(h.count(&url, "ApproximateNumberOfMessagesNotVisible").await, "1");
    let err = h.call("DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": "garbage!"})).await;
    assert_eq!(err["__query"], "ReceiptHandleIsInvalid;Sender");
    let fresh = again[0]["ReceiptHandle"].as_str().expect("handle");
    h.call(
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": fresh, "VisibilityTimeout": 0}),
    )
    .await;
    assert_eq!(h.receive(&url, 10).await.len(), 1);
    h.advance(29);
    assert!(h.receive(&url, 10).await.is_empty());
    h.advance(1);
    let due = h.receive(&url, 10).await;
    assert_eq!(due.len(), 2, "the delayed message is due, and the in-flight one is back");
}

#[tokio::test]
async fn redrive_moves_the_message_on_the_receive_past_max_receive_count() {
    let h = harness();
    let dlq = h.create("dlq", json!({})).await;
    let policy = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"1"}"#;
    let src = h.create("src", json!({"RedrivePolicy": policy, "VisibilityTimeout": "0"})).await;
    h.send(&src, "poison", json!({})).await;
    assert_eq!(h.receive(&src, 1).await.len(), 1);
    assert!(h.receive(&src, 1).await.is_empty());
    let dead = h.receive(&dlq, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["Attributes"]["DeadLetterQueueSourceArn"], "arn:aws:sqs:us-east-1:000000000000:src");
    let err = h
        .call(
            "SetQueueAttributes",
            json!({"QueueUrl": src, "Attributes": {"RedrivePolicy": r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:none","maxReceiveCount":1}"#}}),
        )
        .await;
    assert_eq!(err["__query"], "InvalidParameterValue;Sender");
}

#[tokio::test]
async fn fifo_blocks_a_group_in_flight_and_deduplicates() {
    let h = harness();
    let url = h.create("f.fifo", json!({"FifoQueue": "true"})).await;
    let err = h.send(&url, "x", json!({"MessageGroupId": "g"})).await;
    assert_eq!(err["__query"], "InvalidParameterValue;Sender");
    let a1 = h.send(&url, "a1", json!({"MessageGroupId": "a", "MessageDeduplicationId": "1"})).await;
    let dup = h.send(&url, "a1", json!({"MessageGroupId": "a", "MessageDeduplicationId": "1"})).await;
    assert_eq!(a1["MessageId"], dup["MessageId"]);
    assert_eq!(a1["SequenceNumber"], dup["SequenceNumber"]);
    h.send(&url, "a2", json!({"MessageGroupId": "a", "MessageDeduplicationId": "2"})).await;
    h.send(&url, "b1", json!({"MessageGroupId": "b", "MessageDeduplicationId": "3"})).await;
    let first = h.receive(&url, 1).await;
    assert_eq!(first[0]["Body"], "a1");
    let next = h.receive(&url, 10).await;
    let bodies: Vec<&str> = next.iter().filter_map(|m| m["Body"].as_str()).collect();
    assert_eq!(bodies, ["b1"], "group a is blocked while a1 is in flight");
    h.call("DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": first[0]["ReceiptHandle"]})).await;
    let next = h.receive(&url, 10).await;
    assert_eq!(next[0]["Body"], "a2");
    // Past the five-minute window the same id is a new message.
    h.advance(301);
    let again = h.send(&url, "a1", json!({"MessageGroupId": "a", "MessageDeduplicationId": "1"})).await;
    assert_ne!(again["MessageId"], a1["MessageId"]);
}

#[tokio::test]
async fn batch_errors() {
    let h = harness();
    let url = h.create("q", json!({})).await;
    let err = h.call("SendMessageBatch", json!({"QueueUrl": url, "Entries": []})).await;
    assert_eq!(err["__query"], "AWS.SimpleQueueService.EmptyBatchRequest;Sender");
    let err = h
        .call("SendMessageBatch", json!({"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]}))
        .await;
    assert_eq!(err["__query"], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender");
    let out = h
        .call(
            "SendMessageBatch",
            json!({"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": "x"}, {"Id": "b", "MessageBody": "y", "DelaySeconds": 1000}]}),
        )
        .await;
    assert_eq!(out["Successful"].as_array().map(Vec::len), Some(1));
    assert_eq!(out["Failed"][0]["Code"], "InvalidParameterValue");
    let big = "x".repeat(262_145);
    let err = h.send(&url, &big, json!({})).await;
    assert_eq!(
        err["message"],
        "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."
    );
}

#[tokio::test]
async fn the_queue_receiver_port_receives_deletes_and_redrives_like_any_consumer() {
    use ports::QueueReceiver;
    let h = harness();
    let dlq = h.create("dlq", json!({})).await;
    let arn = "arn:aws:sqs:us-east-1:000000000000:q";
    let url = h
        .create(
            "q",
            json!({"VisibilityTimeout": "5", "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":\"2\"}"}),
        )
        .await;
    assert_eq!(h.svc.queue_info(arn).map(|i| (i.visibility_timeout, i.fifo)), Ok((5, false)));
    assert!(matches!(
        h.svc.queue_info("arn:aws:sqs:us-east-1:000000000000:nope"),
        Err(ports::PortError::NotFound(_))
    ));
    h.send(&url, "one", json!({"MessageAttributes": {"k": {"DataType": "Binary", "BinaryValue": "AAE="}}}))
        .await;
    h.send(&url, "two", json!({})).await;
    let got = h.svc.receive(arn, 10, Some(5), 0).await.expect("receive");
    assert_eq!(got.len(), 2);
    let one = got.iter().find(|m| m.body == "one").expect("one");
    assert_eq!(one.message_attributes[0].1.value.as_ref(), &[0u8, 1]);
    assert!(one.md5_of_message_attributes.is_some());
    let count = one.attributes.iter().find(|(k, _)| k == "ApproximateReceiveCount").map(|(_, v)| v.as_str());
    assert_eq!(count, Some("1"));
    // Deleting one leaves the other to come back after its visibility timeout.
    h.svc.delete_messages(arn, std::slice::from_ref(&one.receipt_handle)).expect("delete");
    assert!(h.svc.receive(arn, 10, None, 0).await.expect("receive").is_empty());
    h.advance(6);
    let again = h.svc.receive(arn, 10, None, 0).await.expect("receive");
    assert_eq!(again.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["two"]);
    h.svc.change_visibility(arn, &again[0].receipt_handle, 0).expect("visibility");
    // Received twice already: the next receive moves it to the dead-letter queue.
    assert!(h.svc.receive(arn, 10, None, 0).await.expect("receive").is_empty());
    assert_eq!(h.receive(&dlq, 10).await.len(), 1);
}
