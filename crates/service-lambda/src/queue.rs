//! The durable queue of asynchronous invocations. An `Event` invoke is acknowledged (202) only
//! after its event is committed to `lambda.async`, keyed by when it is due; a worker runs due
//! events, retries failures (`MaximumRetryAttempts`, default 2, waiting `n × retry_base`),
//! waits out throttles without counting them, drops events older than
//! `MaximumEventAgeInSeconds` (default 6 hours), and sends the outcome to the configured
//! OnSuccess/OnFailure destination.
//!
//! Delivery is at least once, as on Lambda: an event is removed (or rescheduled) only after its
//! attempt ended, and the removal and any destination event are one atomic batch. An event
//! running when the process dies runs again after the restart.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use storage::{Batch, KeyRange};
use tokio::sync::Notify;
use types::trace::TraceHeader;
use types::{AccountId, Region, Scope};

use crate::error::{Error, ThrottleReason};
use crate::invoke::{Resolved, Traced, resolve, run};
use crate::model::{
    ASYNC_QUEUE, AsyncEvent, EventInvokeConfig, SCHEMA_VERSION, decode, encode, function_key,
};
use crate::names::qualified_arn;
use crate::{Inner, lock};

/// Lambda's defaults when no event-invoke config says otherwise.
const DEFAULT_RETRIES: u32 = 2;
const DEFAULT_MAX_AGE_SECONDS: u32 = 21_600;
/// The longest wait between two attempts of a throttled event.
const MAX_THROTTLE_BACKOFF: Duration = Duration::from_secs(300);
/// How many due events the worker takes per scan.
const BATCH: usize = 64;

#[derive(Debug, Default)]
pub struct Queue {
    wake: Notify,
    stopped: AtomicBool,
    /// Keys being delivered right now, so a rescan does not start them twice.
    running: std::sync::Mutex<HashSet<Vec<u8>>>,
}

impl Queue {
    pub fn new() -> Queue {
        Queue::default()
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

fn queue_key(due_ms: i64, id: &str) -> Vec<u8> {
    format!("{:016}/{id}", due_ms.max(0)).into_bytes()
}

/// Commits an event for later delivery; returns once it is durable.
pub fn accept(
    svc: &Inner,
    scope: &Scope,
    request_id: &str,
    function: &str,
    qualifier: &str,
    payload: &Bytes,
    trace: Option<TraceHeader>,
) -> Result<(), Error> {
    let now = svc.now_ms();
    let event = AsyncEvent {
        v: SCHEMA_VERSION,
        id: uuid::Uuid::new_v4().simple().to_string(),
        account: scope.account.as_str().to_owned(),
        region: scope.region.as_str().to_owned(),
        function_name: function.to_owned(),
        qualifier: qualifier.to_owned(),
        request_id: request_id.to_owned(),
        payload: String::from_utf8_lossy(payload).into_owned(),
        received_ms: now,
        attempts: 0,
        trace: trace.map(|t| t.to_string()),
    };
    svc.kv.put(ASYNC_QUEUE, &queue_key(now, &event.id), &encode(&event))?;
    svc.queue.wake.notify_one();
    Ok(())
}

/// Spawns the worker loop.
pub fn start(svc: Arc<Inner>) {
    tokio::spawn(async move {
        while !svc.queue.stopped.load(Ordering::Acquire) {
            let wait = match dispatch_due(&svc) {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::error!(error = %e, "lambda async queue scan failed");
                    Duration::from_secs(1)
                }
            };
            let _ = tokio::time::timeout(wait, svc.queue.wake.notified()).await;
        }
    });
}

/// Starts every due event that is not running yet; returns how long to sleep until the next.
fn dispatch_due(svc: &Arc<Inner>) -> Result<Duration, Error> {
    let now = svc.now_ms();
    let end = std::ops::Bound::Excluded(format!("{:016}/", now + 1).into_bytes());
    let due = svc.kv.scan(ASYNC_QUEUE, KeyRange::until(end), BATCH)?;
    let mut started = 0;
    for entry in due {
        if !lock(&svc.queue.running).insert(entry.0.clone()) {
            continue;
        }
        started += 1;
        let event: AsyncEvent = match decode(&entry.1) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "dropping an unreadable async event");
                let _ = svc.kv.delete(ASYNC_QUEUE, &entry.0);
                lock(&svc.queue.running).remove(&entry.0);
                continue;
            }
        };
        let svc = svc.clone();
        tokio::spawn(async move {
            let key = entry.0;
            if let Err(e) = deliver(&svc, &key, event).await {
                tracing::error!(error = %e, "async invocation could not be settled; it stays queued");
            }
            lock(&svc.queue.running).remove(&key);
            svc.queue.wake.notify_one();
        });
    }
    if started == BATCH {
        return Ok(Duration::ZERO);
    }
    // Sleep until the next future event (or a wake-up from `accept`).
    let next = svc.kv.scan(
        ASYNC_QUEUE,
        KeyRange::from(std::ops::Bound::Excluded(format!("{:016}/", now).into_bytes())),
        1,
    )?;
    let wait = next
        .first()
        .and_then(|e| std::str::from_utf8(&e.0[..16.min(e.0.len())]).ok()?.parse::<i64>().ok())
        .map_or(Duration::from_secs(1), |due| Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
    Ok(wait.clamp(Duration::from_millis(5), Duration::from_secs(1)))
}

/// How one attempt ended.
enum Settle {
    /// Remove the event; deliver this record to this destination if any, and when the
    /// invocation failed, the event to the function's dead-letter queue.
    Done(Option<(String, Value)>, Option<Failure>),
    /// Try again at this time (a retry or a throttle).
    Later(i64, AsyncEvent),
}

async fn deliver(svc: &Arc<Inner>, key: &[u8], mut event: AsyncEvent) -> Result<(), Error> {
    let (Some(account), Some(region)) = (AccountId::parse(&event.account), Region::parse(&event.region))
    else {
        tracing::error!(id = %event.id, "async event with an invalid scope dropped");
        svc.kv.delete(ASYNC_QUEUE, key)?;
        return Ok(());
    };
    let scope = Scope { account, region };
    let now = svc.now_ms();
    // What destinations and dead-letter queues carry on: the invocation's trace once it ran,
    // the caller's until then.
    let mut trace = event.trace.as_deref().and_then(|t| TraceHeader::parse(t).ok());
    let Some(f) = svc.load(&scope, &event.function_name)? else {
        tracing::warn!(function = %event.function_name, "async event for a deleted function dropped");
        svc.kv.delete(ASYNC_QUEUE, key)?;
        return Ok(());
    };
    let config = f.event_invoke_configs.get(&event.qualifier).cloned().unwrap_or(EventInvokeConfig {
        maximum_retry_attempts: None,
        maximum_event_age_seconds: None,
        on_success: None,
        on_failure: None,
        last_modified: 0,
    });
    let max_retries = config.maximum_retry_attempts.unwrap_or(DEFAULT_RETRIES);
    let max_age_ms = i64::from(config.maximum_event_age_seconds.unwrap_or(DEFAULT_MAX_AGE_SECONDS)) * 1000;
    let qualifier = (event.qualifier != "$LATEST").then_some(event.qualifier.as_str());
    let resolved = match resolve(&scope, &f, qualifier) {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(function = %event.function_name, qualifier = %event.qualifier, "async event for a deleted version dropped");
            svc.kv.delete(ASYNC_QUEUE, key)?;
            return Ok(());
        }
    };
    let settle = if now - event.received_ms > max_age_ms {
        Settle::Done(
            config
                .on_failure
                .clone()
                .map(|d| (d, record(now, &scope, &event, &resolved, "EventAgeExceeded", None))),
            Some(Failure::unrun("EventAgeExceeded")),
        )
    } else if f.reserved_concurrency == Some(0) {
        // Lambda sends events of a function that may not run straight to the failure path.
        Settle::Done(
            config
                .on_failure
                .clone()
                .map(|d| (d, record(now, &scope, &event, &resolved, "RetriesExhausted", None))),
            Some(Failure::unrun("RetriesExhausted")),
        )
    } else {
        let fkey = String::from_utf8_lossy(&function_key(&scope, &f.name)).into_owned();
        match svc.concurrency.acquire(&fkey) {
            Err(reason) => {
                svc.usage.throttled(&crate::names::function_arn(&scope, &f.name));
                debug_assert!(matches!(
                    reason,
                    ThrottleReason::ConcurrentInvocationLimitExceeded
                        | ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded
                ));
                Settle::Later(now + throttle_delay(svc, &event), event.clone())
            }
            Ok(_permit) => {
                let invocation = runtime::Invocation {
                    request_id: event.request_id.clone(),
                    payload: Bytes::from(event.payload.clone()),
                    invoked_function_arn: Some(resolved.invoked_arn.clone()),
                    client_context: None,
                    cognito_identity: None,
                    trace_id: None,
                    tail_logs: false,
                };
                let traced = Traced::begin(trace, now);
                trace = Some(traced.header);
                let outcome = run(svc, &scope, &f.name, &resolved, invocation, true, traced).await?;
                event.attempts += 1;
                match outcome.error() {
                    None => Settle::Done(
                        config.on_success.clone().map(|d| {
                            (
                                d,
                                record(
                                    now,
                                    &scope,
                                    &event,
                                    &resolved,
                                    "Success",
                                    Some((outcome.payload(), None)),
                                ),
                            )
                        }),
                        None,
                    ),
                    Some(_) if event.attempts <= max_retries => {
                        let wait = svc.config.retry_base.saturating_mul(event.attempts);
                        Settle::Later(
                            now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
                            event.clone(),
                        )
                    }
                    Some(_) => Settle::Done(
                        config.on_failure.clone().map(|d| {
                            (
                                d,
                                record(
                                    now,
                                    &scope,
                                    &event,
                                    &resolved,
                                    "RetriesExhausted",
                                    Some((outcome.payload(), Some("Unhandled"))),
                                ),
                            )
                        }),
                        Some(Failure::function_error(outcome.payload())),
                    ),
                }
            }
        }
    };
    let mut batch = Batch::new().delete(ASYNC_QUEUE, key.to_vec());
    if let Settle::Done(_, Some(failure)) = &settle
        && let Some(dlq) = &resolved.config.dead_letter_target
        && let Err(e) = dead_letter(svc, dlq, &event, failure, trace)
    {
        tracing::warn!(%dlq, error = %e, "dead-letter queue refused the event; dropped");
    }
    match settle {
        Settle::Later(due, next) => {
            batch = batch.put(ASYNC_QUEUE, queue_key(due, &next.id), encode(&next));
        }
        Settle::Done(Some((destination, body)), _)
            if matches!(destination.split(':').nth(2), Some("sqs" | "sns" | "events")) =>
        {
            // Sent before the event is removed: a crash in between repeats the record (at least
            // once). A target that refuses it (deleted, storage failing) loses the record, with a
            // warning; retrying would re-run the function, which already ran.
            if let Err(e) = send_record(svc, &destination, &body, trace) {
                tracing::warn!(%destination, error = %e, "destination refused the record; dropped");
            }
        }
        Settle::Done(Some((destination, body)), _) => {
            match destination_event(svc, &destination, &event, &body, trace) {
                Some(dest) => {
                    batch = batch.put(ASYNC_QUEUE, queue_key(svc.now_ms(), &dest.id), encode(&dest));
                }
                None => {
                    tracing::warn!(%destination, "destination is not a Lambda function Nimbus knows; record dropped")
                }
            }
        }
        Settle::Done(None, _) => {}
    }
    svc.kv.commit(batch).map_err(|e| match e {
        storage::CommitError::Storage(e) => Error::Internal(e),
        storage::CommitError::ConditionFailed { .. } => {
            Error::ServiceException("queue commit raced".to_owned())
        }
    })?;
    Ok(())
}

/// Throttled events wait 1 s, doubling per throttle up to 5 minutes; kept apart from attempts
/// by counting throttles in the delay only (Lambda does not count them as retries).
fn throttle_delay(svc: &Inner, event: &AsyncEvent) -> i64 {
    let age = Duration::from_millis(u64::try_from(svc.now_ms() - event.received_ms).unwrap_or(0));
    let wait = svc.config.throttle_backoff.max(age / 2).min(MAX_THROTTLE_BACKOFF);
    i64::try_from(wait.as_millis()).unwrap_or(1000)
}

/// The invocation record Lambda sends to a destination.
fn record(
    now_ms: i64,
    scope: &Scope,
    event: &AsyncEvent,
    resolved: &Resolved,
    condition: &str,
    response: Option<(&Bytes, Option<&str>)>,
) -> Value {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::String(event.payload.clone()));
    let mut response_context = json!({ "statusCode": 200, "executedVersion": resolved.config.version });
    let mut body = json!({
        "version": "1.0",
        "timestamp": types::timefmt::iso_millis(now_ms, "Z"),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": qualified_arn(scope, &event.function_name, &event.qualifier),
            "condition": condition,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": payload,
    });
    if let Some((payload, error)) = response {
        if let Some(e) = error {
            response_context["functionError"] = json!(e);
        }
        body["responseContext"] = response_context;
        body["responsePayload"] = serde_json::from_slice(payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    }
    body
}

/// Why an asynchronous invocation ended in failure, as its dead-letter message says it.
struct Failure {
    /// The HTTP status of the failed invocation: 200 for a function error.
    code: u16,
    message: String,
}

impl Failure {
    fn function_error(payload: &Bytes) -> Failure {
        let doc: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
        let message = doc["errorMessage"]
            .as_str()
            .map_or_else(|| String::from_utf8_lossy(payload).into_owned(), str::to_owned);
        Failure { code: 200, message }
    }

    /// An event the function never ran for (too old, or concurrency 0). Not verified against
    /// AWS: the code is Lambda's throttle status and the message names the condition.
    fn unrun(condition: &str) -> Failure {
        Failure { code: 429, message: condition.to_owned() }
    }
}

/// Sends a failed event's payload to the function's dead-letter queue (SQS or SNS) with the
/// attributes Lambda adds: `RequestID`, `ErrorCode` and the first KB of `ErrorMessage`.
fn dead_letter(
    svc: &Inner,
    target: &str,
    event: &AsyncEvent,
    failure: &Failure,
    trace: Option<TraceHeader>,
) -> Result<(), ::ports::PortError> {
    let text =
        |v: String| ::ports::QueueMessageAttribute { data_type: "String".to_owned(), value: Bytes::from(v) };
    let mut message: String = failure.message.clone();
    if message.len() > 1024 {
        let mut end = 1024;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let attributes = vec![
        ("RequestID".to_owned(), text(event.request_id.clone())),
        (
            "ErrorCode".to_owned(),
            ::ports::QueueMessageAttribute {
                data_type: "Number".to_owned(),
                value: Bytes::from(failure.code.to_string()),
            },
        ),
        ("ErrorMessage".to_owned(), text(message)),
    ];
    let unwired = |what: &str| ::ports::PortError::Unavailable(format!("{what} is not wired"));
    match target.split(':').nth(2) {
        Some("sns") => {
            let topics = svc.topic_publisher.get().ok_or_else(|| unwired("SNS"))?;
            let message = ::ports::TopicMessage {
                message: event.payload.clone(),
                attributes,
                trace,
                ..::ports::TopicMessage::default()
            };
            topics.publish(target, message).map(|_| ())
        }
        _ => {
            let sender = svc.queue_sender.get().ok_or_else(|| unwired("SQS"))?;
            sender.send_message(target, &event.payload, &attributes, None, trace).map(|_| ())
        }
    }
}

/// Sends an invocation record to an SQS queue, an SNS topic or an EventBridge bus. On a bus it
/// is the detail of a `lambda` event whose detail-type says how the invocation ended.
fn send_record(
    svc: &Inner,
    destination: &str,
    body: &Value,
    trace: Option<TraceHeader>,
) -> Result<(), ::ports::PortError> {
    let unwired = |what: &str| ::ports::PortError::Unavailable(format!("{what} is not wired"));
    match destination.split(':').nth(2) {
        Some("sqs") => {
            let sender = svc.queue_sender.get().ok_or_else(|| unwired("SQS"))?;
            sender.send_message(destination, &body.to_string(), &[], None, trace).map(|_| ())
        }
        Some("sns") => {
            let topics = svc.topic_publisher.get().ok_or_else(|| unwired("SNS"))?;
            let message = ::ports::TopicMessage {
                message: body.to_string(),
                trace,
                ..::ports::TopicMessage::default()
            };
            topics.publish(destination, message).map(|_| ())
        }
        _ => {
            let events = svc.event_publisher.get().ok_or_else(|| unwired("EventBridge"))?;
            let outcome =
                if body["requestContext"]["condition"] == "Success" { "Success" } else { "Failure" };
            let function_arn = body["requestContext"]["functionArn"].as_str().unwrap_or_default().to_owned();
            events
                .put_event(::ports::BusEvent {
                    bus_arn: destination.to_owned(),
                    source: "lambda".to_owned(),
                    detail_type: format!("Lambda Function Invocation Result - {outcome}"),
                    detail: body.to_string(),
                    resources: vec![destination.to_owned(), function_arn],
                    trace,
                })
                .map(|_| ())
        }
    }
}

/// A destination that is a Lambda function gets the record as a new asynchronous event.
fn destination_event(
    svc: &Inner,
    arn: &str,
    source: &AsyncEvent,
    body: &Value,
    trace: Option<TraceHeader>,
) -> Option<AsyncEvent> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[2] != "lambda" || parts[5] != "function" {
        return None;
    }
    Some(AsyncEvent {
        v: SCHEMA_VERSION,
        id: uuid::Uuid::new_v4().simple().to_string(),
        account: parts[4].to_owned(),
        region: parts[3].to_owned(),
        function_name: parts[6].to_owned(),
        qualifier: parts.get(7).map_or("$LATEST", |q| q).to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: body.to_string(),
        received_ms: svc.now_ms(),
        attempts: 0,
        trace: trace.map(|t| t.to_string()),
    })
    .filter(|_| !source.id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_due_time() {
        assert!(queue_key(999, "b") < queue_key(1000, "a"));
        assert_eq!(queue_key(-5, "x"), b"0000000000000000/x".to_vec());
    }
}
