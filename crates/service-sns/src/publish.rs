//! Publish and PublishBatch: validate the message as SNS does, pick each confirmed
//! subscription whose filter policy passes, render what its endpoint receives, and commit all
//! of those deliveries in one batch before answering. FIFO topics also drop a repeated
//! deduplication id within five minutes and pass group and deduplication ids on to FIFO queues.

use std::collections::HashSet;

use protocol::{RequestContext, Response};
use storage::Batch;
use types::trace::TraceHeader;

use crate::envelope::{self, Attr, Notification};
use crate::error::{Error, invalid};
use crate::model::{self, Delivery, SubscriptionRecord, Target};
use crate::operation::{MessageAttribute, PublishMessage};
use crate::{Inner, Topic, lock, respond};

/// The most a message and its attributes may total (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// Entries per PublishBatch.
const MAX_BATCH: usize = 10;
/// How long a FIFO topic remembers a deduplication id.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// What one request commits: the deliveries of its messages and the deduplication ids of its
/// FIFO messages, in one batch.
#[derive(Default)]
struct Pending {
    deliveries: Vec<Delivery>,
    /// (dedup key, window end in ms).
    dedup: Vec<(Vec<u8>, i64)>,
}

impl Pending {
    /// Stamps the deliveries with the publisher's trace; `delivering` hears that there are some.
    fn carry(&mut self, trace: Option<TraceHeader>, delivering: &dyn Fn()) {
        if self.deliveries.is_empty() {
            return;
        }
        delivering();
        let trace = trace.map(|t| t.to_string());
        for d in &mut self.deliveries {
            d.trace.clone_from(&trace);
        }
    }
}

/// A validated message, ready to fan out.
struct Prepared<'a> {
    msg: &'a PublishMessage,
    /// With `MessageStructure=json`: the message per protocol, `default` included.
    structured: Option<serde_json::Map<String, serde_json::Value>>,
    message_id: String,
    sequence_number: Option<String>,
    dedup_id: Option<String>,
    timestamp: String,
}

impl Prepared<'_> {
    /// The text a protocol receives: its own entry of a structured message, or the default.
    fn text_for(&self, protocol: &str) -> &str {
        match &self.structured {
            Some(map) => map
                .get(protocol)
                .and_then(|v| v.as_str())
                .or_else(|| map.get("default").and_then(|v| v.as_str()))
                .unwrap_or_default(),
            None => &self.msg.message,
        }
    }
}

pub fn publish(
    inner: &Inner,
    ctx: &RequestContext,
    topic_arn: &str,
    msg: &PublishMessage,
) -> Result<Response, Error> {
    let (id, seq) = publish_to(inner, topic_arn, msg, Some(ctx.trace.downstream()), &|| {
        ctx.trace.note("Publish", topic_arn);
    })?;
    Ok(respond(ctx, "Publish", |w| {
        w.leaf("MessageId", &id);
        w.opt_leaf("SequenceNumber", seq.as_deref());
    }))
}

/// Publishes one message; returns its id and, on FIFO topics, its sequence number. Its
/// deliveries carry `trace`; `delivering` is called when there are any.
pub fn publish_to(
    inner: &Inner,
    topic_arn: &str,
    msg: &PublishMessage,
    trace: Option<TraceHeader>,
    delivering: &dyn Fn(),
) -> Result<(String, Option<String>), Error> {
    check_message(msg)?;
    let topic = inner.topic(topic_arn)?;
    let now = inner.now_ms();
    let prepared = prepare(inner, &topic, msg, now)?;
    let result = (prepared.message_id.clone(), prepared.sequence_number.clone());
    let mut pending = Pending::default();
    fan_out(inner, &topic, &prepared, now, &mut pending)?;
    pending.carry(trace, delivering);
    commit(inner, pending, now)?;
    Ok(result)
}

pub fn publish_batch(
    inner: &Inner,
    ctx: &RequestContext,
    topic_arn: &str,
    entries: Vec<(String, PublishMessage)>,
) -> Result<Response, Error> {
    if entries.is_empty() {
        return Err(Error::EmptyBatchRequest);
    }
    if entries.len() > MAX_BATCH {
        return Err(Error::TooManyEntriesInBatchRequest);
    }
    let topic = inner.topic(topic_arn)?;
    let mut ids = HashSet::new();
    for (id, _) in &entries {
        if !ids.insert(id.as_str()) {
            return Err(Error::BatchEntryIdsNotDistinct);
        }
        if id.is_empty()
            || id.len() > 80
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::InvalidBatchEntryId);
        }
    }
    let total: usize = entries.iter().map(|(_, m)| size(m)).sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(Error::BatchRequestTooLong);
    }
    let now = inner.now_ms();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut pending = Pending::default();
    for (id, msg) in &entries {
        match check_message(msg).and_then(|()| prepare(inner, &topic, msg, now)) {
            Ok(prepared) => {
                fan_out(inner, &topic, &prepared, now, &mut pending)?;
                ok.push((id.clone(), prepared.message_id, prepared.sequence_number));
            }
            Err(e) => {
                let wire = protocol::ServiceError::to_wire(&e);
                failed.push((id.clone(), wire.code.into_owned(), wire.message));
            }
        }
    }
    pending.carry(Some(ctx.trace.downstream()), &|| ctx.trace.note("PublishBatch", topic_arn));
    commit(inner, pending, now)?;
    Ok(respond(ctx, "PublishBatch", |w| {
        w.open("Successful");
        for (id, message_id, seq) in &ok {
            w.open("member");
            w.leaf("Id", id);
            w.leaf("MessageId", message_id);
            w.opt_leaf("SequenceNumber", seq.as_deref());
            w.close("member");
        }
        w.close("Successful");
        w.open("Failed");
        for (id, code, message) in &failed {
            w.open("member");
            w.leaf("Id", id);
            w.leaf("Code", code);
            w.leaf("Message", message);
            w.leaf("SenderFault", "true");
            w.close("member");
        }
        w.close("Failed");
    }))
}

fn size(msg: &PublishMessage) -> usize {
    msg.message.len()
        + msg.attributes.iter().map(|a| a.name.len() + a.data_type.len() + a.value.len()).sum::<usize>()
}

/// The checks that need no topic: subject, body, size, attributes, structure.
fn check_message(msg: &PublishMessage) -> Result<(), Error> {
    if let Some(subject) = &msg.subject
        && (subject.is_empty() || subject.chars().count() >= 100 || subject.chars().any(char::is_control))
    {
        return Err(invalid("Subject"));
    }
    if msg.message.is_empty() {
        return Err(invalid("Empty message"));
    }
    if size(msg) > MAX_MESSAGE_BYTES {
        return Err(invalid("Message too long"));
    }
    for a in &msg.attributes {
        check_attribute(a)?;
    }
    Ok(())
}

fn check_attribute(a: &MessageAttribute) -> Result<(), Error> {
    let name = &a.name;
    let base = a.data_type.split('.').next().unwrap_or_default();
    if !matches!(base, "String" | "Number" | "Binary") {
        return Err(Error::ParameterValueInvalid(format!(
            "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
        )));
    }
    if a.value.is_empty() {
        return Err(Error::ParameterValueInvalid(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
            a.data_type
        )));
    }
    if base == "Number" && a.value.trim().parse::<f64>().is_err() {
        return Err(Error::ParameterValueInvalid(format!(
            "Could not cast message attribute '{name}' value to number."
        )));
    }
    if a.data_type == "String.Array"
        && !serde_json::from_str::<serde_json::Value>(&a.value).is_ok_and(|v| v.is_array())
    {
        return Err(Error::ParameterValueInvalid(format!(
            "The message attribute '{name}' with type 'String.Array' has an invalid value: it must be a JSON array."
        )));
    }
    Ok(())
}

/// The checks that need the topic (FIFO ids, structure), and the message's ids.
fn prepare<'a>(
    inner: &Inner,
    topic: &Topic,
    msg: &'a PublishMessage,
    now: i64,
) -> Result<Prepared<'a>, Error> {
    let fifo = topic.record.fifo();
    let dedup_id = if fifo {
        if msg.group_id.as_deref().is_none_or(str::is_empty) {
            return Err(invalid("The MessageGroupId parameter is required for FIFO topics"));
        }
        match (&msg.dedup_id, topic.record.content_based_dedup()) {
            (Some(id), _) => Some(id.clone()),
            (None, true) => Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(msg.message.as_bytes()))),
            (None, false) => {
                return Err(invalid(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        }
    } else {
        if msg.dedup_id.is_some() {
            return Err(invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        None
    };
    let structured = match msg.structure.as_deref() {
        Some("json") => {
            let parsed: serde_json::Value = serde_json::from_str(&msg.message)
                .map_err(|_| invalid("Message Structure - JSON message body failed to parse"))?;
            let serde_json::Value::Object(map) = parsed else {
                return Err(invalid("Message Structure - JSON message body failed to parse"));
            };
            if !map.get("default").is_some_and(serde_json::Value::is_string) {
                return Err(invalid("Message Structure - No default entry in JSON message body"));
            }
            Some(map)
        }
        Some(other) => return Err(invalid(format!("MessageStructure Reason: Invalid value [{other}]"))),
        None => None,
    };
    Ok(Prepared {
        msg,
        structured,
        message_id: uuid::Uuid::new_v4().to_string(),
        // Twenty digits, as SNS writes them, growing with every message.
        sequence_number: fifo.then(|| format!("1{:019}", inner.next_seq() % 10u64.pow(19))),
        dedup_id,
        timestamp: types::timefmt::iso_millis(now, "Z"),
    })
}

/// Whether a FIFO topic saw this deduplication id in the last five minutes: earlier in this
/// request, in memory, or (after a restart) in the store.
fn duplicate(inner: &Inner, key: &[u8], now: i64, pending: &Pending) -> Result<bool, Error> {
    if pending.dedup.iter().any(|(k, _)| k == key) {
        return Ok(true);
    }
    if lock(&inner.dedup).get(key).is_some_and(|expires| *expires > now) {
        return Ok(true);
    }
    let stored = inner.kv.get(model::DEDUP, key)?;
    let expires = stored.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(i64::from_be_bytes);
    Ok(expires.is_some_and(|e| e > now))
}

/// One delivery per confirmed subscription whose filter policy passes, added to `pending`;
/// none for a FIFO message whose deduplication id is within its window.
fn fan_out(
    inner: &Inner,
    topic: &Topic,
    p: &Prepared<'_>,
    now: i64,
    pending: &mut Pending,
) -> Result<(), Error> {
    if let Some(id) = &p.dedup_id {
        let key = model::dedup_key(&model::topic_key(&topic.scope, &topic.record.name), id);
        if duplicate(inner, &key, now, pending)? {
            return Ok(());
        }
        pending.dedup.push((key, now + DEDUP_WINDOW_MS));
    }
    let topic_arn = topic.arn();
    let region = topic.scope.region.as_str();
    let endpoint = inner.config.endpoint_url.as_str();
    let attrs: Vec<Attr<'_>> = p
        .msg
        .attributes
        .iter()
        .map(|a| Attr { name: &a.name, data_type: &a.data_type, value: &a.value })
        .collect();
    let policy_view: Vec<(&str, event_pattern::AttributeValue<'_>)> = p
        .msg
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), event_pattern::AttributeValue::typed(&a.data_type, &a.value)))
        .collect();
    for sub in topic.subs.values() {
        let r = &sub.record;
        if r.pending {
            continue;
        }
        let text = p.text_for(&r.protocol);
        if let Some(filter) = &sub.filter
            && !filter.matches(text, &policy_view)
        {
            continue;
        }
        let sub_arn = model::subscription_arn(&topic.scope, &r.topic, &r.id);
        let n = Notification {
            message_id: &p.message_id,
            sequence_number: p.sequence_number.as_deref(),
            topic_arn: &topic_arn,
            subject: p.msg.subject.as_deref(),
            message: text,
            timestamp: &p.timestamp,
            subscription_arn: &sub_arn,
            attributes: &attrs,
        };
        let wrapped = envelope::notification(&n, region, endpoint);
        let raw = r.raw();
        let (target, body, max_attempts) = match r.protocol.as_str() {
            "sqs" => (
                Target::Sqs {
                    queue_arn: r.endpoint.clone(),
                    attributes: if raw { sqs_attributes(&p.msg.attributes) } else { Vec::new() },
                    group_id: p.msg.group_id.clone(),
                    dedup_id: p.dedup_id.clone(),
                },
                if raw { text.to_owned() } else { wrapped.clone() },
                inner.config.managed_attempts,
            ),
            "lambda" => (
                Target::Lambda { function_arn: r.endpoint.clone() },
                envelope::lambda_event(&n, region, endpoint),
                inner.config.managed_attempts,
            ),
            _ => (
                Target::Http {
                    url: r.endpoint.clone(),
                    message_type: "Notification".to_owned(),
                    message_id: p.message_id.clone(),
                    topic_arn: topic_arn.clone(),
                    raw,
                },
                if raw { text.to_owned() } else { wrapped.clone() },
                http_attempts(
                    topic.record.attributes.get("DeliveryPolicy").map(String::as_str),
                    r.attributes.get("DeliveryPolicy").map(String::as_str),
                    inner.config.http_attempts,
                ),
            ),
        };
        let dead_letter = r.dead_letter_queue().map(|q| (q, if raw { text.to_owned() } else { wrapped }));
        pending.deliveries.push(Delivery {
            v: 1,
            seq: inner.next_seq(),
            subscription_arn: sub_arn,
            target,
            body,
            dead_letter,
            attempts: 0,
            max_attempts,
            accepted_ms: now,
            trace: None,
        });
    }
    Ok(())
}

/// Attempts at an HTTP endpoint: 1 + `numRetries` of the subscription's delivery policy
/// (`healthyRetryPolicy`), else of the topic's (`http.defaultHealthyRetryPolicy`), else the
/// default. SNS allows at most 100 retries.
fn http_attempts(topic_policy: Option<&str>, sub_policy: Option<&str>, default: u32) -> u32 {
    let retries = |text: Option<&str>, path: &[&str]| -> Option<u32> {
        let mut v: serde_json::Value = serde_json::from_str(text?).ok()?;
        for key in path {
            v = v.get(*key)?.clone();
        }
        u32::try_from(v.as_u64()?).ok()
    };
    retries(sub_policy, &["healthyRetryPolicy", "numRetries"])
        .or_else(|| retries(topic_policy, &["http", "defaultHealthyRetryPolicy", "numRetries"]))
        .map_or(default, |n| n.min(100) + 1)
}

/// SNS attributes as SQS message attributes for raw delivery: SQS has no `String.Array`, so
/// it arrives as a `String` holding the JSON array.
fn sqs_attributes(attributes: &[MessageAttribute]) -> Vec<(String, String, String)> {
    attributes
        .iter()
        .map(|a| {
            let data_type =
                if a.data_type == "String.Array" { "String".to_owned() } else { a.data_type.clone() };
            (a.name.clone(), data_type, a.value.clone())
        })
        .collect()
}

fn commit(inner: &Inner, pending: Pending, now: i64) -> Result<(), Error> {
    let Pending { deliveries, dedup } = pending;
    if deliveries.is_empty() && dedup.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    let wake = !deliveries.is_empty();
    for d in deliveries {
        batch = batch.put(model::DELIVERIES, model::delivery_key(now, d.seq), model::encode(&d));
    }
    for (key, expires) in &dedup {
        batch = batch.put(model::DEDUP, key.clone(), expires.to_be_bytes().to_vec());
    }
    inner.kv.commit(batch)?;
    if !dedup.is_empty() {
        let mut seen = lock(&inner.dedup);
        if seen.len() > 10_000 {
            seen.retain(|_, expires| *expires > now);
            sweep_dedup(inner, now);
        }
        seen.extend(dedup);
    }
    if wake {
        inner.worker.wake();
    }
    Ok(())
}

/// Deletes stored deduplication ids whose window has passed, a page at a time from where the
/// last sweep stopped (so every id is reached, however many there are).
fn sweep_dedup(inner: &Inner, now: i64) {
    const PAGE: usize = 1000;
    let mut cursor = lock(&inner.dedup_cursor);
    let range = match cursor.take() {
        Some(after) => storage::KeyRange::from(std::ops::Bound::Excluded(after)),
        None => storage::KeyRange::all(),
    };
    let Ok(page) = inner.kv.scan(model::DEDUP, range, PAGE) else { return };
    if page.len() == PAGE {
        *cursor = page.last().map(|(k, _)| k.clone());
    }
    let mut batch = Batch::new();
    for (key, value) in page {
        let expires = <[u8; 8]>::try_from(value.as_slice()).map_or(0, i64::from_be_bytes);
        if expires <= now {
            batch = batch.delete(model::DEDUP, key);
        }
    }
    if let Err(e) = inner.kv.commit(batch) {
        tracing::warn!(error = %e, "could not delete expired deduplication ids");
    }
}

/// The SubscriptionConfirmation delivery for a new HTTP/S subscription.
pub fn confirmation(
    inner: &Inner,
    topic: &Topic,
    record: &SubscriptionRecord,
    sub_arn: &str,
    token: &str,
    now: i64,
) -> Delivery {
    let message_id = uuid::Uuid::new_v4().to_string();
    let topic_arn = topic.arn();
    let body = envelope::confirmation(
        &message_id,
        token,
        &topic_arn,
        &types::timefmt::iso_millis(now, "Z"),
        topic.scope.region.as_str(),
        &inner.config.endpoint_url,
    );
    Delivery {
        v: 1,
        seq: inner.next_seq(),
        subscription_arn: sub_arn.to_owned(),
        target: Target::Http {
            url: record.endpoint.clone(),
            message_type: "SubscriptionConfirmation".to_owned(),
            message_id,
            topic_arn,
            raw: false,
        },
        body,
        dead_letter: None,
        attempts: 0,
        max_attempts: inner.config.http_attempts,
        accepted_ms: now,
        trace: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> PublishMessage {
        PublishMessage { message: text.to_owned(), ..PublishMessage::default() }
    }

    #[test]
    fn message_checks_in_sns_words() {
        let err = |m: &PublishMessage| check_message(m).map_err(|e| e.to_string()).err();
        assert_eq!(err(&msg("")).as_deref(), Some("Invalid parameter: Empty message"));
        assert_eq!(
            err(&msg(&"x".repeat(MAX_MESSAGE_BYTES + 1))).as_deref(),
            Some("Invalid parameter: Message too long")
        );
        let mut m = msg("hi");
        m.subject = Some(String::new());
        assert_eq!(err(&m).as_deref(), Some("Invalid parameter: Subject"));
        m.subject = Some("a\nb".to_owned());
        assert_eq!(err(&m).as_deref(), Some("Invalid parameter: Subject"));
        let mut m = msg("hi");
        m.attributes.push(MessageAttribute {
            name: "n".into(),
            data_type: "Number".into(),
            value: "abc".into(),
        });
        assert_eq!(err(&m).as_deref(), Some("Could not cast message attribute 'n' value to number."));
        m.attributes[0].data_type = "Blob".into();
        assert!(err(&m).is_some_and(|e| e.contains("supported type prefixes is Binary, Number, and String")));
        m.attributes[0] =
            MessageAttribute { name: "a".into(), data_type: "String.Array".into(), value: "[\"x\"]".into() };
        assert_eq!(err(&m), None);
    }

    #[test]
    fn delivery_policies_set_http_retries() {
        let topic = r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":5}}}"#;
        let sub = r#"{"healthyRetryPolicy":{"numRetries":1}}"#;
        assert_eq!(http_attempts(None, None, 4), 4);
        assert_eq!(http_attempts(Some(topic), None, 4), 6);
        assert_eq!(http_attempts(Some(topic), Some(sub), 4), 2);
        assert_eq!(
            http_attempts(Some("not json"), Some(r#"{"healthyRetryPolicy":{"numRetries":500}}"#), 4),
            101
        );
    }

    #[test]
    fn structured_messages_pick_the_protocol() {
        let m = PublishMessage {
            message: r#"{"default":"d","sqs":"for sqs","lambda":7}"#.to_owned(),
            structure: Some("json".to_owned()),
            ..PublishMessage::default()
        };
        let structured = serde_json::from_str(&m.message).ok();
        let p = Prepared {
            msg: &m,
            structured,
            message_id: String::new(),
            sequence_number: None,
            dedup_id: None,
            timestamp: String::new(),
        };
        assert_eq!(p.text_for("sqs"), "for sqs");
        // A non-string entry is ignored, as SNS ignores it.
        assert_eq!(p.text_for("lambda"), "d");
        assert_eq!(p.text_for("http"), "d");
    }
}
