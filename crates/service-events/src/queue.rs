//! The durable delivery queue and the scheduler, run by one worker task.
//!
//! Deliveries: PutEvents commits each matched (event, target) pair to `events.deliveries`,
//! keyed by when it is due, before it answers. The worker hands due deliveries to the target
//! (a Lambda asynchronous invoke, which is itself durable once accepted) and only then removes
//! them, so delivery is at least once and survives a kill -9. A target that cannot take the
//! event now is retried with exponential backoff (`retry_base` doubled per attempt, capped at
//! `max_retry_delay`) until its RetryPolicy's MaximumRetryAttempts (default 185) or
//! MaximumEventAgeInSeconds (default 24 h) is exhausted; a target that does not exist or refuses
//! the input is not retried, as on AWS. Without a DLQ (not implemented yet) such events are
//! dropped, as AWS drops them.
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
use ports::PortError;
use storage::{Batch, KeyRange};
use tokio::sync::Notify;
use types::{AccountId, Region, Scope};

use crate::error::Error;
use crate::events::{envelope, fan_out};
use crate::model::{self, DEFAULT_BUS, DELIVERIES, Delivery};
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
            let wait = deliveries.min(schedules);
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
                if now - d.accepted_ms > i64::from(d.max_age_seconds) * 1000 {
                    tracing::warn!(rule = %d.rule_arn, target = %d.target_id, "event older than MaximumEventAgeInSeconds dropped");
                } else {
                    match attempt(svc, &d) {
                        Ok(()) => {}
                        Err(PortError::Unavailable(why)) if d.attempts < d.max_retries => {
                            d.attempts += 1;
                            tracing::debug!(%why, attempts = d.attempts, "delivery will be retried");
                            let due = now + backoff(svc, d.attempts);
                            batch = batch.put(DELIVERIES, model::delivery_key(due, &d.id), model::encode(&d));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, rule = %d.rule_arn, target = %d.target_arn, "delivery failed for good; event dropped");
                        }
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

/// One attempt; only Lambda functions are accepted as targets (see `rules.rs`).
fn attempt(svc: &Inner, d: &Delivery) -> Result<(), PortError> {
    svc.invoker.invoke_async(&d.target_arn, Bytes::from(d.payload.clone()))
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
                    for d in fan_out(&scope, rule, &text, now) {
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
