//! What endpoints receive: the JSON envelope SQS queues (without RawMessageDelivery) and HTTP
//! endpoints get, laid out as SNS lays it out (`"Key" : value`, one per line); the
//! SubscriptionConfirmation message; and the event record Lambda functions are invoked with.
//!
//! Nimbus cannot sign with SNS's key: `Signature` is a base64 SHA-256 of the fields SNS signs,
//! so it has the right shape and changes with the content, but it does not verify against the
//! certificate `SigningCertURL` names.

use base64::Engine;
use sha2::{Digest, Sha256};

/// A message attribute as envelopes show it: SNS data type and value (binary as base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr<'a> {
    pub name: &'a str,
    pub data_type: &'a str,
    pub value: &'a str,
}

/// One notification of one message, as the fields every envelope shares.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    pub message_id: &'a str,
    pub sequence_number: Option<&'a str>,
    pub topic_arn: &'a str,
    pub subject: Option<&'a str>,
    pub message: &'a str,
    pub timestamp: &'a str,
    pub subscription_arn: &'a str,
    pub attributes: &'a [Attr<'a>],
}

/// The certificate SNS signs with in a region (not served by Nimbus; see the module doc).
pub fn signing_cert_url(region: &str) -> String {
    format!(
        "https://sns.{region}.amazonaws.com/SimpleNotificationService-6209c161c6221fdf56ec1eb5c821d112.pem"
    )
}

/// The URL that unsubscribes, pointing back at Nimbus (`Version` lets the gateway route the
/// unsigned GET to SNS).
pub fn unsubscribe_url(endpoint: &str, subscription_arn: &str) -> String {
    format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}&Version=2010-03-31",
        endpoint.trim_end_matches('/')
    )
}

/// The URL that confirms a pending subscription, pointing back at Nimbus.
pub fn subscribe_url(endpoint: &str, topic_arn: &str, token: &str) -> String {
    format!(
        "{}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}&Version=2010-03-31",
        endpoint.trim_end_matches('/')
    )
}

fn signature(fields: &[(&str, String)]) -> String {
    let mut h = Sha256::new();
    for (k, v) in fields {
        h.update(k.as_bytes());
        h.update(b"\n");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// `{\n  "Key" : value,\n …\n}` with every value already JSON text.
fn layout(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {} : {v}", json_str(k))).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

/// The envelope of a notification for SQS and HTTP/S endpoints.
pub fn notification(n: &Notification<'_>, region: &str, endpoint: &str) -> String {
    let mut signed: Vec<(&str, String)> =
        vec![("Message", n.message.to_owned()), ("MessageId", n.message_id.to_owned())];
    if let Some(s) = n.subject {
        signed.push(("Subject", s.to_owned()));
    }
    signed.push(("Timestamp", n.timestamp.to_owned()));
    signed.push(("TopicArn", n.topic_arn.to_owned()));
    signed.push(("Type", "Notification".to_owned()));
    let mut fields: Vec<(&str, String)> =
        vec![("Type", json_str("Notification")), ("MessageId", json_str(n.message_id))];
    if let Some(seq) = n.sequence_number {
        fields.push(("SequenceNumber", json_str(seq)));
    }
    fields.push(("TopicArn", json_str(n.topic_arn)));
    if let Some(s) = n.subject {
        fields.push(("Subject", json_str(s)));
    }
    fields.push(("Message", json_str(n.message)));
    fields.push(("Timestamp", json_str(n.timestamp)));
    fields.push(("SignatureVersion", json_str("1")));
    fields.push(("Signature", json_str(&signature(&signed))));
    fields.push(("SigningCertURL", json_str(&signing_cert_url(region))));
    fields.push(("UnsubscribeURL", json_str(&unsubscribe_url(endpoint, n.subscription_arn))));
    if !n.attributes.is_empty() {
        let entries: Vec<String> = n
            .attributes
            .iter()
            .map(|a| {
                let v = serde_json::json!({"Type": a.data_type, "Value": a.value});
                format!("    {} : {v}", json_str(a.name))
            })
            .collect();
        fields.push(("MessageAttributes", format!("{{\n{}\n  }}", entries.join(",\n"))));
    }
    layout(&fields)
}

/// The SubscriptionConfirmation an HTTP/S endpoint receives after Subscribe.
pub fn confirmation(
    message_id: &str,
    token: &str,
    topic_arn: &str,
    timestamp: &str,
    region: &str,
    endpoint: &str,
) -> String {
    let message = format!(
        "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
    );
    let url = subscribe_url(endpoint, topic_arn, token);
    let signed = [
        ("Message", message.clone()),
        ("MessageId", message_id.to_owned()),
        ("SubscribeURL", url.clone()),
        ("Timestamp", timestamp.to_owned()),
        ("Token", token.to_owned()),
        ("TopicArn", topic_arn.to_owned()),
        ("Type", "SubscriptionConfirmation".to_owned()),
    ];
    layout(&[
        ("Type", json_str("SubscriptionConfirmation")),
        ("MessageId", json_str(message_id)),
        ("Token", json_str(token)),
        ("TopicArn", json_str(topic_arn)),
        ("Message", json_str(&message)),
        ("SubscribeURL", json_str(&url)),
        ("Timestamp", json_str(timestamp)),
        ("SignatureVersion", json_str("1")),
        ("Signature", json_str(&signature(&signed))),
        ("SigningCertURL", json_str(&signing_cert_url(region))),
    ])
}

/// The event a Lambda function subscribed to a topic is invoked with: one record, `Sns` in
/// Lambda's spelling (`SigningCertUrl`, `UnsubscribeUrl`, `Subject` null when absent).
pub fn lambda_event(n: &Notification<'_>, region: &str, endpoint: &str) -> String {
    let attributes: serde_json::Map<String, serde_json::Value> = n
        .attributes
        .iter()
        .map(|a| (a.name.to_owned(), serde_json::json!({"Type": a.data_type, "Value": a.value})))
        .collect();
    let envelope = notification(n, region, endpoint);
    let signature = serde_json::from_str::<serde_json::Value>(&envelope)
        .ok()
        .and_then(|v| v.get("Signature").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_default();
    serde_json::json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": n.subscription_arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": n.message_id,
                "TopicArn": n.topic_arn,
                "Subject": n.subject,
                "Message": n.message,
                "Timestamp": n.timestamp,
                "SignatureVersion": "1",
                "Signature": signature,
                "SigningCertUrl": signing_cert_url(region),
                "UnsubscribeUrl": unsubscribe_url(endpoint, n.subscription_arn),
                "MessageAttributes": attributes,
            }
        }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(attrs: &'a [Attr<'a>]) -> Notification<'a> {
        Notification {
            message_id: "m-1",
            sequence_number: None,
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t",
            subject: Some("Hi"),
            message: "line1\n\"quoted\"",
            timestamp: "2026-11-27T12:00:00.000Z",
            subscription_arn: "arn:aws:sns:us-east-1:000000000000:t:s-1",
            attributes: attrs,
        }
    }

    #[test]
    fn notification_envelope_layout() {
        let attrs = [Attr { name: "n", data_type: "Number", value: "99" }];
        let text = notification(&sample(&attrs), "us-east-1", "http://127.0.0.1:4566");
        assert!(
            text.starts_with("{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"m-1\",\n  \"TopicArn\""),
            "{text}"
        );
        assert!(text.contains("\"UnsubscribeURL\" : \"http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:t:s-1&Version=2010-03-31\""));
        assert!(
            text.ends_with(
                "\"MessageAttributes\" : {\n    \"n\" : {\"Type\":\"Number\",\"Value\":\"99\"}\n  }\n}"
            ),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["Message"], "line1\n\"quoted\"");
        assert_eq!(v["Subject"], "Hi");
        assert_eq!(v["SignatureVersion"], "1");
        let keys: Vec<&str> =
            v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        assert_eq!(keys.len(), 11);
    }

    #[test]
    fn no_subject_no_attributes() {
        let mut n = sample(&[]);
        n.subject = None;
        let v: serde_json::Value =
            serde_json::from_str(&notification(&n, "us-east-1", "http://h")).expect("valid JSON");
        assert!(v.get("Subject").is_none());
        assert!(v.get("MessageAttributes").is_none());
        let event: serde_json::Value =
            serde_json::from_str(&lambda_event(&n, "us-east-1", "http://h")).expect("valid JSON");
        let record = &event["Records"][0];
        assert_eq!(record["EventSource"], "aws:sns");
        assert_eq!(record["EventSubscriptionArn"], n.subscription_arn);
        assert!(record["Sns"]["Subject"].is_null());
        assert_eq!(record["Sns"]["MessageAttributes"], serde_json::json!({}));
        assert_eq!(record["Sns"]["Signature"], v["Signature"]);
    }

    #[test]
    fn confirmation_message() {
        let text = confirmation(
            "id",
            "tok",
            "arn:aws:sns:us-east-1:000000000000:t",
            "ts",
            "us-east-1",
            "http://h:1/",
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["Type"], "SubscriptionConfirmation");
        assert_eq!(
            v["SubscribeURL"],
            "http://h:1/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:000000000000:t&Token=tok&Version=2010-03-31"
        );
        assert!(v["Message"].as_str().is_some_and(|m| m.starts_with(
            "You have chosen to subscribe to the topic arn:aws:sns:us-east-1:000000000000:t.\n"
        )));
    }
}
