//! Archives and replays. An archive keeps the events put on its bus that match its pattern,
//! committed in the same batch as PutEvents' deliveries, keyed by event time so a replay is a
//! range scan. A replay is a durable record the delivery worker advances slice by slice: each
//! slice's events, with `replay-name` added, are routed to the archive's bus (only to the rules
//! in `FilterArns` when given) and the replay's cursor moves in the same batch, so a replay
//! resumes where it was after a restart and never delivers a slice twice.

use std::sync::Arc;

use event_pattern::Pattern;
use protocol::{RequestContext, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::{Batch, KeyRange};
use types::Scope;

use crate::buses::{bus_not_found, paged, paginate};
use crate::error::Error;
use crate::model::{self, DELIVERIES, SCHEMA_VERSION};
use crate::operation::{ListFilter, Page};
use crate::{Inner, epoch_seconds, lock, ok};

pub const ARCHIVES: &str = "events.archives";
pub const ARCHIVED: &str = "events.archived";
pub const REPLAYS: &str = "events.replays";

/// Events a replay routes per step of the worker.
const SLICE: usize = 100;
/// How often the worker drops events past their archive's retention.
const PURGE_EVERY_MS: i64 = 60_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArchiveRecord {
    pub v: u32,
    pub name: String,
    pub source_arn: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_pattern: Option<String>,
    /// 0 keeps events forever.
    #[serde(default)]
    pub retention_days: u32,
    pub created_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub v: u32,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The archive's ARN.
    pub source_arn: String,
    pub archive: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub destination_arn: String,
    #[serde(default)]
    pub filter_arns: Vec<String>,
    pub state: String,
    pub started_ms: i64,
    #[serde(default)]
    pub ended_ms: Option<i64>,
    #[serde(default)]
    pub last_replayed_ms: Option<i64>,
    /// The archived key after which the replay goes on.
    #[serde(default)]
    pub cursor: Option<Vec<u8>>,
}

/// An archive as PutEvents matches it.
pub struct Armed {
    name: String,
    pattern: Option<Pattern>,
}

/// CreateArchive's and UpdateArchive's input.
#[derive(Debug)]
pub struct ArchiveInput {
    pub name: String,
    pub source_arn: Option<String>,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: Option<u32>,
}

#[derive(Debug)]
pub struct ReplayInput {
    pub name: String,
    pub description: Option<String>,
    pub source_arn: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub destination_arn: String,
    pub filter_arns: Vec<String>,
}

fn scoped(scope: &Scope, name: &str) -> Vec<u8> {
    format!("{}/{}/{name}", scope.account.as_str(), scope.region.as_str()).into_bytes()
}

/// Where an archive's events live: `{scope}/{archive}/` then `{time:016}/{id}`.
fn events_prefix(scope: &Scope, archive: &str) -> Vec<u8> {
    let mut key = scoped(scope, archive);
    key.push(b'/');
    key
}

pub fn archive_arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:events:{}:{}:archive/{name}", scope.region.as_str(), scope.account.as_str())
}

fn replay_arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:events:{}:{}:replay/{name}", scope.region.as_str(), scope.account.as_str())
}

fn archive_not_found(name: &str) -> Error {
    Error::ResourceNotFoundException(format!("Archive {name} does not exist."))
}

/// The bus an event-bus ARN names, which must exist in the caller's account and region.
fn source_bus(svc: &Inner, scope: &Scope, arn: &str) -> Result<String, Error> {
    let bus = model::parse_bus_arn(arn)
        .filter(|(s, _)| s == scope)
        .map(|(_, bus)| bus)
        .ok_or_else(|| Error::validation("Parameter EventSourceArn is not valid."))?;
    if !svc.bus_exists(scope, &bus)? {
        return Err(bus_not_found(&bus));
    }
    Ok(bus)
}

fn parse_pattern(text: Option<&str>) -> Result<Option<Pattern>, Error> {
    text.map(|p| Pattern::parse(p).map_err(|e| Error::InvalidEventPatternException(e.to_string())))
        .transpose()
}

impl Inner {
    fn archive(&self, scope: &Scope, name: &str) -> Result<Option<ArchiveRecord>, Error> {
        Ok(self.kv.get(ARCHIVES, &scoped(scope, name))?.map(|raw| model::decode(&raw)).transpose()?)
    }

    /// Puts an archive in its bus's list of armed archives.
    fn arm(&self, scope: &Scope, record: &ArchiveRecord) -> Result<(), Error> {
        let (_, bus) =
            model::parse_bus_arn(&record.source_arn).ok_or_else(|| archive_not_found(&record.name))?;
        let armed =
            Armed { name: record.name.clone(), pattern: parse_pattern(record.event_pattern.as_deref())? };
        let mut archives = lock(&self.archives);
        let list = archives.entry(model::bus_key(scope, &bus)).or_default();
        list.retain(|a| a.name != record.name);
        list.push(Arc::new(armed));
        Ok(())
    }

    fn disarm(&self, scope: &Scope, record: &ArchiveRecord) {
        if let Some((_, bus)) = model::parse_bus_arn(&record.source_arn)
            && let Some(list) = lock(&self.archives).get_mut(&model::bus_key(scope, &bus))
        {
            list.retain(|a| a.name != record.name);
        }
    }

    /// Every archive into the armed lists, at start.
    pub(crate) fn load_archives(&self) -> Result<(), Error> {
        for (key, raw) in self.kv.scan_all(ARCHIVES, KeyRange::all())? {
            let record: ArchiveRecord = model::decode(&raw)?;
            let Some(scope) = scope_of_key(&key) else { continue };
            self.arm(&scope, &record)?;
        }
        Ok(())
    }

    /// The archive entries an event `text` (at `time_ms`, of entry size `size`) puts in the
    /// batch: one per archive of `bus` whose pattern it matches.
    pub(crate) fn archive_event(
        &self,
        scope: &Scope,
        bus: &str,
        text: &str,
        time_ms: i64,
        id: &str,
    ) -> Vec<Vec<u8>> {
        let armed: Vec<Arc<Armed>> =
            lock(&self.archives).get(&model::bus_key(scope, bus)).cloned().unwrap_or_default();
        armed
            .iter()
            .filter(|a| a.pattern.as_ref().is_none_or(|p| p.matches(text).unwrap_or(false)))
            .map(|a| {
                let mut key = events_prefix(scope, &a.name);
                key.extend_from_slice(format!("{:016}/{id}", time_ms.max(0)).as_bytes());
                key
            })
            .collect()
    }
}

/// The scope in a key `{account}/{region}/…`.
fn scope_of_key(key: &[u8]) -> Option<Scope> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(3, '/');
    Some(Scope {
        account: types::AccountId::parse(parts.next()?)?,
        region: types::Region::parse(parts.next()?)?,
    })
}

pub fn create(svc: &Inner, ctx: &RequestContext, input: ArchiveInput) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let source_arn = input.source_arn.unwrap_or_default();
    source_bus(svc, scope, &source_arn)?;
    parse_pattern(input.event_pattern.as_deref())?;
    let _w = lock(&svc.writes);
    if svc.archive(scope, &input.name)?.is_some() {
        return Err(Error::ResourceAlreadyExistsException(format!("Archive {} already exists.", input.name)));
    }
    let record = ArchiveRecord {
        v: SCHEMA_VERSION,
        name: input.name,
        source_arn,
        description: input.description,
        event_pattern: input.event_pattern,
        retention_days: input.retention_days.unwrap_or(0),
        created_ms: svc.now_ms(),
    };
    svc.kv.put(ARCHIVES, &scoped(scope, &record.name), &model::encode(&record))?;
    svc.arm(scope, &record)?;
    ok(
        ctx,
        &json!({
            "ArchiveArn": archive_arn(scope, &record.name),
            "State": "ENABLED",
            "CreationTime": epoch_seconds(record.created_ms),
        }),
    )
}

/// UpdateArchive. AWS answers an unknown archive here with a retried InternalException; Nimbus
/// says what is wrong instead.
pub fn update(svc: &Inner, ctx: &RequestContext, input: ArchiveInput) -> Result<Response, Error> {
    let scope = &ctx.scope;
    parse_pattern(input.event_pattern.as_deref())?;
    let _w = lock(&svc.writes);
    let mut record = svc.archive(scope, &input.name)?.ok_or_else(|| archive_not_found(&input.name))?;
    if input.description.is_some() {
        record.description = input.description;
    }
    if input.event_pattern.is_some() {
        record.event_pattern = input.event_pattern;
    }
    if let Some(days) = input.retention_days {
        record.retention_days = days;
    }
    svc.kv.put(ARCHIVES, &scoped(scope, &record.name), &model::encode(&record))?;
    svc.arm(scope, &record)?;
    ok(
        ctx,
        &json!({
            "ArchiveArn": archive_arn(scope, &record.name),
            "State": "ENABLED",
            "CreationTime": epoch_seconds(record.created_ms),
        }),
    )
}

/// Event count and bytes of an archive (bytes as the stored event texts).
fn usage(svc: &Inner, scope: &Scope, name: &str) -> Result<(u64, u64), Error> {
    let mut count = 0u64;
    let mut bytes = 0u64;
    for (_, raw) in svc.kv.scan_all(ARCHIVED, KeyRange::prefix(events_prefix(scope, name)))? {
        count += 1;
        bytes += raw.len() as u64;
    }
    Ok((count, bytes))
}

fn summary(svc: &Inner, scope: &Scope, r: &ArchiveRecord) -> Result<Value, Error> {
    let (count, bytes) = usage(svc, scope, &r.name)?;
    Ok(json!({
        "ArchiveName": r.name,
        "EventSourceArn": r.source_arn,
        "State": "ENABLED",
        "RetentionDays": r.retention_days,
        "SizeBytes": bytes,
        "EventCount": count,
        "CreationTime": epoch_seconds(r.created_ms),
    }))
}

pub fn describe(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let r = svc.archive(scope, name)?.ok_or_else(|| archive_not_found(name))?;
    let mut out = summary(svc, scope, &r)?;
    out["ArchiveArn"] = json!(archive_arn(scope, name));
    if let Some(d) = &r.description {
        out["Description"] = json!(d);
    }
    if let Some(p) = &r.event_pattern {
        out["EventPattern"] = json!(p);
    }
    ok(ctx, &out)
}

pub fn list(svc: &Inner, ctx: &RequestContext, filter: &ListFilter, page: &Page) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if let Some(arn) = &filter.source_arn {
        source_bus(svc, scope, arn)?;
    }
    let mut all = Vec::new();
    for (_, raw) in svc.kv.scan_all(ARCHIVES, KeyRange::prefix(scoped(scope, "")))? {
        let r: ArchiveRecord = model::decode(&raw)?;
        if filter.keeps(&r.name, &r.source_arn, "ENABLED") {
            all.push(r);
        }
    }
    let (items, next) = paginate(all.iter(), page, |r| r.name.as_str());
    let items = items.into_iter().map(|r| summary(svc, scope, r)).collect::<Result<Vec<_>, _>>()?;
    ok(ctx, &paged("Archives", items, next))
}

pub fn delete(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let record = svc.archive(scope, name)?.ok_or_else(|| archive_not_found(name))?;
    svc.disarm(scope, &record);
    svc.kv.delete(ARCHIVES, &scoped(scope, name))?;
    // The events go in slices, so a large archive does not make one huge batch.
    loop {
        let keys = svc.kv.scan(ARCHIVED, KeyRange::prefix(events_prefix(scope, name)), 1000)?;
        if keys.is_empty() {
            break;
        }
        let batch = keys.into_iter().fold(Batch::new(), |b, (k, _)| b.delete(ARCHIVED, k));
        svc.kv.commit(batch)?;
    }
    ok(ctx, &json!({}))
}

fn replay(svc: &Inner, scope: &Scope, name: &str) -> Result<Option<ReplayRecord>, Error> {
    Ok(svc.kv.get(REPLAYS, &scoped(scope, name))?.map(|raw| model::decode(&raw)).transpose()?)
}

fn replay_not_found(name: &str) -> Error {
    Error::ResourceNotFoundException(format!("Replay {name} does not exist."))
}

pub fn start_replay(svc: &Inner, ctx: &RequestContext, input: ReplayInput) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if input.start_ms >= input.end_ms {
        return Err(Error::validation(
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
        ));
    }
    let archive_name = input
        .source_arn
        .strip_prefix(&archive_arn(scope, ""))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::validation("Parameter EventSourceArn is not valid."))?;
    let archive = svc.archive(scope, archive_name)?.ok_or_else(|| {
        Error::validation(format!(
            "Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist."
        ))
    })?;
    let (_, bus) = model::parse_bus_arn(&input.destination_arn)
        .filter(|(s, _)| s == scope)
        .ok_or_else(|| Error::validation("Parameter Destination.Arn is not valid."))?;
    if !svc.bus_exists(scope, &bus)? {
        return Err(bus_not_found(&bus));
    }
    if input.destination_arn != archive.source_arn {
        return Err(Error::validation(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
        ));
    }
    let _w = lock(&svc.writes);
    if replay(svc, scope, &input.name)?.is_some() {
        return Err(Error::ResourceAlreadyExistsException(format!("Replay {} already exists.", input.name)));
    }
    let record = ReplayRecord {
        v: SCHEMA_VERSION,
        name: input.name,
        description: input.description,
        source_arn: input.source_arn,
        archive: archive.name,
        start_ms: input.start_ms,
        end_ms: input.end_ms,
        destination_arn: input.destination_arn,
        filter_arns: input.filter_arns,
        state: "STARTING".to_owned(),
        started_ms: svc.now_ms(),
        ended_ms: None,
        last_replayed_ms: None,
        cursor: None,
    };
    svc.kv.put(REPLAYS, &scoped(scope, &record.name), &model::encode(&record))?;
    svc.queue.wake();
    ok(
        ctx,
        &json!({
            "ReplayArn": replay_arn(scope, &record.name),
            "State": record.state,
            "ReplayStartTime": epoch_seconds(record.started_ms),
        }),
    )
}

fn replay_summary(r: &ReplayRecord) -> Value {
    let mut out = json!({
        "ReplayName": r.name,
        "EventSourceArn": r.source_arn,
        "State": r.state,
        "EventStartTime": epoch_seconds(r.start_ms),
        "EventEndTime": epoch_seconds(r.end_ms),
        "ReplayStartTime": epoch_seconds(r.started_ms),
    });
    if let Some(t) = r.last_replayed_ms {
        out["EventLastReplayedTime"] = epoch_seconds(t);
    }
    if let Some(t) = r.ended_ms {
        out["ReplayEndTime"] = epoch_seconds(t);
    }
    out
}

pub fn describe_replay(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let r = replay(svc, &ctx.scope, name)?.ok_or_else(|| replay_not_found(name))?;
    let mut out = replay_summary(&r);
    out["ReplayArn"] = json!(replay_arn(&ctx.scope, name));
    let mut destination = json!({ "Arn": r.destination_arn });
    if !r.filter_arns.is_empty() {
        destination["FilterArns"] = json!(r.filter_arns);
    }
    out["Destination"] = destination;
    if let Some(d) = &r.description {
        out["Description"] = json!(d);
    }
    ok(ctx, &out)
}

pub fn list_replays(
    svc: &Inner,
    ctx: &RequestContext,
    filter: &ListFilter,
    page: &Page,
) -> Result<Response, Error> {
    let mut all = Vec::new();
    for (_, raw) in svc.kv.scan_all(REPLAYS, KeyRange::prefix(scoped(&ctx.scope, "")))? {
        let r: ReplayRecord = model::decode(&raw)?;
        if filter.keeps(&r.name, &r.source_arn, &r.state) {
            all.push(r);
        }
    }
    let (items, next) = paginate(all.iter(), page, |r| r.name.as_str());
    ok(ctx, &paged("Replays", items.into_iter().map(replay_summary).collect(), next))
}

pub fn cancel_replay(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let mut r = replay(svc, scope, name)?.ok_or_else(|| replay_not_found(name))?;
    if !matches!(r.state.as_str(), "STARTING" | "RUNNING") {
        return Err(Error::IllegalStatusException(format!(
            "Replay {name} is not in a valid state for this operation."
        )));
    }
    r.state = "CANCELLING".to_owned();
    svc.kv.put(REPLAYS, &scoped(scope, name), &model::encode(&r))?;
    svc.queue.wake();
    ok(ctx, &json!({ "ReplayArn": replay_arn(scope, name), "State": r.state }))
}

/// The event text with `replay-name` after `region`, where AWS puts it. The text is an envelope
/// Nimbus wrote, so its first `,"resources":` is the envelope's own member (inside a JSON string
/// the quotes would be escaped).
fn with_replay_name(text: &str, name: &str) -> String {
    let member = format!(",\"replay-name\":{}", Value::String(name.to_owned()));
    match text.find(",\"resources\":") {
        Some(at) => format!("{}{member}{}", &text[..at], &text[at..]),
        None => text.to_owned(),
    }
}

/// Advances every running replay by one slice; true when there is more to do now.
pub(crate) fn run_replays(svc: &Inner) -> Result<bool, Error> {
    let mut more = false;
    for (key, raw) in svc.kv.scan_all(REPLAYS, KeyRange::all())? {
        let mut r: ReplayRecord = model::decode(&raw)?;
        if !matches!(r.state.as_str(), "STARTING" | "RUNNING" | "CANCELLING") {
            continue;
        }
        let Some(scope) = scope_of_key(&key) else { continue };
        let now = svc.now_ms();
        if r.state == "CANCELLING" {
            r.state = "CANCELLED".to_owned();
            r.ended_ms = Some(now);
            svc.kv.put(REPLAYS, &key, &model::encode(&r))?;
            continue;
        }
        let prefix = events_prefix(&scope, &r.archive);
        let first = [prefix.clone(), format!("{:016}", r.start_ms.max(0)).into_bytes()].concat();
        let end = [prefix, format!("{:016}", r.end_ms.max(0)).into_bytes()].concat();
        let start = match r.cursor.take() {
            Some(c) => std::ops::Bound::Excluded(c),
            None => std::ops::Bound::Included(first),
        };
        let slice = svc.kv.scan(ARCHIVED, KeyRange::new(start, std::ops::Bound::Excluded(end)), SLICE)?;
        let mut batch = Batch::new();
        let (_, bus) = model::parse_bus_arn(&r.destination_arn).unwrap_or((scope.clone(), String::new()));
        let only: Option<Vec<String>> = (!r.filter_arns.is_empty()).then(|| r.filter_arns.clone());
        for (k, text) in &slice {
            let text = with_replay_name(&String::from_utf8_lossy(text), &r.name);
            let routed =
                crate::events::route(svc, &scope, &bus, &text, now, &[], only.as_deref()).unwrap_or_default();
            for d in routed {
                batch = batch.put(DELIVERIES, model::delivery_key(now, &d.id), model::encode(&d));
            }
            r.last_replayed_ms = event_time(k).or(r.last_replayed_ms);
        }
        if slice.len() == SLICE {
            r.state = "RUNNING".to_owned();
            r.cursor = slice.last().map(|(k, _)| k.clone());
            more = true;
        } else {
            r.state = "COMPLETED".to_owned();
            r.ended_ms = Some(now);
        }
        svc.kv.commit(batch.put(REPLAYS, key, model::encode(&r)))?;
        svc.queue.wake();
    }
    Ok(more)
}

/// The event time in an archived key `…/{time:016}/{id}`.
fn event_time(key: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.rsplit('/');
    parts.next()?;
    parts.next()?.parse().ok()
}

/// Drops archived events past their archive's retention, at most once a minute.
pub(crate) fn purge(svc: &Inner) -> Result<(), Error> {
    let now = svc.now_ms();
    {
        let mut last = lock(&svc.last_purge_ms);
        if now - *last < PURGE_EVERY_MS {
            return Ok(());
        }
        *last = now;
    }
    for (key, raw) in svc.kv.scan_all(ARCHIVES, KeyRange::all())? {
        let r: ArchiveRecord = model::decode(&raw)?;
        let Some(scope) = scope_of_key(&key) else { continue };
        if r.retention_days == 0 {
            continue;
        }
        let cutoff = now - i64::from(r.retention_days) * 86_400_000;
        let prefix = events_prefix(&scope, &r.name);
        let end = [prefix.clone(), format!("{:016}", cutoff.max(0)).into_bytes()].concat();
        loop {
            let range = KeyRange::new(
                std::ops::Bound::Included(prefix.clone()),
                std::ops::Bound::Excluded(end.clone()),
            );
            let old = svc.kv.scan(ARCHIVED, range, 1000)?;
            if old.is_empty() {
                break;
            }
            svc.kv.commit(old.into_iter().fold(Batch::new(), |b, (k, _)| b.delete(ARCHIVED, k)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_name_goes_after_region() {
        let text = r#"{"version":"0","id":"i","detail-type":"d","source":"s","account":"1","time":"t","region":"r","resources":[],"detail":{"resources":1}}"#;
        assert_eq!(
            with_replay_name(text, "again"),
            r#"{"version":"0","id":"i","detail-type":"d","source":"s","account":"1","time":"t","region":"r","replay-name":"again","resources":[],"detail":{"resources":1}}"#
        );
        assert_eq!(event_time(b"000000000000/us-east-1/a/0000000000001234/id"), Some(1234));
    }
}
