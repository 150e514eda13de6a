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
//! API destination deliveries are HTTP requests of up to 5 seconds: each runs in a task of its
//! own and commits its outcome, within its destination's rate limit (`apidest.rs`).
//!
//! Schedules: every enabled scheduled rule has a next firing time, computed by
//! [`Schedule::next_after`] from the service's clock; when it passes, the rule's targets get the
//! `Scheduled Event` through the same queue. Firing times are not persisted: after a restart a
//! rule fires at its next time, and firings missed while Nimbus was down are not made up.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ports::{PortError, QueueMessageAttribute, TopicMessage};
use storage::{Batch, KeyRange};
use tokio::sync::Notify;
use types::trace::TraceHeader;
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
/// The most API destination requests under way at once; more wait in the queue.
const MAX_IN_FLIGHT: usize = 256;
/// A rate-limited delivery whose send time is at most this far off waits in its task; a later
/// one moves in the queue to its send time.
const SLOT_WAIT_MS: i64 = 50;

#[derive(Debug, Default)]
pub struct Queue {
    wake: Notify,
    stopped: AtomicBool,
    /// Per scheduled rule (by rule key): its expression and its next firing (Unix ms).
    next_fire: std::sync::Mutex<HashMap<Vec<u8>, (String, i64)>>,
    /// Keys of API destination deliveries whose task has not finished: scans leave them alone.
    in_flight: std::sync::Mutex<HashSet<Vec<u8>>>,
}

impl Queue {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    #[cfg(test)]
    pub fn in_flight_keys(&self) -> &std::sync::Mutex<HashSet<Vec<u8>>> {
        &self.in_flight
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

/// Delivers every due delivery; returns how long to sleep until the next one. In-process
/// targets are called here, in lanes that run side by side (each port call commits on its own,
/// so lanes share the store's group commit); the queue's own bookkeeping for the whole scan is
/// one commit. Deliveries that must keep their order (a FIFO queue's or topic's message group)
/// share a lane. Each API destination delivery runs in a task of its own (an endpoint has up to
/// 5 seconds to answer), which commits its outcome itself: until then its key stays in the
/// queue, skipped by scans, so a crash means another attempt and a finished one is never sent
/// twice.
pub(crate) fn deliver_due(svc: &Arc<Inner>) -> Result<Duration, Error> {
    let now = svc.now_ms();
    let end = std::ops::Bound::Excluded(format!("{:016}/", now + 1).into_bytes());
    let due = svc.kv.scan(DELIVERIES, KeyRange::until(end), BATCH)?;
    let full = due.len() == BATCH;
    let mut progressed = false;
    let mut batch = Batch::new();
    let mut local: Vec<(Vec<u8>, Delivery)> = Vec::new();
    for (key, raw) in due {
        if lock(&svc.queue.in_flight).contains(&key) {
            continue;
        }
        let d = match model::decode::<Delivery>(&raw) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "dropping an unreadable delivery");
                batch = batch.delete(DELIVERIES, key);
                progressed = true;
                continue;
            }
        };
        if now - d.accepted_ms > i64::from(d.max_age_seconds) * 1000 {
            let why = Failure::exhausted(
                "MaximumEventAgeInSeconds",
                "The event is older than the target's MaximumEventAgeInSeconds.",
            );
            batch = give_up(svc, &d, &why, batch.delete(DELIVERIES, key));
        } else if TargetKind::of(&d.target_arn) == Some(TargetKind::ApiDestination) {
            match to_api_destination(svc, key.clone(), d, now) {
                Dispatched::Sent => {}
                Dispatched::Held => continue,
                Dispatched::Later(d, at) => {
                    batch = batch.delete(DELIVERIES, key).put(
                        DELIVERIES,
                        model::delivery_key(at, &d.id),
                        model::encode(&d),
                    );
                }
                Dispatched::Gone(d, why) => batch = give_up(svc, &d, &why, batch.delete(DELIVERIES, key)),
            }
        } else {
            local.push((key, d));
        }
        progressed = true;
    }
    for settled in settle_in_lanes(svc, local, now) {
        for op in settled.into_ops() {
            batch.push(op);
        }
    }
    if !batch.is_empty() {
        svc.kv.commit(batch)?;
    }
    if full && progressed {
        return Ok(Duration::ZERO);
    }
    // The next delivery not already under way says how long to sleep; finished HTTP tasks wake
    // the worker themselves.
    let in_flight = lock(&svc.queue.in_flight).clone();
    let next = svc.kv.scan(DELIVERIES, KeyRange::all(), in_flight.len() + 1)?;
    let wait = next
        .iter()
        .find(|(k, _)| !in_flight.contains(k))
        .and_then(|(k, _)| std::str::from_utf8(&k[..16.min(k.len())]).ok()?.parse::<i64>().ok())
        .map_or(MAX_SLEEP, |due| Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
    Ok(wait.clamp(Duration::from_millis(5), MAX_SLEEP))
}

/// How many lanes of in-process deliveries run at once.
const LANES: usize = 8;

/// Attempts `deliveries` in up to [`LANES`] threads; returns each lane's bookkeeping.
fn settle_in_lanes(svc: &Arc<Inner>, deliveries: Vec<(Vec<u8>, Delivery)>, now: i64) -> Vec<Batch> {
    let mut lanes: Vec<Vec<(Vec<u8>, Delivery)>> = Vec::new();
    let mut ordered: HashMap<String, usize> = HashMap::new();
    let spread = deliveries.len().clamp(1, LANES);
    for (i, (key, d)) in deliveries.into_iter().enumerate() {
        let lane = match order_key(&d) {
            Some(k) => *ordered.entry(k).or_insert(i % spread),
            None => i % spread,
        };
        if lanes.len() <= lane {
            lanes.resize_with(lane + 1, Vec::new);
        }
        lanes[lane].push((key, d));
    }
    let run = |lane: Vec<(Vec<u8>, Delivery)>| {
        lane.into_iter().fold(Batch::new(), |batch, (key, d)| settle(svc, key, d, now, batch))
    };
    if lanes.len() <= 1 {
        return lanes.into_iter().map(run).collect();
    }
    // Port calls may spawn tasks or wake the runtime's timers: each lane runs inside it.
    let runtime = tokio::runtime::Handle::try_current().ok();
    std::thread::scope(|scope| {
        let running: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                let runtime = runtime.clone();
                scope.spawn(move || {
                    let _inside = runtime.as_ref().map(tokio::runtime::Handle::enter);
                    run(lane)
                })
            })
            .collect();
        running.into_iter().filter_map(|lane| lane.join().ok()).collect()
    })
}

/// The lane key of a delivery whose order counts: a FIFO queue's or topic's message group.
fn order_key(d: &Delivery) -> Option<String> {
    let fifo = matches!(TargetKind::of(&d.target_arn), Some(TargetKind::Queue | TargetKind::Topic))
        && d.target_arn.ends_with(".fifo");
    fifo.then(|| format!("{}\u{1}{}", d.target_arn, d.group_id.as_deref().unwrap_or_default()))
}

/// One attempt at an in-process target, and what the queue must record about it.
fn settle(svc: &Inner, key: Vec<u8>, mut d: Delivery, now: i64, batch: Batch) -> Batch {
    let mut batch = batch.delete(DELIVERIES, key);
    match attempt(svc, &d, now) {
        Ok(more) => {
            for next in more {
                batch = batch.put(DELIVERIES, model::delivery_key(now, &next.id), model::encode(&next));
            }
            batch
        }
        Err(PortError::Unavailable(why)) if d.attempts < d.max_retries => {
            d.attempts += 1;
            tracing::debug!(%why, attempts = d.attempts, "delivery will be retried");
            let due = now + backoff(svc, d.attempts);
            batch.put(DELIVERIES, model::delivery_key(due, &d.id), model::encode(&d))
        }
        Err(PortError::Unavailable(why)) => {
            give_up(svc, &d, &Failure::exhausted("MaximumRetryAttempts", &why), batch)
        }
        Err(e) => give_up(svc, &d, &Failure::permanent(&e), batch),
    }
}

/// What became of a due API destination delivery.
enum Dispatched {
    /// A task is sending it.
    Sent,
    /// Left where it is for a later scan (too many requests under way, or no runtime).
    Held,
    /// Its destination's rate limit gave it a later send time: it moves there.
    Later(Delivery, i64),
    /// Its destination is gone.
    Gone(Delivery, Failure),
}

/// Starts one API destination delivery, within its destination's rate limit.
fn to_api_destination(svc: &Arc<Inner>, key: Vec<u8>, mut d: Delivery, now: i64) -> Dispatched {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("API destination deliveries need the async runtime; held");
        return Dispatched::Held;
    };
    if lock(&svc.queue.in_flight).len() >= MAX_IN_FLIGHT {
        return Dispatched::Held;
    }
    let send_at = match d.slot_ms.take() {
        Some(slot) => slot,
        None => match crate::apidest::load_destination(svc, &d.target_arn) {
            Some(dest) => svc.api_destinations.limiter.reserve(&d.target_arn, dest.rate_per_second, now),
            None => {
                let why = Failure {
                    code: "NO_RESOURCE",
                    message: format!("API destination {} does not exist.", d.target_arn),
                    exhausted: None,
                };
                return Dispatched::Gone(d, why);
            }
        },
    };
    if send_at > now + SLOT_WAIT_MS {
        d.slot_ms = Some(send_at);
        return Dispatched::Later(d, send_at);
    }
    lock(&svc.queue.in_flight).insert(key.clone());
    let svc = svc.clone();
    let wait = Duration::from_millis(u64::try_from(send_at - now).unwrap_or(0));
    runtime.spawn(async move {
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let outcome = crate::apidest::deliver(&svc, &d).await;
        let batch = settle_http(&svc, Batch::new().delete(DELIVERIES, key.clone()), d, outcome);
        if let Err(e) = svc.kv.commit(batch) {
            tracing::error!(error = %e, "API destination delivery outcome not saved; it will be attempted again");
        }
        lock(&svc.queue.in_flight).remove(&key);
        svc.queue.wake();
    });
    Dispatched::Sent
}

/// What an API destination attempt's outcome adds to the batch that removes it from the queue.
fn settle_http(svc: &Inner, batch: Batch, mut d: Delivery, outcome: crate::apidest::Outcome) -> Batch {
    use crate::apidest::Outcome;
    match outcome {
        Outcome::Delivered => batch,
        Outcome::Retry { code, message, after_ms } if d.attempts < d.max_retries => {
            d.attempts += 1;
            tracing::debug!(%message, code, attempts = d.attempts, target = %d.target_arn, "API destination delivery will be retried");
            let due = svc.now_ms() + backoff(svc, d.attempts).max(after_ms.unwrap_or(0));
            batch.put(DELIVERIES, model::delivery_key(due, &d.id), model::encode(&d))
        }
        Outcome::Retry { code, message, .. } => {
            let why = Failure { code, message, exhausted: Some("MaximumRetryAttempts") };
            give_up(svc, &d, &why, batch)
        }
        Outcome::Fail { code, message } => {
            give_up(svc, &d, &Failure { code, message, exhausted: None }, batch)
        }
    }
}

/// One attempt; returns the deliveries it causes in turn (a bus target routes the event on).
fn attempt(svc: &Inner, d: &Delivery, now: i64) -> Result<Vec<Delivery>, PortError> {
    let trace = d.trace.as_deref().and_then(|t| TraceHeader::parse(t).ok());
    match TargetKind::of(&d.target_arn) {
        Some(TargetKind::Function) => svc
            .invoker
            .invoke_async(&d.target_arn, Bytes::from(d.payload.clone()), trace)
            .map(|()| Vec::new()),
        Some(TargetKind::Queue) => {
            let sender =
                svc.queues.get().ok_or_else(|| PortError::Unavailable("SQS is not wired".to_owned()))?;
            let sent = sender.send_message(&d.target_arn, &d.payload, &[], d.group_id.as_deref(), trace);
            sent.map(|_| Vec::new())
        }
        Some(TargetKind::Topic) => {
            let topics =
                svc.topics.get().ok_or_else(|| PortError::Unavailable("SNS is not wired".to_owned()))?;
            let message = TopicMessage {
                message: d.payload.clone(),
                group_id: d.group_id.clone(),
                trace,
                ..TopicMessage::default()
            };
            topics.publish(&d.target_arn, message).map(|_| Vec::new())
        }
        Some(TargetKind::Bus) => to_bus(svc, d, now),
        // Sent by their own tasks (`to_api_destination`), never from here.
        Some(TargetKind::ApiDestination) => Err(PortError::Unavailable("an API destination".to_owned())),
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
    let mut next = crate::events::route(svc, &scope, &bus, &d.payload, now, &d.via, None)
        .map_err(|_| PortError::Invalid("The event is not a JSON object.".to_owned()))?;
    for n in &mut next {
        n.trace.clone_from(&d.trace);
    }
    Ok(next)
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
        Some(sender) => sender.send_message(dlq, event, &attributes, None, None).map(|_| ()),
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
