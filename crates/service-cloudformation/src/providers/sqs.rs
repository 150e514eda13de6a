//! AWS::SQS::Queue and AWS::SQS::QueuePolicy, through SQS's awsJson API.

use serde_json::{Map, Value, json};

use super::{Created, Cx, Outcome, boolean, document, tags, text};
use crate::api::{ApiError, Json};

/// Queue properties that are SQS queue attributes of the same name.
const ATTRIBUTES: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
];

async fn call(cx: &Cx<'_>, op: &str, body: Value) -> Result<Value, ApiError> {
    cx.api.json("sqs", Json::V1_0, &format!("AmazonSQS.{op}"), body).await
}

fn attributes(props: &Value, creating: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for k in ATTRIBUTES {
        if !creating && *k == "FifoQueue" {
            continue;
        }
        if let Some(v) = props.get(*k) {
            out.insert((*k).to_owned(), json!(document(v)));
        }
    }
    out
}

pub async fn create_queue(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let fifo = boolean(props, "FifoQueue").unwrap_or(false);
    let name = match text(props, "QueueName") {
        Some(n) => n,
        None if fifo => format!("{}.fifo", cx.name(75)),
        None => cx.name(80),
    };
    let tags: Map<String, Value> = tags(props).into_iter().map(|(k, v)| (k, json!(v))).collect();
    let mut body = json!({"QueueName": name, "Attributes": attributes(props, true)});
    if !tags.is_empty() {
        body["tags"] = Value::Object(tags);
    }
    let out = call(cx, "CreateQueue", body).await.map_err(|e| e.to_string())?;
    let url = out.get("QueueUrl").and_then(Value::as_str).unwrap_or_default().to_owned();
    let arn = format!("arn:aws:sqs:{}:{}:{name}", cx.region(), cx.account());
    Ok(Created::new(url.clone()).with("Arn", arn).with("QueueName", name).with("QueueUrl", url))
}

pub async fn set_attributes(cx: &Cx<'_>, url: &str, props: &Value) -> Outcome<()> {
    let attrs = attributes(props, false);
    if attrs.is_empty() {
        return Ok(());
    }
    call(cx, "SetQueueAttributes", json!({"QueueUrl": url, "Attributes": attrs}))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

pub async fn delete_queue(cx: &Cx<'_>, url: &str) -> Result<(), ApiError> {
    call(cx, "DeleteQueue", json!({"QueueUrl": url})).await.map(drop)
}

fn queues(props: &Value) -> Vec<String> {
    props
        .get("Queues")
        .and_then(Value::as_array)
        .map(|q| q.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub async fn put_policy(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let policy = props.get("PolicyDocument").map(document).unwrap_or_default();
    for url in queues(props) {
        call(cx, "SetQueueAttributes", json!({"QueueUrl": url, "Attributes": {"Policy": policy}}))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Created::new(cx.name(128)))
}

pub async fn delete_policy(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    for url in queues(props) {
        match call(cx, "SetQueueAttributes", json!({"QueueUrl": url, "Attributes": {"Policy": ""}})).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
