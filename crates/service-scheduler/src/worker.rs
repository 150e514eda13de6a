//! The worker: fires schedules whose time has come and hands fired invocations to their targets.
//!
//! Firing takes a due entry from `scheduler.due` and, in one batch, records the invocation in
//! `scheduler.deliveries`, stores the schedule's following firing (and its due entry) or its
//! completion (a one-time schedule, or a recurring one past its EndDate; ActionAfterCompletion
//! `DELETE` removes it), and drops the entry. Delivery hands each invocation to its target and
//! only then removes it, so an invocation is made at least once, across kill -9. A target that
//! cannot take it now is retried with exponential backoff until the RetryPolicy runs out; a
//! target that does not exist or refuses the input is not retried. Either way the invocation
//! then goes to the dead-letter queue, with attributes saying why, or is dropped without one.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use jiff::tz::TimeZone;
use ports::{BusEvent, PortError, QueueMessageAttribute, TopicMessage};
use storage::{Batch, KeyRange};

use crate::error::Error;
use crate::expression::Expression;
use crate::model::{
    self, DEFAULT_MAX_AGE_SECONDS, DEFAULT_MAX_RETRIES, DELIVERIES, DUE, Delivery, SCHEDULES, ScheduleRecord,
};
use crate::schedules::{TargetKind, following_fire, removal};
use crate::{Inner, lock};

/// How many due entries or invocations one scan takes.
const BATCH: usize = 64;
/// The longest the worker sleeps without looking (the clock may jump).
const MAX_SLEEP: Duration = Duration::from_secs(1);

pub fn start(svc: Arc<Inner>) {
    tokio::spawn(async move {
        while !svc.stopped.load(Ordering::Acquire) {
            let fired = fire_due(&svc).unwrap_or_else(|e| {
                tracing::error!(error = %e, "scheduler firing failed");
                MAX_SLEEP
            });
            let delivered = match deliver_due(&svc) {
                Ok((_, wait)) => wait,
                Err(e) => {
                    tracing::error!(error = %e, "scheduler delivery failed");
                    MAX_SLEEP
                }
            };
            let _ = tokio::time::timeout(fired.min(delivered), svc.wake.notified()).await;
        }
    });
}

/// How long until the first key of `table` (keys start with a 16-digit due time), at most
/// [`MAX_SLEEP`].
fn until_next(svc: &Inner, table: &str, now: i64) -> Result<Duration, Error> {
    let next = svc.kv.scan(table, KeyRange::all(), 1)?;
    let wait = next
        .first()
        .and_then(|(k, _)| std::str::from_utf8(k.get(..16)?).ok()?.parse::<i64>().ok())
        .map_or(MAX_SLEEP, |due| Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
    Ok(wait.clamp(Duration::from_millis(5), MAX_SLEEP))
}

/// Fires every schedule whose due time has passed; returns how long until the next one.
pub(crate) fn fire_due(svc: &Inner) -> Result<Duration, Error> {
    let now = svc.now_ms();
    let end = std::ops::Bound::Excluded(format!("{:016}|", now + 1).into_bytes());
    let due = svc.kv.scan(DUE, KeyRange::until(end), BATCH)?;
    let full = due.len() == BATCH;
    let mut fired = false;
    for (key, _) in due {
        let _writes = lock(&svc.writes);
        let mut batch = Batch::new().delete(DUE, key.clone());
        if let Some((due_ms, schedule_key)) = model::split_due_key(&key)
            && let Some(raw) = svc.kv.get(SCHEDULES, schedule_key)?
        {
            match model::decode::<ScheduleRecord>(&raw) {
                Ok(record) if record.enabled && record.next.is_some_and(|n| n.due_ms == due_ms) => {
                    batch = fire(schedule_key, record, now, batch);
                    fired = true;
                }
                Ok(_) => {} // a stale entry: the schedule changed since
                Err(e) => tracing::error!(error = %e, "dropping the due entry of an unreadable schedule"),
            }
        }
        svc.kv.commit(batch)?;
    }
    if fired {
        svc.wake.notify_one();
    }
    if full {
        return Ok(Duration::ZERO);
    }
    until_next(svc, DUE, now)
}

/// Adds one firing of `record` to `batch`: the invocation, and the schedule's following firing
/// or its completion.
fn fire(schedule_key: &[u8], mut record: ScheduleRecord, now: i64, batch: Batch) -> Batch {
    let Some((scope, _, _)) = model::split_schedule_key(schedule_key) else { return batch };
    let Some(next) = record.next else { return batch };
    let id = uuid::Uuid::new_v4().to_string();
    let delivery = Delivery {
        v: model::schema(),
        id: id.clone(),
        schedule_arn: record.arn(&scope),
        target: record.target.clone(),
        scheduled_ms: next.nominal_ms,
        fired_ms: now,
        attempts: 0,
    };
    tracing::debug!(schedule = %delivery.schedule_arn, "schedule fired");
    let mut batch = batch.put(DELIVERIES, model::delivery_key(now, &id), model::encode(&delivery));
    let following = match (Expression::parse(&record.expression), TimeZone::get(&record.timezone)) {
        (Some(expression), Ok(tz)) => following_fire(&record, &expression, &tz, next.nominal_ms, now),
        _ => None,
    };
    record.next = following;
    match following {
        Some(n) => {
            batch = batch.put(DUE, model::due_key(n.due_ms, schedule_key), Vec::new());
            batch.put(SCHEDULES, schedule_key.to_vec(), model::encode(&record))
        }
        None if record.action_after_completion == "DELETE" => {
            // `next` is already cleared, so this only deletes the record (the due entry went).
            removal(&scope, &record, batch)
        }
        None => batch.put(SCHEDULES, schedule_key.to_vec(), model::encode(&record)),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// The wait before attempt `attempts + 1`.
fn backoff(svc: &Inner, attempts: u32) -> i64 {
    let factor = 1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    millis(svc.config.retry_base.saturating_mul(factor).min(svc.config.max_retry_delay))
}

/// Hands every due invocation to its target; returns how many were attempted and how long until
/// the next one.
pub(crate) fn deliver_due(svc: &Inner) -> Result<(usize, Duration), Error> {
    let now = svc.now_ms();
    let end = std::ops::Bound::Excluded(format!("{:016}/", now + 1).into_bytes());
    let due = svc.kv.scan(DELIVERIES, KeyRange::until(end), BATCH)?;
    let full = due.len() == BATCH;
    let attempted = due.len();
    for (key, raw) in due {
        let mut batch = Batch::new().delete(DELIVERIES, key);
        match model::decode::<Delivery>(&raw) {
            Err(e) => tracing::error!(error = %e, "dropping an unreadable invocation"),
            Ok(mut d) => {
                let policy = d.target.retry_policy.clone().unwrap_or_default();
                let max_age_ms =
                    policy.maximum_event_age_in_seconds.unwrap_or(DEFAULT_MAX_AGE_SECONDS) * 1000;
                let max_retries =
                    u32::try_from(policy.maximum_retry_attempts.unwrap_or(DEFAULT_MAX_RETRIES)).unwrap_or(0);
                if now - d.fired_ms > max_age_ms {
                    let why = Failure::exhausted(
                        "MaximumEventAgeInSeconds",
                        "The invocation is older than the RetryPolicy's MaximumEventAgeInSeconds.",
                    );
                    give_up(svc, &d, &why);
                } else {
                    match attempt(svc, &d) {
                        Ok(()) => {}
                        Err(PortError::Unavailable(why)) if d.attempts < max_retries => {
                            d.attempts += 1;
                            tracing::debug!(%why, attempts = d.attempts, "invocation will be retried");
                            let at = now + backoff(svc, d.attempts);
                            batch = batch.put(DELIVERIES, model::delivery_key(at, &d.id), model::encode(&d));
                        }
                        Err(PortError::Unavailable(why)) => {
                            give_up(svc, &d, &Failure::exhausted("MaximumRetryAttempts", &why));
                        }
                        Err(e) => give_up(svc, &d, &Failure::permanent(&e)),
                    }
                }
            }
        }
        svc.kv.commit(batch)?;
    }
    let wait = if full { Duration::ZERO } else { until_next(svc, DELIVERIES, now)? };
    Ok((attempted, wait))
}

/// What the target receives: the Input (or `{}`), with Scheduler's context attributes filled.
fn payload(d: &Delivery) -> String {
    let input = d.target.input.as_deref().unwrap_or("{}");
    input
        .replace("<aws.scheduler.schedule-arn>", &d.schedule_arn)
        .replace("<aws.scheduler.scheduled-time>", &types::timefmt::iso_seconds(d.scheduled_ms))
        .replace("<aws.scheduler.execution-id>", &d.id)
        .replace("<aws.scheduler.attempt-number>", &(d.attempts + 1).to_string())
}

fn unwired(what: &str) -> PortError {
    PortError::Unavailable(format!("{what} is not wired"))
}

/// One attempt to hand `d` to its target.
fn attempt(svc: &Inner, d: &Delivery) -> Result<(), PortError> {
    let body = payload(d);
    let arn = &d.target.arn;
    let group_id = d.target.sqs_parameters.as_ref().and_then(|p| p.message_group_id.as_deref());
    match TargetKind::of(arn) {
        Some(TargetKind::Function) => {
            svc.invoker.get().ok_or_else(|| unwired("Lambda"))?.invoke_async(arn, Bytes::from(body), None)
        }
        Some(TargetKind::Queue) => svc
            .queues
            .get()
            .ok_or_else(|| unwired("SQS"))?
            .send_message(arn, &body, &[], group_id, None)
            .map(|_| ()),
        Some(TargetKind::Topic) => {
            let message = TopicMessage {
                message: body,
                group_id: group_id.map(str::to_owned),
                ..TopicMessage::default()
            };
            svc.topics.get().ok_or_else(|| unwired("SNS"))?.publish(arn, message).map(|_| ())
        }
        Some(TargetKind::Bus) => {
            let params = d.target.event_bridge_parameters.clone().unwrap_or_default();
            let event = BusEvent {
                bus_arn: arn.clone(),
                source: params.source,
                detail_type: params.detail_type,
                detail: body,
                resources: vec![d.schedule_arn.clone()],
                trace: None,
            };
            svc.buses.get().ok_or_else(|| unwired("EventBridge"))?.put_event(event).map(|_| ())
        }
        None => Err(PortError::Invalid(format!("{arn} is not a target Nimbus invokes"))),
    }
}

/// Why an invocation ended without reaching its target, as the dead-letter message says it.
struct Failure {
    code: &'static str,
    message: String,
    exhausted: Option<&'static str>,
}

impl Failure {
    fn exhausted(condition: &'static str, message: &str) -> Failure {
        Failure { code: "ThrottlingException", message: message.to_owned(), exhausted: Some(condition) }
    }

    fn permanent(e: &PortError) -> Failure {
        let (code, message) = match e {
            PortError::NotFound(m) => ("ResourceNotFoundException", m),
            PortError::Invalid(m) => ("ValidationException", m),
            PortError::Unavailable(m) => ("ThrottlingException", m),
        };
        Failure { code, message: message.clone(), exhausted: None }
    }
}

/// Sends a failed invocation to the schedule's dead-letter queue, or drops it (with a warning)
/// when there is none or the queue refuses it.
fn give_up(svc: &Inner, d: &Delivery, why: &Failure) {
    let Some(dlq) = d.target.dead_letter_config.as_ref().and_then(|c| c.arn.as_deref()) else {
        tracing::warn!(schedule = %d.schedule_arn, target = %d.target.arn, code = why.code, error = %why.message, "invocation failed for good; dropped");
        return;
    };
    let text =
        |v: &str| QueueMessageAttribute { data_type: "String".to_owned(), value: Bytes::from(v.to_owned()) };
    let mut attributes =
        vec![("ERROR_CODE".to_owned(), text(why.code)), ("ERROR_MESSAGE".to_owned(), text(&why.message))];
    if let Some(condition) = why.exhausted {
        attributes.push(("EXHAUSTED_RETRY_CONDITION".to_owned(), text(condition)));
    }
    attributes.push((
        "RETRY_ATTEMPTS".to_owned(),
        QueueMessageAttribute { data_type: "Number".to_owned(), value: Bytes::from(d.attempts.to_string()) },
    ));
    attributes.push(("SCHEDULE_ARN".to_owned(), text(&d.schedule_arn)));
    attributes.push(("TARGET_ARN".to_owned(), text(&d.target.arn)));
    let sent = match svc.queues.get() {
        Some(sender) => sender.send_message(dlq, &payload(d), &attributes, None, None).map(|_| ()),
        None => Err(unwired("SQS")),
    };
    if let Err(e) = sent {
        tracing::warn!(schedule = %d.schedule_arn, dlq, error = %e, "invocation could not be sent to its dead-letter queue; dropped");
    }
}
