//! Event notifications: a bucket's notification configuration picks, for each object change,
//! the Lambda functions, SQS queues and SNS topics to tell (event type and key prefix/suffix
//! filters), and EventBridge's default bus when the bucket enables it. The
//! S3 event record for each is rendered at once and committed to `s3.deliveries` in the same
//! batch as the object change, so an acknowledged change is always announced, even across a
//! kill -9. One worker task hands due deliveries to `ports::FunctionInvoker::invoke_async`,
//! `ports::QueueSender`, `ports::TopicPublisher` or `ports::EventPublisher` and removes them only then (at least once), retrying targets that are
//! unavailable with exponential backoff.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use ports::{
    BusEvent, EventPublisher, FunctionInvoker, PortError, QueueSender, TopicMessage, TopicPublisher,
};
use s3s::dto::{NotificationConfiguration, NotificationConfigurationFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use storage::{Batch, KeyRange, Kv};
use tokio::sync::Notify;
use types::Clock;
use types::trace::TraceHeader;

use crate::engine::Cx;
use crate::error::Result;
use crate::model::{self, BucketRecord};

pub const DELIVERIES: &str = "s3.deliveries";
/// Deliveries taken per scan.
const BATCH: usize = 64;
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// Attempts before an undeliverable event is dropped (S3 retries for hours; so do we, roughly).
const MAX_ATTEMPTS: u32 = 20;
const RETRY_BASE_MS: i64 = 500;
const MAX_RETRY_MS: i64 = 5 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Lambda,
    Queue,
    Topic,
    /// EventBridge: the payload is `{"detail-type", "detail", "resources"}` for the bus in `arn`.
    Bus,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub v: u32,
    pub id: String,
    pub target: Target,
    pub arn: String,
    pub payload: String,
    pub attempts: u32,
    /// The trace of the request that changed the object (`Root=…;Parent=…`), passed to the
    /// target as AWS passes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

fn delivery_key(due_ms: i64, id: &str) -> Vec<u8> {
    format!("{due_ms:016}/{id}").into_bytes()
}

/// One object change, as notifications describe it.
pub struct Change<'a> {
    /// `ObjectCreated:Put`, `ObjectCreated:Copy`, `ObjectCreated:CompleteMultipartUpload`,
    /// `ObjectRemoved:Delete`, `ObjectRemoved:DeleteMarkerCreated`, `LifecycleExpiration:*`.
    pub event: &'static str,
    pub key: &'a str,
    pub size: Option<u64>,
    pub etag: Option<&'a str>,
    /// The version created or removed, in a bucket that has (or had) versioning.
    pub version_id: Option<&'a str>,
}

/// The ports notifications go out through, and the worker's state.
#[derive(Default)]
pub struct Notifier {
    invoker: OnceLock<Arc<dyn FunctionInvoker>>,
    queues: OnceLock<Arc<dyn QueueSender>>,
    topics: OnceLock<Arc<dyn TopicPublisher>>,
    events: OnceLock<Arc<dyn EventPublisher>>,
    wake: Notify,
    stopped: AtomicBool,
    sequence: AtomicU64,
}

/// S3 URL-encodes the object key in event records as an HTML form would, keeping `/`:
/// `photos/my cat.jpg` becomes `photos/my+cat.jpg`.
pub fn event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Whether a configured event (`s3:ObjectCreated:*`, `s3:ObjectCreated:Put`) covers `event`.
fn covers(configured: &str, event: &str) -> bool {
    let Some(configured) = configured.strip_prefix("s3:") else { return false };
    match configured.strip_suffix('*') {
        Some(family) => event.starts_with(family),
        None => configured == event,
    }
}

fn passes(filter: Option<&NotificationConfigurationFilter>, key: &str) -> bool {
    let rules = filter.and_then(|f| f.key.as_ref()).and_then(|k| k.filter_rules.as_ref());
    rules.is_none_or(|rules| {
        rules.iter().all(|r| {
            let value = r.value.as_deref().unwrap_or_default();
            match r.name.as_ref().map(|n| n.as_str().to_ascii_lowercase()).as_deref() {
                Some("prefix") => key.starts_with(value),
                Some("suffix") => key.ends_with(value),
                _ => true,
            }
        })
    })
}

impl Notifier {
    pub fn set_invoker(&self, invoker: Arc<dyn FunctionInvoker>) {
        let _ = self.invoker.set(invoker);
    }

    pub fn set_queue_sender(&self, sender: Arc<dyn QueueSender>) {
        let _ = self.queues.set(sender);
    }

    pub fn set_topic_publisher(&self, publisher: Arc<dyn TopicPublisher>) {
        let _ = self.topics.set(publisher);
    }

    pub fn set_event_publisher(&self, publisher: Arc<dyn EventPublisher>) {
        let _ = self.events.set(publisher);
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// A sequencer that orders the events of this server: later changes get larger values.
    fn sequencer(&self, now_ms: i64) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{:012X}{:06X}", now_ms, n & 0xFF_FFFF)
    }

    /// The deliveries `change` causes in `bucket`, added to `batch`; `true` if there were any
    /// (the caller then wakes the worker once the batch is committed).
    pub fn add(
        &self,
        batch: &mut Batch,
        cx: &Cx,
        bucket: &BucketRecord,
        change: &Change<'_>,
        now_ms: i64,
    ) -> Result<bool> {
        let Some(json) = bucket.configs.get("notification") else { return Ok(false) };
        let config: NotificationConfiguration = model::decode(json.as_bytes())?;
        let mut targets: Vec<(Target, String, String)> = Vec::new();
        for c in config.lambda_function_configurations.iter().flatten() {
            if c.events.iter().any(|e| covers(e.as_ref(), change.event))
                && passes(c.filter.as_ref(), change.key)
            {
                targets.push((
                    Target::Lambda,
                    c.lambda_function_arn.clone(),
                    c.id.clone().unwrap_or_default(),
                ));
            }
        }
        for c in config.queue_configurations.iter().flatten() {
            if c.events.iter().any(|e| covers(e.as_ref(), change.event))
                && passes(c.filter.as_ref(), change.key)
            {
                targets.push((Target::Queue, c.queue_arn.clone(), c.id.clone().unwrap_or_default()));
            }
        }
        for c in config.topic_configurations.iter().flatten() {
            if c.events.iter().any(|e| covers(e.as_ref(), change.event))
                && passes(c.filter.as_ref(), change.key)
            {
                targets.push((Target::Topic, c.topic_arn.clone(), c.id.clone().unwrap_or_default()));
            }
        }
        if config.event_bridge_configuration.is_some() {
            let bus = format!("arn:aws:events:{}:{}:event-bus/default", bucket.region, cx.account);
            targets.push((Target::Bus, bus, String::new()));
        }
        if targets.is_empty() {
            return Ok(false);
        }
        let sequencer = self.sequencer(now_ms);
        let trace = cx.trace.as_ref().map(|t| {
            t.note(operation(change.event), format!("{}/{}", bucket.name, change.key));
            t.downstream().to_string()
        });
        for (target, arn, configuration_id) in targets {
            let payload = if target == Target::Bus {
                bus_event(cx, bucket, change, &sequencer).to_string()
            } else {
                json!({ "Records": [record(cx, bucket, change, &configuration_id, &sequencer, now_ms)] })
                    .to_string()
            };
            let id = uuid::Uuid::new_v4().simple().to_string();
            let d =
                Delivery { v: 1, id: id.clone(), target, arn, payload, attempts: 0, trace: trace.clone() };
            batch.push(storage::Op::Put {
                table: DELIVERIES.into(),
                key: delivery_key(now_ms, &id),
                value: model::encode(&d)?,
            });
        }
        Ok(true)
    }

    /// `s3:TestEvent`, which S3 sends to each queue when a configuration names it.
    pub fn test_events(
        &self,
        batch: &mut Batch,
        cx: &Cx,
        bucket: &str,
        config: &NotificationConfiguration,
        now_ms: i64,
    ) -> Result<bool> {
        let mut any = false;
        for c in config.queue_configurations.iter().flatten() {
            let payload = json!({
                "Service": "Amazon S3",
                "Event": "s3:TestEvent",
                "Time": types::timefmt::iso_millis(now_ms, "Z"),
                "Bucket": bucket,
                "RequestId": cx.request_id,
                "HostId": host_id(&cx.request_id),
            })
            .to_string();
            let id = uuid::Uuid::new_v4().simple().to_string();
            let d = Delivery {
                v: 1,
                id: id.clone(),
                target: Target::Queue,
                arn: c.queue_arn.clone(),
                payload,
                attempts: 0,
                trace: None,
            };
            batch.push(storage::Op::Put {
                table: DELIVERIES.into(),
                key: delivery_key(now_ms, &id),
                value: model::encode(&d)?,
            });
            any = true;
        }
        Ok(any)
    }

    /// Spawns the delivery worker.
    pub fn start(self: Arc<Self>, kv: Arc<dyn Kv>, clock: Arc<dyn Clock>) {
        tokio::spawn(async move {
            while !self.stopped.load(Ordering::Acquire) {
                let wait = self.deliver_due(kv.as_ref(), clock.as_ref()).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "s3 notification scan failed");
                    MAX_SLEEP
                });
                let _ = tokio::time::timeout(wait, self.wake.notified()).await;
            }
        });
    }

    fn attempt(&self, d: &Delivery) -> Result<(), PortError> {
        let trace = d.trace.as_deref().and_then(|t| TraceHeader::parse(t).ok());
        match d.target {
            Target::Lambda => match self.invoker.get() {
                Some(i) => i.invoke_async(&d.arn, Bytes::from(d.payload.clone()), trace),
                None => Err(PortError::Unavailable("Lambda is not wired".into())),
            },
            Target::Queue => match self.queues.get() {
                Some(q) => q.send_message(&d.arn, &d.payload, &[], None, trace).map(|_| ()),
                None => Err(PortError::Unavailable("SQS is not wired".into())),
            },
            Target::Topic => match self.topics.get() {
                Some(t) => {
                    let message = TopicMessage {
                        message: d.payload.clone(),
                        subject: Some("Amazon S3 Notification".to_owned()),
                        trace,
                        ..TopicMessage::default()
                    };
                    t.publish(&d.arn, message).map(|_| ())
                }
                None => Err(PortError::Unavailable("SNS is not wired".into())),
            },
            Target::Bus => match self.events.get() {
                Some(e) => {
                    let doc: serde_json::Value = serde_json::from_str(&d.payload).unwrap_or_default();
                    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                    let resources =
                        doc["resources"].as_array().map(|r| r.iter().map(text).collect()).unwrap_or_default();
                    e.put_event(BusEvent {
                        bus_arn: d.arn.clone(),
                        source: "aws.s3".to_owned(),
                        detail_type: text(&doc["detail-type"]),
                        detail: doc["detail"].to_string(),
                        resources,
                        trace,
                    })
                    .map(|_| ())
                }
                None => Err(PortError::Unavailable("EventBridge is not wired".into())),
            },
        }
    }

    /// Delivers what is due; returns how long to sleep.
    fn deliver_due(&self, kv: &dyn Kv, clock: &dyn Clock) -> Result<Duration> {
        let now = crate::buckets::millis(clock.now());
        let end = std::ops::Bound::Excluded(format!("{:016}/", now + 1).into_bytes());
        let due = kv.scan(DELIVERIES, KeyRange::until(end), BATCH)?;
        let full = due.len() == BATCH;
        for (key, raw) in due {
            let mut batch = Batch::new().delete(DELIVERIES, key);
            match model::decode::<Delivery>(&raw) {
                Err(e) => tracing::error!(error = %e, "dropping an unreadable S3 notification"),
                Ok(mut d) => match self.attempt(&d) {
                    Ok(()) => {}
                    Err(PortError::Unavailable(why)) if d.attempts < MAX_ATTEMPTS => {
                        d.attempts += 1;
                        tracing::debug!(%why, attempts = d.attempts, "S3 notification will be retried");
                        let delay = (RETRY_BASE_MS << d.attempts.min(20)).min(MAX_RETRY_MS);
                        batch = batch.put(DELIVERIES, delivery_key(now + delay, &d.id), model::encode(&d)?);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, target = %d.arn, "S3 notification could not be delivered; dropped")
                    }
                },
            }
            kv.commit(batch).map_err(|e| crate::error::Error::InternalError(e.to_string()))?;
        }
        if full {
            return Ok(Duration::ZERO);
        }
        let next = kv.scan(DELIVERIES, KeyRange::all(), 1)?;
        let wait = next
            .first()
            .and_then(|(k, _)| std::str::from_utf8(&k[..16.min(k.len())]).ok()?.parse::<i64>().ok())
            .map_or(MAX_SLEEP, |due| Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
        Ok(wait.clamp(Duration::from_millis(5), MAX_SLEEP))
    }
}

/// The S3 operation behind an event type, for the request's span.
fn operation(event: &str) -> &'static str {
    match event {
        "ObjectCreated:Copy" => "CopyObject",
        "ObjectCreated:CompleteMultipartUpload" => "CompleteMultipartUpload",
        "ObjectCreated:Post" => "PostObject",
        e if e.starts_with("ObjectRemoved:") => "DeleteObject",
        _ => "PutObject",
    }
}

fn host_id(request_id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("nimbus/{request_id}"))
}

/// What EventBridge gets for a change: `Object Created` / `Object Deleted` from `aws.s3`, the
/// bucket's ARN as the resource, and S3's detail (the key as written, not URL-encoded).
fn bus_event(cx: &Cx, bucket: &BucketRecord, change: &Change<'_>, sequencer: &str) -> serde_json::Value {
    let (detail_type, reason) = match change.event {
        "ObjectCreated:Put" => ("Object Created", "PutObject"),
        "ObjectCreated:Copy" => ("Object Created", "CopyObject"),
        "ObjectCreated:CompleteMultipartUpload" => ("Object Created", "CompleteMultipartUpload"),
        e if e.starts_with("ObjectCreated") => ("Object Created", "PutObject"),
        e if e.starts_with("LifecycleExpiration") => ("Object Deleted", "Lifecycle Expiration"),
        _ => ("Object Deleted", "DeleteObject"),
    };
    let mut object = json!({ "key": change.key, "sequencer": sequencer });
    if let Some(size) = change.size {
        object["size"] = json!(size);
    }
    if let Some(etag) = change.etag {
        object["etag"] = json!(etag.trim_matches('"'));
    }
    if let Some(v) = change.version_id {
        object["version-id"] = json!(v);
    }
    let mut detail = json!({
        "version": "0",
        "bucket": { "name": bucket.name },
        "object": object,
        "request-id": cx.request_id,
        "requester": cx.account,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    });
    if detail_type == "Object Deleted" {
        let kind = if change.event.ends_with("DeleteMarkerCreated") {
            "Delete Marker Created"
        } else {
            "Permanently Deleted"
        };
        detail["deletion-type"] = json!(kind);
    }
    json!({
        "detail-type": detail_type,
        "detail": detail,
        "resources": [format!("arn:aws:s3:::{}", bucket.name)],
    })
}

/// One S3 event record (eventVersion 2.1).
fn record(
    cx: &Cx,
    bucket: &BucketRecord,
    change: &Change<'_>,
    configuration_id: &str,
    sequencer: &str,
    now_ms: i64,
) -> serde_json::Value {
    let owner = format!("A{}", cx.account);
    let mut object = json!({ "key": event_key(change.key), "sequencer": sequencer });
    if let Some(size) = change.size {
        object["size"] = json!(size);
    }
    if let Some(etag) = change.etag {
        object["eTag"] = json!(etag);
    }
    if let Some(v) = change.version_id {
        object["versionId"] = json!(v);
    }
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": bucket.region,
        "eventTime": types::timefmt::iso_millis(now_ms, "Z"),
        "eventName": change.event,
        "userIdentity": { "principalId": format!("AWS:{}", cx.principal) },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": cx.request_id, "x-amz-id-2": host_id(&cx.request_id) },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket.name,
                "ownerIdentity": { "principalId": owner },
                "arn": format!("arn:aws:s3:::{}", bucket.name),
            },
            "object": object,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_does() {
        assert_eq!(event_key("photos/my cat.jpg"), "photos/my+cat.jpg");
        assert_eq!(event_key("a=b&c(1).txt"), "a%3Db%26c%281%29.txt");
        assert_eq!(event_key("ü"), "%C3%BC");
    }

    #[test]
    fn event_families() {
        assert!(covers("s3:ObjectCreated:*", "ObjectCreated:Put"));
        assert!(covers("s3:ObjectCreated:Put", "ObjectCreated:Put"));
        assert!(!covers("s3:ObjectCreated:Copy", "ObjectCreated:Put"));
        assert!(!covers("s3:ObjectRemoved:*", "ObjectCreated:Put"));
        assert!(covers("s3:ObjectRemoved:*", "ObjectRemoved:Delete"));
    }
}
