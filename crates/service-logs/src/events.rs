//! PutLogEvents (AWS's acceptance rules: too new, too old and expired events are reported, not
//! fatal) and GetLogEvents (time ranges as range scans, `f/…` / `b/…` tokens in both
//! directions, the same token back when there is nothing more).

use std::ops::Bound;

use protocol::Response;
use serde_json::{Map, Value, json};
use storage::KeyRange;

use crate::Env;
use crate::db::Append;
use crate::error::{self, Error};
use crate::model::{self, EVENTS, Position, StoredEvent};
use crate::operation::{EVENT_OVERHEAD, GetLogEvents};
use crate::streams::sequence_token;
use crate::token::{self, Direction};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far in the future an event may be (AWS: 2 hours) and in the past (14 days).
const MAX_AHEAD_MS: i64 = 2 * HOUR_MS;
const MAX_AGE_MS: i64 = 14 * DAY_MS;
/// A response carries at most this many bytes of events (AWS: 1 MB).
pub const MAX_RESPONSE_BYTES: usize = 1_048_576;
/// A response carries at most this many events.
pub const MAX_EVENTS: usize = 10_000;

/// The part of a stream a read covers: `[lo, hi)` in event order.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub lo: Position,
    pub hi: Option<Position>,
}

impl Window {
    /// `start` inclusive, `end` as given (`end_inclusive` for FilterLogEvents), never older than
    /// the retention cutoff.
    pub fn new(start: Option<i64>, end: Option<i64>, end_inclusive: bool, cutoff: Option<i64>) -> Window {
        let to_u64 = |t: i64| u64::try_from(t).unwrap_or(0);
        let lo = start.into_iter().chain(cutoff).max().map_or(Position::MIN, |t| Position::at(to_u64(t)));
        let hi = end.map(|t| {
            let t = to_u64(t);
            Position::at(if end_inclusive { t.saturating_add(1) } else { t })
        });
        Window { lo, hi }
    }

    fn range(&self, prefix: &[u8], from: Position, to: Option<Position>) -> KeyRange {
        let lo = from.max(self.lo);
        let hi = match (to, self.hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let end = match hi {
            Some(h) => Bound::Excluded(model::event_key(prefix, h)),
            None => KeyRange::prefix(prefix.to_vec()).end,
        };
        KeyRange::new(Bound::Included(model::event_key(prefix, lo)), end)
    }
}

impl Env<'_> {
    /// Up to `limit` events of the stream whose event keys start with `prefix`, inside `window`,
    /// from `from` forward (or before `from`, newest first, when `backward`).
    pub fn read_events(
        &self,
        prefix: &[u8],
        window: Window,
        from: Position,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, Error> {
        let range = match direction {
            Direction::Forward => window.range(prefix, from, None),
            Direction::Backward => window.range(prefix, Position::MIN, Some(from)).rev(),
        };
        let entries = self.db.kv.scan(EVENTS, range, limit)?;
        entries.iter().map(|(k, v)| Ok(model::decode_event(k, v)?)).collect()
    }

    pub fn put_log_events(
        &self,
        group: &str,
        stream: &str,
        events: Vec<(i64, String)>,
    ) -> Result<Response, Error> {
        let (_, record) = self.load_group_named(group)?;
        let cutoff = record.retention_cutoff(self.now);
        let mut too_new_start = None;
        let mut too_old_end = None;
        let mut expired_end = None;
        let mut accepted = Vec::with_capacity(events.len());
        for (index, event) in events.into_iter().enumerate() {
            let ts = event.0;
            if ts > self.now.saturating_add(MAX_AHEAD_MS) {
                too_new_start.get_or_insert(index);
            } else if ts < self.now.saturating_sub(MAX_AGE_MS) {
                too_old_end = Some(index);
            } else if cutoff.is_some_and(|c| ts < c) {
                expired_end = Some(index);
            } else {
                accepted.push(event);
            }
        }
        if let (Some(first), Some(last)) = (accepted.first(), accepted.last())
            && last.0 - first.0 > DAY_MS
        {
            return Err(Error::InvalidParameterException(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
                    .to_owned(),
            ));
        }
        let append = Append { scope: self.scope(), group, stream, events: &accepted, create: false };
        let next = self.db.append(self.now, &[append])?;
        let mut body = Map::new();
        body.insert("nextSequenceToken".into(), json!(sequence_token(next.first().copied().unwrap_or(0))));
        if too_new_start.is_some() || too_old_end.is_some() || expired_end.is_some() {
            let mut info = Map::new();
            for (name, index) in [
                ("tooNewLogEventStartIndex", too_new_start),
                ("tooOldLogEventEndIndex", too_old_end),
                ("expiredLogEventEndIndex", expired_end),
            ] {
                if let Some(i) = index {
                    info.insert(name.into(), json!(i));
                }
            }
            body.insert("rejectedLogEventsInfo".into(), Value::Object(info));
        }
        Ok(self.respond(&body))
    }

    pub fn get_log_events(&self, input: &GetLogEvents) -> Result<Response, Error> {
        let (_, group) = self.load_group(&input.group)?;
        let (_, stream) =
            self.db.stream(self.scope(), &group.name, &input.stream)?.ok_or_else(error::stream_not_found)?;
        let prefix = model::events_prefix(self.scope(), &stream.id_bytes()?);
        let window = Window::new(input.start_time, input.end_time, false, group.retention_cutoff(self.now));
        let (direction, from) = match &input.next_token {
            Some(t) => token::parse_stream_token(t)?,
            None if input.start_from_head => (Direction::Forward, window.lo),
            None => (Direction::Backward, window.hi.unwrap_or(Position::MAX)),
        };
        let limit = input.limit.unwrap_or(MAX_EVENTS);
        let mut events = self.read_events(&prefix, window, from, direction, limit)?;
        // Keep what fits in one response, nearest to where the page starts.
        let mut bytes = 0;
        let mut fits = |e: &StoredEvent| {
            bytes += e.message.len() + EVENT_OVERHEAD;
            bytes <= MAX_RESPONSE_BYTES
        };
        let keep = events.iter().take_while(|e| fits(e)).count();
        events.truncate(keep);
        if direction == Direction::Backward {
            events.reverse();
        }
        let (forward, backward) = match (events.first(), events.last()) {
            (Some(first), Some(last)) => (last.at.next(), first.at),
            // Nothing more this way: the position stays, so a client sent the same token back.
            _ if input.next_token.is_some() => (from, from),
            _ => (window.lo, window.lo),
        };
        let rendered: Vec<Value> = events
            .iter()
            .map(|e| json!({ "timestamp": e.at.timestamp, "message": e.message, "ingestionTime": e.ingestion_time }))
            .collect();
        Ok(self.respond(&json!({
            "events": rendered,
            "nextForwardToken": token::stream_token(Direction::Forward, forward),
            "nextBackwardToken": token::stream_token(Direction::Backward, backward),
        })))
    }
}
