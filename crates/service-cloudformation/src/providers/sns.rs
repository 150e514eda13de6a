//! AWS::SNS::Topic, AWS::SNS::Subscription and AWS::SNS::TopicPolicy, through SNS's query API.

use serde_json::Value;

use super::{Created, Cx, Outcome, boolean, document, required, tags, text};
use crate::api::{ApiError, xml_text};
use crate::model::ResourceRecord;

const VERSION: &str = "2010-03-31";

async fn call(cx: &Cx<'_>, action: &str, params: Vec<(String, String)>) -> Result<String, ApiError> {
    cx.api.query("sns", VERSION, action, &params).await
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

/// Topic properties that are topic attributes of the same name.
const TOPIC_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "FifoTopic",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
];

/// Subscription properties that are subscription attributes of the same name.
const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "DeliveryPolicy",
    "SubscriptionRoleArn",
];

pub async fn create_topic(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let fifo = boolean(props, "FifoTopic").unwrap_or(false);
    let name = match text(props, "TopicName") {
        Some(n) => n,
        None if fifo => format!("{}.fifo", cx.name(251)),
        None => cx.name(256),
    };
    let mut params = vec![p("Name", &name)];
    let mut n = 0;
    for k in TOPIC_ATTRIBUTES {
        if let Some(v) = props.get(*k) {
            n += 1;
            params.push(p(&format!("Attributes.entry.{n}.key"), *k));
            params.push(p(&format!("Attributes.entry.{n}.value"), document(v)));
        }
    }
    for (i, (k, v)) in tags(props).into_iter().enumerate() {
        params.push(p(&format!("Tags.member.{}.Key", i + 1), k));
        params.push(p(&format!("Tags.member.{}.Value", i + 1), v));
    }
    let xml = call(cx, "CreateTopic", params).await.map_err(|e| e.to_string())?;
    let arn = xml_text(&xml, "TopicArn").unwrap_or_default();
    for s in props.get("Subscription").and_then(Value::as_array).into_iter().flatten() {
        let params = vec![
            p("TopicArn", &arn),
            p("Protocol", text(s, "Protocol").unwrap_or_default()),
            p("Endpoint", text(s, "Endpoint").unwrap_or_default()),
        ];
        call(cx, "Subscribe", params).await.map_err(|e| e.to_string())?;
    }
    Ok(Created::new(arn.clone()).with("TopicArn", arn).with("TopicName", name))
}

pub async fn update_topic(cx: &Cx<'_>, arn: &str, old: &ResourceRecord, props: &Value) -> Outcome<()> {
    for k in TOPIC_ATTRIBUTES.iter().filter(|k| **k != "FifoTopic") {
        if old.properties.get(*k) != props.get(*k) {
            let value = props.get(*k).map(document).unwrap_or_default();
            call(
                cx,
                "SetTopicAttributes",
                vec![p("TopicArn", arn), p("AttributeName", *k), p("AttributeValue", value)],
            )
            .await
            .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

pub async fn delete_topic(cx: &Cx<'_>, arn: &str) -> Result<(), ApiError> {
    call(cx, "DeleteTopic", vec![p("TopicArn", arn)]).await.map(drop)
}

pub async fn subscribe(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let mut params = vec![
        p("TopicArn", required(props, "TopicArn")?),
        p("Protocol", required(props, "Protocol")?),
        p("ReturnSubscriptionArn", "true"),
    ];
    if let Some(e) = text(props, "Endpoint") {
        params.push(p("Endpoint", e));
    }
    let mut n = 0;
    for k in SUBSCRIPTION_ATTRIBUTES {
        if let Some(v) = props.get(*k) {
            n += 1;
            params.push(p(&format!("Attributes.entry.{n}.key"), *k));
            params.push(p(&format!("Attributes.entry.{n}.value"), document(v)));
        }
    }
    let xml = call(cx, "Subscribe", params).await.map_err(|e| e.to_string())?;
    let arn = xml_text(&xml, "SubscriptionArn").unwrap_or_default();
    Ok(Created::new(arn.clone()).with("Arn", arn))
}

pub async fn update_subscription(cx: &Cx<'_>, arn: &str, props: &Value) -> Outcome<()> {
    for k in SUBSCRIPTION_ATTRIBUTES {
        if let Some(v) = props.get(*k) {
            let params =
                vec![p("SubscriptionArn", arn), p("AttributeName", *k), p("AttributeValue", document(v))];
            call(cx, "SetSubscriptionAttributes", params).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

pub async fn unsubscribe(cx: &Cx<'_>, arn: &str) -> Result<(), ApiError> {
    call(cx, "Unsubscribe", vec![p("SubscriptionArn", arn)]).await.map(drop)
}

pub async fn put_policy(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let policy = props.get("PolicyDocument").map(document).unwrap_or_default();
    for topic in props.get("Topics").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    {
        let params = vec![p("TopicArn", topic), p("AttributeName", "Policy"), p("AttributeValue", &policy)];
        call(cx, "SetTopicAttributes", params).await.map_err(|e| e.to_string())?;
    }
    Ok(Created::new(cx.name(128)))
}
