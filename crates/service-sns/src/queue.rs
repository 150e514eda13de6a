//! The durable delivery queue and its one worker.
//!
//! Publish (and Subscribe, for HTTP confirmations) commits deliveries to `sns.deliveries`,
//! keyed by when they are due, before it answers. The worker hands due deliveries to their
//! endpoint and only then removes them, so delivery is at least once and survives a kill -9.
//! An endpoint that cannot take the message now is retried with exponential backoff
//! (`retry_base` doubled per attempt, capped at `max_retry_delay`) up to the delivery's
//! attempts; an endpoint that does not exist or refuses the message is not retried. A message
//! that fails for good goes to the subscription's dead-letter queue when its RedrivePolicy
//! names one, and is dropped otherwise, as SNS drops it.
//!
//! SQS and Lambda deliveries are taken in key order (due time, then publish order), one at a
//! time, so a FIFO topic's messages reach a FIFO queue in the order they were published. HTTP
//! deliveries each run in their own task (an endpoint may take seconds to answer); the worker
//! skips their keys until the task has recorded the outcome.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ports::{PortError, QueueMessageAttribute};
use storage::{Batch, KeyRange};
use tokio::sync::Notify;
use types::trace::TraceHeader;

use crate::error::Error;
use crate::model::{self, DELIVERIES, Delivery, Target};
use crate::{Inner, lock};

/// How many due deliveries the worker takes per scan.
const BATCH: usize = 64;
/// The longest the worker sleeps without looking.
const MAX_SLEEP: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Worker {
    wake: Notify,
    stopped: AtomicBool,
    /// Keys of HTTP deliveries whose task has not finished: scans leave them alone.
    in_flight: Mutex<HashSet<Vec<u8>>>,
}

impl Worker {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// How many HTTP deliveries are under way.
    #[cfg(test)]
    pub fn in_flight_len(&self) -> usize {
        lock(&self.in_flight).len()
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Spawns the worker loop.
pub fn start(svc: Arc<Inner>) {
    tokio::spawn(async move {
        while !svc.worker.stopped.load(Ordering::Acquire) {
            let wait = deliver_due(&svc).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "sns delivery scan failed");
                MAX_SLEEP
            });
            let _ = tokio::time::timeout(wait, svc.worker.wake.notified()).await;
        }
    });
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The wait before attempt `attempts + 1`.
fn backoff(svc: &Inner, attempts: u32) -> i64 {
    let factor = 1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    millis(svc.config.retry_base.saturating_mul(factor).min(svc.config.max_retry_delay))
}

/// Delivers every due delivery; returns how long to sleep until the next one. SQS and Lambda
/// deliveries (in-process calls) run in key order here; each HTTP delivery runs in a task of
/// its own, so one slow or silent endpoint holds up nothing else.
pub(crate) async fn deliver_due(svc: &Arc<Inner>) -> Result<Duration, Error> {
    let now = svc.now_ms();
    let end = std::ops::Bound::Excluded(format!("{:016}/", now + 1).into_bytes());
    let due = svc.kv.scan(DELIVERIES, KeyRange::until(end), BATCH)?;
    let full = due.len() == BATCH;
    let mut progressed = false;
    // One commit for the whole scan: a crash before it repeats at most this scan's
    // deliveries, which at-least-once allows (and FIFO queues drop by deduplication id).
    let mut batch = Batch::new();
    for (key, raw) in due {
        if lock(&svc.worker.in_flight).contains(&key) {
            continue;
        }
        progressed = true;
        let d = match model::decode::<Delivery>(&raw) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "dropping an unreadable sns delivery");
                batch = batch.delete(DELIVERIES, key);
                continue;
            }
        };
        if matches!(d.target, Target::Http { .. }) {
            lock(&svc.worker.in_flight).insert(key.clone());
            let svc = svc.clone();
            tokio::spawn(async move {
                let result = attempt(&svc, &d).await;
                let done = settle(&svc, Batch::new(), key.clone(), d, result);
                if let Err(e) = svc.kv.commit(done) {
                    tracing::error!(error = %e, "sns delivery outcome not saved; it will be retried");
                }
                lock(&svc.worker.in_flight).remove(&key);
                svc.worker.wake();
            });
            continue;
        }
        let result = attempt(svc, &d).await;
        batch = settle(svc, batch, key, d, result);
    }
    if !batch.is_empty() {
        svc.kv.commit(batch)?;
    }
    if full && progressed {
        return Ok(Duration::ZERO);
    }
    // The next delivery not already under way says how long to sleep; finished HTTP tasks
    // wake the worker themselves.
    let in_flight = lock(&svc.worker.in_flight).clone();
    let next = svc.kv.scan(DELIVERIES, KeyRange::all(), in_flight.len() + 1)?;
    let wait = next
        .iter()
        .find(|(k, _)| !in_flight.contains(k))
        .and_then(|(k, _)| std::str::from_utf8(&k[..16.min(k.len())]).ok()?.parse::<i64>().ok())
        .map_or(MAX_SLEEP, |due| Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
    Ok(wait.clamp(Duration::from_millis(5), MAX_SLEEP))
}

/// Adds to `batch` what an attempt's outcome changes: the delivery leaves the queue, and comes
/// back later when the endpoint may take it on a retry; failed for good, it goes to the
/// dead-letter queue (if any) now.
fn settle(svc: &Inner, batch: Batch, key: Vec<u8>, mut d: Delivery, result: Result<(), PortError>) -> Batch {
    let batch = batch.delete(DELIVERIES, key);
    match result {
        Ok(()) => batch,
        Err(PortError::Unavailable(why)) if d.attempts + 1 < d.max_attempts => {
            d.attempts += 1;
            tracing::debug!(%why, attempts = d.attempts, subscription = %d.subscription_arn, "sns delivery will be retried");
            let due = svc.now_ms() + backoff(svc, d.attempts);
            batch.put(DELIVERIES, model::delivery_key(due, d.seq), model::encode(&d))
        }
        Err(e) => {
            dead_letter(svc, &d, &e);
            batch
        }
    }
}

/// A delivery that failed for good: to the dead-letter queue if there is one.
fn dead_letter(svc: &Inner, d: &Delivery, e: &PortError) {
    match &d.dead_letter {
        Some((queue, body)) => {
            if let Err(dlq) = svc.queues.send_message(queue, body, &[], None, None) {
                tracing::warn!(error = %dlq, subscription = %d.subscription_arn, "sns dead-letter queue refused the message; dropped");
            }
        }
        None => {
            tracing::warn!(error = %e, subscription = %d.subscription_arn, "sns delivery failed for good; message dropped");
        }
    }
}

/// One attempt at the endpoint.
async fn attempt(svc: &Inner, d: &Delivery) -> Result<(), PortError> {
    let trace = d.trace.as_deref().and_then(|t| TraceHeader::parse(t).ok());
    match &d.target {
        Target::Sqs { queue_arn, attributes, group_id, dedup_id } => {
            let attributes: Vec<(String, QueueMessageAttribute)> = attributes
                .iter()
                .map(|(name, data_type, value)| {
                    let value = if data_type.starts_with("Binary") {
                        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, value)
                            .map(Bytes::from)
                            .unwrap_or_else(|_| Bytes::from(value.clone()))
                    } else {
                        Bytes::from(value.clone())
                    };
                    (name.clone(), QueueMessageAttribute { data_type: data_type.clone(), value })
                })
                .collect();
            svc.queues
                .send_message_deduplicated(
                    queue_arn,
                    &d.body,
                    &attributes,
                    group_id.as_deref(),
                    dedup_id.as_deref(),
                    trace,
                )
                .map(|_| ())
        }
        Target::Lambda { function_arn } => {
            svc.invoker.invoke_async(function_arn, Bytes::from(d.body.clone()), trace)
        }
        Target::Http { url, message_type, message_id, topic_arn, raw } => {
            let mut headers = vec![
                ("x-amz-sns-message-type", message_type.clone()),
                ("x-amz-sns-message-id", message_id.clone()),
                ("x-amz-sns-topic-arn", topic_arn.clone()),
            ];
            if message_type == "Notification" {
                headers.push(("x-amz-sns-subscription-arn", d.subscription_arn.clone()));
            }
            if *raw {
                headers.push(("x-amz-sns-rawdelivery", "true".to_owned()));
            }
            crate::http::post(url, &headers, d.body.clone(), svc.config.http_timeout).await
        }
    }
}
