//! PutEvents and TestEventPattern. PutEvents validates each entry (AWS's per-entry ErrorCode and
//! ErrorMessage), builds the envelope targets receive, matches it against its bus's rules in one
//! pass of the bus's matcher, and commits every matched (event, target) delivery in one batch
//! before it answers: an acknowledged event is never lost.

use event_pattern::Pattern;
use ports::{ResourceKind, Unit};
use protocol::{RequestContext, Response};
use serde_json::{Value, json};
use storage::Batch;
use types::Scope;

use crate::error::Error;
use crate::input::{Matched, render};
use crate::model::{self, DELIVERIES, Delivery, RuleRecord, SCHEMA_VERSION, TargetKind};
use crate::operation::{EventEntry, bus_name};
use crate::{Inner, iso_seconds, lock, ok};

/// EventBridge's defaults when a target has no RetryPolicy.
const DEFAULT_RETRIES: u32 = 185;
const DEFAULT_MAX_AGE_SECONDS: u32 = 86_400;

/// An entry's size as AWS counts it: 14 bytes for a Time, plus the UTF-8 lengths of Source,
/// DetailType, Detail and every resource.
/// EventBridge bills a published event per started 64 KB of it.
const CHUNK: usize = 64 * 1024;

fn entry_size(e: &EventEntry) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    usize::from(e.time.is_some()) * 14
        + text(&e.source)
        + text(&e.detail_type)
        + text(&e.detail)
        + e.resources.iter().flatten().map(String::len).sum::<usize>()
}

/// The envelope in AWS's member order: version, id, detail-type, source, account, time,
/// region, resources, detail. `detail` is the client's JSON object text, as given.
pub fn envelope(
    id: &str,
    detail_type: &str,
    source: &str,
    scope: &Scope,
    time: &str,
    resources: &[String],
    detail: &str,
) -> String {
    let s = |v: &str| Value::String(v.to_owned()).to_string();
    format!(
        r#"{{"version":"0","id":{},"detail-type":{},"source":{},"account":{},"time":{},"region":{},"resources":{},"detail":{}}}"#,
        s(id),
        s(detail_type),
        s(source),
        s(scope.account.as_str()),
        s(time),
        s(scope.region.as_str()),
        json!(resources),
        detail.trim()
    )
}

type EntryError = (&'static str, String);

fn required(member: &str, value: Option<&str>) -> Result<(), EntryError> {
    match value {
        Some(v) if !v.is_empty() => Ok(()),
        _ => Err((
            "InvalidArgument",
            format!("Parameter {member} is not valid. Reason: {member} is a required argument."),
        )),
    }
}

pub fn put_events(svc: &Inner, ctx: &RequestContext, entries: Vec<EventEntry>) -> Result<Response, Error> {
    let total: usize = entries.iter().map(entry_size).sum();
    if total > svc.config.max_put_events_bytes {
        return Err(Error::validation("Total size of the entries in the request is over the limit."));
    }
    let now = svc.now_ms();
    let mut batch = Batch::new();
    let mut results = Vec::with_capacity(entries.len());
    let mut failed = 0;
    let trace = ctx.trace.downstream().to_string();
    // (bus, 64 KB chunks) of each accepted entry, metered once the batch is committed.
    let mut metered: Vec<(String, u64)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let chunks = entry_size(&entry).div_ceil(CHUNK).max(1) as u64;
        match accept(svc, &ctx.scope, entry, now) {
            Ok(accepted) => {
                results.push(json!({ "EventId": accepted.id }));
                metered.push((accepted.bus.clone(), chunks));
                if !accepted.deliveries.is_empty() {
                    ctx.trace.note("PutEvents", accepted.bus.clone());
                }
                batch = accepted.stage(batch, now, Some(&trace));
            }
            Err((code, message)) => {
                failed += 1;
                results.push(json!({ "ErrorCode": code, "ErrorMessage": message }));
            }
        }
    }
    if !batch.is_empty() {
        svc.kv.commit(batch)?;
        svc.queue.wake();
    }
    if let Some(meter) = svc.meter.get() {
        for (bus, chunks) in &metered {
            meter.add(&ctx.scope, ResourceKind::Bus, bus, Unit::Events, 1);
            meter.add(&ctx.scope, ResourceKind::Bus, bus, Unit::EventChunks, *chunks);
        }
    }
    ok(ctx, &json!({ "FailedEntryCount": failed, "Entries": results }))
}

/// Validates one entry and returns its id, the deliveries it causes and its archive entries.
fn accept(svc: &Inner, scope: &Scope, e: EventEntry, now: i64) -> Result<Accepted, EntryError> {
    required("Source", e.source.as_deref())?;
    required("DetailType", e.detail_type.as_deref())?;
    required("Detail", e.detail.as_deref())?;
    let (source, detail_type, detail) =
        (e.source.unwrap_or_default(), e.detail_type.unwrap_or_default(), e.detail.unwrap_or_default());
    if !matches!(serde_json::from_str::<Value>(&detail), Ok(Value::Object(_))) {
        return Err(("MalformedDetail", "Detail is malformed.".to_owned()));
    }
    let bus = bus_name("eventBusName", e.event_bus_name)
        .map_err(|_| ("InvalidArgument", "Parameter EventBusName is not valid.".to_owned()))?;
    let internal = || ("InternalFailure", "An internal error occurred.".to_owned());
    if !svc.bus_exists(scope, &bus).map_err(|_| internal())? {
        return Err(("ResourceNotFoundException", format!("Event bus {bus} does not exist.")));
    }
    let time_ms = e.time.map_or(now, |t| (t * 1000.0) as i64);
    let id = uuid::Uuid::new_v4().to_string();
    let text = envelope(
        &id,
        &detail_type,
        &source,
        scope,
        &iso_seconds(time_ms),
        e.resources.as_deref().unwrap_or_default(),
        &detail,
    );
    let deliveries = route(svc, scope, &bus, &text, now, &[], None).map_err(|_| internal())?;
    let archived = svc.archive_event(scope, &bus, &text, time_ms, &id);
    let archived = archived.into_iter().map(|k| (k, text.clone())).collect();
    Ok(Accepted { id, bus, deliveries, archived })
}

/// What an accepted entry commits: its deliveries and its archive entries.
struct Accepted {
    id: String,
    bus: String,
    deliveries: Vec<Delivery>,
    archived: Vec<(Vec<u8>, String)>,
}

impl Accepted {
    /// Adds the entry's records to `batch`; its deliveries carry `trace` to their targets.
    fn stage(self, mut batch: Batch, now: i64, trace: Option<&str>) -> Batch {
        for mut d in self.deliveries {
            d.trace = trace.map(str::to_owned);
            batch = batch.put(DELIVERIES, model::delivery_key(now, &d.id), model::encode(&d));
        }
        for (key, text) in self.archived {
            batch = batch.put(crate::archives::ARCHIVED, key, text);
        }
        batch
    }
}

/// PutEvents from another service (`ports::EventPublisher`): one entry, on the bus its ARN
/// names, validated and committed as a PutEvents entry is.
pub fn put_from_port(svc: &Inner, event: ports::BusEvent) -> Result<String, ports::PortError> {
    use ports::PortError;
    let (scope, bus) = model::parse_bus_arn(&event.bus_arn)
        .ok_or_else(|| PortError::NotFound(format!("Event bus {} does not exist.", event.bus_arn)))?;
    let entry = EventEntry {
        source: Some(event.source),
        detail_type: Some(event.detail_type),
        detail: Some(event.detail),
        resources: Some(event.resources),
        event_bus_name: Some(bus),
        ..EventEntry::default()
    };
    if entry_size(&entry) > svc.config.max_put_events_bytes {
        return Err(PortError::Invalid(
            "Total size of the entries in the request is over the limit.".to_owned(),
        ));
    }
    let now = svc.now_ms();
    let accepted = accept(svc, &scope, entry, now).map_err(|(code, message)| match code {
        "ResourceNotFoundException" => PortError::NotFound(message),
        "InternalFailure" => PortError::Unavailable(message),
        _ => PortError::Invalid(message),
    })?;
    let id = accepted.id.clone();
    let trace = event.trace.map(|t| t.to_string());
    let batch = accepted.stage(Batch::new(), now, trace.as_deref());
    if !batch.is_empty() {
        svc.kv.commit(batch).map_err(|e| PortError::Unavailable(e.to_string()))?;
        svc.queue.wake();
    }
    Ok(id)
}

/// The deliveries an event `text` on `bus` causes: one per target of every enabled rule of the
/// bus whose pattern it matches, and whose ARN is in `only` when given (a replay's FilterArns).
pub fn route(
    svc: &Inner,
    scope: &Scope,
    bus: &str,
    text: &str,
    now: i64,
    via: &[String],
    only: Option<&[String]>,
) -> Result<Vec<Delivery>, event_pattern::PatternError> {
    let rules: Vec<std::sync::Arc<RuleRecord>> = {
        let buses = lock(&svc.buses);
        match buses.get(&model::bus_key(scope, bus)) {
            Some(b) => b
                .matcher
                .matches(text)?
                .into_iter()
                .filter_map(|name| b.rules.get(name).cloned())
                .filter(|r| only.is_none_or(|arns| arns.contains(&model::rule_arn(scope, &r.bus, &r.name))))
                .collect(),
            None => Vec::new(),
        }
    };
    Ok(rules.iter().flat_map(|rule| fan_out(scope, rule, text, now, via)).collect())
}

/// One delivery per target of `rule` for the event `text`, which has passed through the buses
/// `via` on its way here (empty for an event put on its first bus).
pub fn fan_out(scope: &Scope, rule: &RuleRecord, text: &str, now: i64, via: &[String]) -> Vec<Delivery> {
    let event: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let rule_arn = model::rule_arn(scope, &rule.bus, &rule.name);
    let ingestion_time = iso_seconds(now);
    let matched = Matched {
        rule_arn: &rule_arn,
        rule_name: &rule.name,
        ingestion_time: &ingestion_time,
        event_text: text,
        event: &event,
    };
    rule.targets
        .iter()
        .map(|t| {
            let retry = t.retry_policy.clone().unwrap_or_default();
            let payload = render(t, &matched);
            let event = (payload != text).then(|| text.to_owned());
            Delivery {
                v: SCHEMA_VERSION,
                id: delivery_id(),
                account: scope.account.as_str().to_owned(),
                region: scope.region.as_str().to_owned(),
                rule_arn: rule_arn.clone(),
                target_id: t.id.clone(),
                target_arn: t.arn.clone(),
                payload,
                accepted_ms: now,
                attempts: 0,
                max_retries: retry.maximum_retry_attempts.unwrap_or(DEFAULT_RETRIES),
                max_age_seconds: retry.maximum_event_age_in_seconds.unwrap_or(DEFAULT_MAX_AGE_SECONDS),
                dlq_arn: t.dead_letter_config.as_ref().and_then(|d| d.arn.clone()),
                group_id: t.sqs_parameters.as_ref().and_then(|p| p.message_group_id.clone()),
                event,
                // Only a bus target routes the event on, and needs to know where it has been.
                via: if TargetKind::of(&t.arn) == Some(TargetKind::Bus) {
                    via.iter().cloned().chain([model::bus_arn(scope, &rule.bus)]).collect()
                } else {
                    Vec::new()
                },
                http: t.http_parameters.clone(),
                slot_ms: None,
                trace: None,
            }
        })
        .collect()
}

/// TestEventPattern: the event must be a JSON object with the envelope's members (AWS does not
/// require `resources`).
pub fn test_pattern(ctx: &RequestContext, pattern: &str, event: &str) -> Result<Response, Error> {
    let pattern = Pattern::parse(pattern).map_err(|e| Error::InvalidEventPatternException(e.to_string()))?;
    let invalid = || Error::validation("Parameter Event is not valid.");
    let value: Value = serde_json::from_str(event).map_err(|_| invalid())?;
    let complete =
        ["id", "account", "source", "time", "region", "detail-type"].iter().all(|m| value.get(m).is_some());
    if !complete {
        return Err(invalid());
    }
    let result = pattern.matches(event).map_err(|_| invalid())?;
    ok(ctx, &json!({ "Result": result }))
}

/// A delivery's id: deliveries due in the same millisecond sort by it, so it starts with a
/// sequence number and a FIFO target gets events in the order PutEvents accepted them; the
/// random rest keeps ids unique across restarts, when the sequence starts again.
pub(crate) fn delivery_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{n:016x}{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keeps_aws_member_order_and_detail_text() {
        let scope = Scope::default();
        let text =
            envelope("i", "OrderPlaced", "shop", &scope, "2024-05-01T00:00:00Z", &[], r#" {"b":1,"a":2} "#);
        assert_eq!(
            text,
            r#"{"version":"0","id":"i","detail-type":"OrderPlaced","source":"shop","account":"000000000000","time":"2024-05-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"b":1,"a":2}}"#
        );
    }

    #[test]
    fn entry_sizes_count_as_aws_documents() {
        let e = EventEntry {
            time: Some(0.0),
            source: Some("ab".into()),
            detail_type: Some("c".into()),
            detail: Some("{}".into()),
            resources: Some(vec!["xyz".into()]),
            ..EventEntry::default()
        };
        assert_eq!(entry_size(&e), 14 + 2 + 1 + 2 + 3);
    }
}
