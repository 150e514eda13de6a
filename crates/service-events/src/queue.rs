//! The durable delivery queue and the scheduler, run by one worker task.
//!
//! Deliveries: PutEvents commits each matched (event, target) pair to `events.deliveries`,
//! keyed by when it is due, before it answers. The worker hands due deliveries to the target
//! (a Lambda asynchronous invoke, which is itself durable once accepted) and only then removes
//! them, so delivery is at least once and survives a kill -9. A target that cannot take the
//! event now is retried with exponential backoff (`retry_base` doubled per attempt, capped at
//! `max_retry_delay`) until its RetryPolicy's MaximumRetryAttempts (default 185) or
//! MaximumEventAgeInSeconds (default 24 h) is exhausted; a target that does not exist or refuses
//! the input is not retried, as on AWS. Such events go to the target's dead-letter queue with
//! the attributes EventBridge adds, or are dropped without one, as AWS drops them.
//!
//! Schedules: every enabled scheduled rule has a next firing time, computed by
//! [`Schedule::next_after`] from the service's clock; when it passes, the rule's targets get the
//! `Scheduled Event` through the same queue. Firing times are not persisted: after a restart a
//! rule fires at its next time, and firings missed while Nimbus was down are not made up.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ports::{PortError, QueueMessageAttribute, TopicMessage};
use storage::{Batch, KeyRange};
use tokio::sync::Notify;
use types::{AccountId, Region, Scope};

use crate::error::Error;
use crate::events::{envelope, fan_out};
use crate::model::{self, DEFAULT_BUS, DELIVERIES, Delivery, TargetKind};
use crate::schedule::Schedule;
use crate::{Inner, iso_seconds, lock};

/// How many due deliveries the worker takes per scan.
const BATCH: usize = 64;
/// The longest the worker sleeps without looking (schedules and clocks can move).
const MAX_SLEEP: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Queue {
    wake: Notify,
    stopped: AtomicBool,
    /// Per scheduled rule (by rule key): its expression and its next firing (Unix ms).
    next_fire: std::sync::Mutex<HashMap<Vec<u8>, (String, i64)>>,
}

impl Queue {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Spawns the worker loop.
pub fn start(svc: Arc<Inner>) {
    tokio::spawn(async move {
        while !svc.queue.stopped.load(Ordering::Acquire) {
            let deliveries = deliver_due(&svc).unwrap_or_else(|e| {
                tracing::error!(error = %e, "events delivery scan failed");
                MAX_SLEEP
            });
            let schedules = fire_schedules(&svc).unwrap_or_else(|e| {
                tracing::error!(error = %e, "events scheduler failed");
                MAX_SLEEP
            });
            let replays = match crate::archives::run_replays(&svc) {
                Ok(true) => Duration::ZERO,
                Ok(false) => MAX_SLEEP,
                Err(e) => {
                    tracing::error!(error = %e, "events replay failed");
                    MAX_SLEEP
                }
            };
            if let Err(e) = crate::archives::purge(&svc) {
                tracing::error!(error = %e, "events archive purge failed");
            }
            let wait = deliveries.min(schedules).min(replays);
            let _ = tokio::time::timeout(wait, svc.queue.wake.notified()).await;
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

/// Delivers every due delivery; returns how long to sleep until the next one.
pub(crate) fn deliver_due(svc: &Inner) -> Result<Duration, Error> {
    let now = svc.now_ms();
    let end = std::ops::Bound::Excluded(format!("{:016}/", now + 1).into_bytes());
    let due = svc.kv.scan(DELIVERIES, KeyRange::until(end), BATCH)?;
    let full = due.len() == BATCH;
    for (key, raw) in due {
        let mut batch = Batch::new().delete(DELIVERIES, key);
        match model::decode::<Delivery>(&raw) {
            Err(e) => tracing::error!(error = %e, "dropping an unreadable delivery"),
            Ok(mut d) => {
                let age_ms = now - d.accepted_ms;
                if age_ms > i64::from(d.max_age_seconds) * 1000 {
                    let why = Failure::exhausted(
                        "MaximumEventAgeInSeconds",
                        "The event is older than the target's MaximumEventAgeInSeconds.",
                    );
                    batch = give_up(svc, &d, &why, batch);
                } else {
                    match attempt(svc, &d, now) {
                        Ok(more) => {
                            for next in more {
                                batch = batch.put(
                                    DELIVERIES,
                                    model::delivery_key(now, &next.id),
                                    model::encode(&next),
                                );
                            }
                        }
                        Err(PortError::Unavailable(why)) if d.attempts < d.max_retries => {
                            d.attempts += 1;
                            tracing::debug!(%why, attempts = d.attempts, "delivery will be retried");
                            let due = now + backoff(svc, d.attempts);
                            batch = batch.put(DELIVERIES, model::delivery_key(due, &d.id), model::encode(&d));
                        }
                        Err(PortError::Unavailable(why)) => {
                            let why = Failure::exhausted("MaximumRetryAttempts", &why);
                            batch = give_up(svc, &d, &why, batch);
                        }
                        Err(e) => batch = give_up(svc, &d, &Failure::permanent(&e), batch),
                    }
                }
            }
        }
        svc.kv.commit(batch)?;
    }
    if full {
        return Ok(Duration::ZERO);
    }
    let next = svc.kv.scan(DELIVERIES, KeyRange::all(), 1)?;
    let wait = next
        .first()
        .and_then(|(k, _)| std::str::from_utf8(&k[..16.min(k.len())]).ok()?.parse::<i64>().ok())
        .map_or(MAX_SLEEP, |due| Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
    Ok(wait.clamp(Duration::from_millis(5), MAX_SLEEP))
}

/// One attempt; returns the deliveries it causes in turn (a bus target routes the event on).
fn attempt(svc: &Inner, d: &Delivery, now: i64) -> Result<Vec<Delivery>, PortError> {
    match TargetKind::of(&d.target_arn) {
        Some(TargetKind::Function) => {
            svc.invoker.invoke_async(&d.target_arn, Bytes::from(d.payload.clone())).map(|()| Vec::new())
        }
        Some(TargetKind::Queue) => {
            let sender =
                svc.queues.get().ok_or_else(|| PortError::Unavailable("SQS is not wired".to_owned()))?;
            sender.send_message(&d.target_arn, &d.payload, &[], d.group_id.as_deref()).map(|_| Vec::new())
        }
        Some(TargetKind::Topic) => {
            let topics =
                svc.topics.get().ok_or_else(|| PortError::Unavailable("SNS is not wired".to_owned()))?;
            let message = TopicMessage {
                message: d.payload.clone(),
                group_id: d.group_id.clone(),
                ..TopicMessage::default()
            };
            topics.publish(&d.target_arn, message).map(|_| Vec::new())
        }
        Some(TargetKind::Bus) => to_bus(svc, d, now),
        None => Err(PortError::Invalid(format!("{} is not a target Nimbus delivers to", d.target_arn))),
    }
}

/// Puts the event on the bus the target names, which routes it to that bus's rules. A bus the
/// event has already passed through ends the chain, so a cycle of buses cannot loop forever.
fn to_bus(svc: &Inner, d: &Delivery, now: i64) -> Result<Vec<Delivery>, PortError> {
    let not_found = || PortError::NotFound(format!("Event bus {} does not exist.", d.target_arn));
    let (scope, bus) = model::parse_bus_arn(&d.target_arn).ok_or_else(not_found)?;
    if !svc.bus_exists(&scope, &bus).map_err(|e| PortError::Unavailable(e.to_string()))? {
        return Err(not_found());
    }
    if d.via.contains(&d.target_arn) {
        return Err(PortError::Invalid("The event has already passed through this event bus.".to_owned()));
    }
    // Another account's bus takes the event only if its policy (PutPermission) lets the
    // rule's account put events on it.
    let allowed = crate::buses::allows_put_events(svc, &scope, &bus, &d.account)
        .map_err(|e| PortError::Unavailable(e.to_string()))?;
    if !allowed {
        return Err(PortError::Invalid(format!(
            "Account {} is not authorized to put events on event bus {}.",
            d.account, d.target_arn
        )));
    }
    crate::events::route(svc, &scope, &bus, &d.payload, now, &d.via, None)
        .map_err(|_| PortError::Invalid("The event is not a JSON object.".to_owned()))
}

/// Why a delivery ended without reaching its target, as a DLQ message's attributes say it.
struct Failure {
    code: &'static str,
    message: String,
    exhausted: Option<&'static str>,
}

impl Failure {
    fn exhausted(condition: &'static str, message: &str) -> Failure {
        Failure { code: "THROTTLING", message: message.to_owned(), exhausted: Some(condition) }
    }

    fn permanent(e: &PortError) -> Failure {
        let code = match e {
            PortError::NotFound(_) => "NO_RESOURCE",
            PortError::Invalid(_) => "SDK_CLIENT_ERROR",
            PortError::Unavailable(_) => "THROTTLING",
        };
        let message = e.to_string();
        Failure { code, message, exhausted: None }
    }
}

/// Ends a delivery that cannot succeed: to the target's dead-letter queue with the attributes
/// EventBridge adds, or dropped (with a warning) when it has none or the DLQ refuses it.
fn give_up(svc: &Inner, d: &Delivery, why: &Failure, batch: Batch) -> Batch {
    let Some(dlq) = d.dlq_arn.as_deref() else {
        tracing::warn!(rule = %d.rule_arn, target = %d.target_arn, code = why.code, error = %why.message, "delivery failed for good; event dropped");
        return batch;
    };
    let text =
        |v: &str| QueueMessageAttribute { data_type: "String".to_owned(), value: Bytes::from(v.to_owned()) };
    let mut attributes = vec![
        ("RULE_ARN".to_owned(), text(&d.rule_arn)),
        ("TARGET_ARN".to_owned(), text(&d.target_arn)),
        ("ERROR_CODE".to_owned(), text(why.code)),
        ("ERROR_MESSAGE".to_owned(), text(&why.message)),
    ];
    if let Some(condition) = why.exhausted {
        attributes.push(("EXHAUSTED_RETRY_CONDITION".to_owned(), text(condition)));
    }
    attributes.push((
        "RETRY_ATTEMPTS".to_owned(),
        QueueMessageAttribute { data_type: "Number".to_owned(), value: Bytes::from(d.attempts.to_string()) },
    ));
    let event = d.event.as_deref().unwrap_or(&d.payload);
    let sent = match svc.queues.get() {
        Some(sender) => sender.send_message(dlq, event, &attributes, None).map(|_| ()),
        None => Err(PortError::Unavailable("SQS is not wired".to_owned())),
    };
    if let Err(e) = sent {
        tracing::warn!(rule = %d.rule_arn, target = %d.target_arn, dlq, error = %e, "event could not be sent to its dead-letter queue; dropped");
    }
    batch
}

/// Fires every scheduled rule whose time has come; returns how long until the next firing.
pub(crate) fn fire_schedules(svc: &Inner) -> Result<Duration, Error> {
    let now = svc.now_ms();
    let mut batch = Batch::new();
    let mut earliest = i64::MAX;
    {
        let buses = lock(&svc.buses);
        let mut next_fire = lock(&svc.queue.next_fire);
        let mut seen = Vec::new();
        for (bus_key, bus) in buses.iter() {
            let Some(scope) = scope_of(bus_key) else { continue };
            for rule in bus.rules.values() {
                let Some(expr) = rule.schedule_expression.as_deref().filter(|_| rule.enabled()) else {
                    continue;
                };
                if rule.bus != DEFAULT_BUS {
                    continue;
                }
                let Some(schedule) = Schedule::parse(expr) else { continue };
                let key = model::rule_key(&scope, &rule.bus, &rule.name);
                seen.push(key.clone());
                let entry = next_fire.entry(key).or_insert_with(|| (String::new(), 0));
                if entry.0 != expr {
                    *entry = (expr.to_owned(), schedule.next_after(now, rule.created_ms).unwrap_or(i64::MAX));
                }
                if entry.1 <= now {
                    let text = envelope(
                        &uuid::Uuid::new_v4().to_string(),
                        "Scheduled Event",
                        "aws.events",
                        &scope,
                        &iso_seconds(entry.1),
                        &[model::rule_arn(&scope, &rule.bus, &rule.name)],
                        "{}",
                    );
                    for d in fan_out(&scope, rule, &text, now, &[]) {
                        batch = batch.put(DELIVERIES, model::delivery_key(now, &d.id), model::encode(&d));
                    }
                    entry.1 = schedule.next_after(now, rule.created_ms).unwrap_or(i64::MAX);
                }
                earliest = earliest.min(entry.1);
            }
        }
        // Rules deleted, disabled or unscheduled lose their firing time.
        next_fire.retain(|k, _| seen.contains(k));
    }
    if !batch.is_empty() {
        svc.kv.commit(batch)?;
        svc.queue.wake();
    }
    let wait = Duration::from_millis(u64::try_from(earliest.saturating_sub(now)).unwrap_or(0));
    Ok(wait.clamp(Duration::from_millis(5), MAX_SLEEP))
}

/// The scope of a bus key `{account}/{region}/{bus}`.
fn scope_of(bus_key: &[u8]) -> Option<Scope> {
    let text = std::str::from_utf8(bus_key).ok()?;
    let mut parts = text.splitn(3, '/');
    let account = AccountId::parse(parts.next()?)?;
    let region = Region::parse(parts.next()?)?;
    Some(Scope { account, region })
}
