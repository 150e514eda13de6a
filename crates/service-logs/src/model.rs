//! CloudWatch Logs' persisted records and where they live in the key-value store.
//!
//! Every key starts with the tenant, `{account}/{region}/`, so tenants never see each other.
//!
//! - `logs.groups`: `{scope}{group name}` → [`GroupRecord`] (JSON, schema `v`). Group names are
//!   `[.\-_/#A-Za-z0-9]+`, so key order is the ASCII name order DescribeLogGroups answers in.
//! - `logs.streams`: `{scope}{group name}\0{stream name}` → [`StreamRecord`] (JSON). `\0` sorts
//!   below every group-name character, so one group's streams are one contiguous prefix.
//! - `logs.events`: `{scope}{stream id: 16 bytes}{timestamp: 8 bytes BE}{seq: 8 bytes BE}` →
//!   [`encode_event`]. A stream's events are one prefix ordered by time, so every time range
//!   of GetLogEvents / FilterLogEvents is one range scan; `seq` (handed out per batch from the
//!   stream record) keeps events of the same millisecond apart and in ingestion order. The id
//!   is random per stream *incarnation*: a deleted and recreated stream never sees old events.
//! - `logs.purge`: `{scope}{stream id}` → empty: streams deleted (alone or with their group)
//!   whose events the background purge still has to remove. Deletes stay O(streams).
//!
//! Stream records carry the counters a batch changes (stored bytes, first/last event, last
//! ingestion, next seq) so that ingest rewrites each touched stream record once per batch, never
//! once per line; a group's stored bytes are the sum over its streams, computed when described.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use storage::StorageError;
use types::Scope;

pub const GROUPS: &str = "logs.groups";
pub const STREAMS: &str = "logs.streams";
pub const EVENTS: &str = "logs.events";
pub const PURGE: &str = "logs.purge";

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The first byte of every stored event: its encoding's version.
const EVENT_VERSION: u8 = 1;

/// The length of a stream id inside event keys.
pub const STREAM_ID_LEN: usize = 16;

pub fn scope_prefix(scope: &Scope) -> Vec<u8> {
    format!("{}/{}/", scope.account, scope.region).into_bytes()
}

pub fn group_key(scope: &Scope, group: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(group.as_bytes());
    key
}

/// The prefix of every stream key of `group`.
pub fn streams_prefix(scope: &Scope, group: &str) -> Vec<u8> {
    let mut key = group_key(scope, group);
    key.push(0);
    key
}

pub fn stream_key(scope: &Scope, group: &str, stream: &str) -> Vec<u8> {
    let mut key = streams_prefix(scope, group);
    key.extend_from_slice(stream.as_bytes());
    key
}

/// The prefix of every event key of the stream whose id is `id`.
pub fn events_prefix(scope: &Scope, id: &[u8; STREAM_ID_LEN]) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(id);
    key
}

/// A point in a stream's event order: events sort by (timestamp, seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub timestamp: u64,
    pub seq: u64,
}

impl Position {
    pub const MIN: Position = Position { timestamp: 0, seq: 0 };
    pub const MAX: Position = Position { timestamp: u64::MAX, seq: u64::MAX };

    pub fn at(timestamp: u64) -> Position {
        Position { timestamp, seq: 0 }
    }

    /// The first position after this one.
    pub fn next(self) -> Position {
        match self.seq.checked_add(1) {
            Some(seq) => Position { timestamp: self.timestamp, seq },
            None => Position { timestamp: self.timestamp.saturating_add(1), seq: 0 },
        }
    }
}

pub fn event_key(prefix: &[u8], at: Position) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 16);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&at.timestamp.to_be_bytes());
    key.extend_from_slice(&at.seq.to_be_bytes());
    key
}

/// The position an event key ends with.
pub fn key_position(key: &[u8]) -> Option<Position> {
    let tail = key.len().checked_sub(16).map(|start| &key[start..])?;
    let (ts, seq) = tail.split_at(8);
    Some(Position {
        timestamp: u64::from_be_bytes(ts.try_into().ok()?),
        seq: u64::from_be_bytes(seq.try_into().ok()?),
    })
}

/// One stored event. Events are the one record written per log line, so they are not JSON but
/// a versioned binary layout: version byte, ingestion time (ms, 8 bytes BE), UTF-8 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub at: Position,
    pub ingestion_time: i64,
    pub message: String,
}

pub fn encode_event(ingestion_time: i64, message: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + message.len());
    v.push(EVENT_VERSION);
    v.extend_from_slice(&ingestion_time.to_be_bytes());
    v.extend_from_slice(message.as_bytes());
    v
}

pub fn decode_event(key: &[u8], value: &[u8]) -> Result<StoredEvent, StorageError> {
    let corrupt = || StorageError::Corrupt("log event of an unknown layout".to_owned());
    let at = key_position(key).ok_or_else(corrupt)?;
    if value.len() < 9 || value[0] != EVENT_VERSION {
        return Err(corrupt());
    }
    let ingestion_time = i64::from_be_bytes(value[1..9].try_into().map_err(|_| corrupt())?);
    let message = String::from_utf8(value[9..].to_vec()).map_err(|_| corrupt())?;
    Ok(StoredEvent { at, ingestion_time, message })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub v: u32,
    pub name: String,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub retention_days: Option<u32>,
    pub tags: BTreeMap<String, String>,
    pub kms_key_id: Option<String>,
    pub class: String,
}

impl GroupRecord {
    /// The oldest timestamp (ms) still visible under the retention policy.
    pub fn retention_cutoff(&self, now_ms: i64) -> Option<i64> {
        self.retention_days.map(|d| now_ms.saturating_sub(i64::from(d) * 86_400_000))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord {
    pub v: u32,
    pub name: String,
    /// Hex of the 16 random bytes that prefix this stream's event keys.
    pub id: String,
    pub created: i64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub last_ingestion: Option<i64>,
    /// Message bytes stored (AWS reports 0 for streams; groups report the sum).
    pub stored_bytes: u64,
    /// The seq the next event gets.
    pub next_seq: u64,
}

impl StreamRecord {
    pub fn new(name: &str, created: i64) -> StreamRecord {
        StreamRecord {
            v: SCHEMA_VERSION,
            name: name.to_owned(),
            id: hex::encode(uuid::Uuid::new_v4().as_bytes()),
            created,
            first_event: None,
            last_event: None,
            last_ingestion: None,
            stored_bytes: 0,
            next_seq: 0,
        }
    }

    pub fn id_bytes(&self) -> Result<[u8; STREAM_ID_LEN], StorageError> {
        let mut id = [0u8; STREAM_ID_LEN];
        hex::decode_to_slice(&self.id, &mut id)
            .map_err(|_| StorageError::Corrupt(format!("stream id {:?}", self.id)))?;
        Ok(id)
    }
}

pub fn encode<R: Serialize>(record: &R) -> Vec<u8> {
    // Serialising plain structs of strings and integers cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

#[derive(Deserialize)]
struct Version {
    v: u32,
}

pub fn decode<R: DeserializeOwned>(raw: &[u8]) -> Result<R, StorageError> {
    let version: Version =
        serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("logs record: {e}")))?;
    if version.v != SCHEMA_VERSION {
        return Err(StorageError::Corrupt(format!("logs record of schema version {}", version.v)));
    }
    serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("logs record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_time_then_seq() {
        let p = b"000000000000/us-east-1/0123456789abcdef";
        let a = event_key(p, Position { timestamp: 5, seq: 9 });
        let b = event_key(p, Position { timestamp: 6, seq: 0 });
        assert!(a < b);
        assert_eq!(key_position(&a), Some(Position { timestamp: 5, seq: 9 }));
    }

    #[test]
    fn events_round_trip() {
        let key = event_key(b"x", Position { timestamp: 1, seq: 2 });
        let e = decode_event(&key, &encode_event(7, "héllo")).expect("decodes");
        assert_eq!(
            e,
            StoredEvent {
                at: Position { timestamp: 1, seq: 2 }, ingestion_time: 7, message: "héllo".into()
            }
        );
        assert!(decode_event(&key, b"\x02").is_err());
    }

    #[test]
    fn streams_of_a_group_are_one_prefix() {
        let s = Scope::default();
        let k = stream_key(&s, "a", "x");
        assert!(k.starts_with(&streams_prefix(&s, "a")));
        assert!(!stream_key(&s, "a.b", "x").starts_with(&streams_prefix(&s, "a")));
    }
}
