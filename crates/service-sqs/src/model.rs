//! SQS's persisted records and where they live in the key-value store.
//!
//! - `sqs.queues`, keyed `{account}/{region}/{queue}`: one [`QueueRecord`] per queue
//!   (attributes as set, tags, timestamps).
//! - `sqs.messages`, under the queue's prefix `{account}/{region}/{queue}/`:
//!   - `m/{seq}`: the [`MessageRecord`]; `seq` is a 20-digit number unique in the process's
//!     history (nanosecond-seeded counter), which is also the FIFO SequenceNumber.
//!   - `i/{visible_at ms, 16 digits}/{seq}`: the visibility index, so ReceiveMessage is one
//!     range scan up to "now". Its value is [`IndexValue`]: whether the message is delayed or in
//!     flight (for the Approximate* counts) and its group (for FIFO blocking).
//!   - `d/{deduplication id}`: FIFO deduplication entries ([`DedupRecord`]), expiring 5 minutes
//!     after the send they remember.
//!
//! Every state change of a message (send, receive, delete, visibility change, redrive) is one
//! atomic batch touching its record and its index entry together, so a crash leaves either the
//! old or the new state. Records are JSON with a schema version `v`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

pub const QUEUES: &str = "sqs.queues";
pub const MESSAGES: &str = "sqs.messages";

pub const SCHEMA_VERSION: u32 = 1;

/// How long a FIFO deduplication id is remembered.
pub const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QueueRecord {
    pub v: u32,
    pub name: String,
    /// Settable attributes with their effective values (defaults filled in at creation).
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
    pub last_modified: i64,
    /// When PurgeQueue last ran (Unix ms), for AWS's one-purge-per-60-seconds rule.
    #[serde(default)]
    pub last_purge_ms: Option<i64>,
}

impl QueueRecord {
    pub fn fifo(&self) -> bool {
        self.attributes.get("FifoQueue").is_some_and(|v| v == "true")
    }

    pub fn content_dedup(&self) -> bool {
        self.attributes.get("ContentBasedDeduplication").is_some_and(|v| v == "true")
    }

    /// A numeric attribute; every one read this way has a default stored at creation.
    pub fn num(&self, name: &str) -> i64 {
        self.attributes.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// A message attribute in its wire shape (binary values base64, as both protocols carry them).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MessageRecord {
    pub v: u32,
    pub id: String,
    pub seq: u64,
    pub body: String,
    pub md5_body: String,
    pub attributes: BTreeMap<String, AttributeValue>,
    #[serde(default)]
    pub md5_attributes: Option<String>,
    /// `AWSTraceHeader`, the one system attribute clients may send.
    #[serde(default)]
    pub trace_header: Option<String>,
    #[serde(default)]
    pub md5_system: Option<String>,
    pub sender_id: String,
    pub sent_ms: i64,
    pub receive_count: u32,
    #[serde(default)]
    pub first_receive_ms: Option<i64>,
    pub visible_at: i64,
    /// The token of the latest receive; a receipt handle carrying another one is stale.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub dedup_id: Option<String>,
    /// The queue a dead-letter redrive moved the message from (`DeadLetterQueueSourceArn`).
    #[serde(default)]
    pub dlq_source: Option<String>,
}

/// What the visibility index says about a message without reading it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexValue {
    /// Received at least once: invisible means in flight rather than delayed.
    pub f: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub g: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DedupRecord {
    pub id: String,
    pub seq: u64,
    pub expires_ms: i64,
}

pub fn queue_key(scope: &Scope, name: &str) -> Vec<u8> {
    format!("{}/{}/{name}", scope.account, scope.region).into_bytes()
}

/// The prefix of every message key of a queue.
pub fn queue_prefix(scope: &Scope, name: &str) -> String {
    format!("{}/{}/{name}/", scope.account, scope.region)
}

pub fn message_key(prefix: &str, seq: u64) -> Vec<u8> {
    format!("{prefix}m/{seq:020}").into_bytes()
}

pub fn index_key(prefix: &str, visible_at: i64, seq: u64) -> Vec<u8> {
    format!("{prefix}i/{:016}/{seq:020}", visible_at.max(0)).into_bytes()
}

/// The index keys visible at `now`: from the start of the index up to `now` inclusive.
pub fn index_until(prefix: &str, now: i64) -> (Vec<u8>, Vec<u8>) {
    (format!("{prefix}i/").into_bytes(), format!("{prefix}i/{:016}", now.max(0) + 1).into_bytes())
}

/// Reads `(visible_at, seq)` back from an index key.
pub fn parse_index_key(key: &[u8]) -> Option<(i64, u64)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.rsplitn(3, '/');
    let seq = parts.next()?.parse().ok()?;
    let visible_at = parts.next()?.parse().ok()?;
    Some((visible_at, seq))
}

pub fn dedup_key(prefix: &str, dedup_id: &str) -> Vec<u8> {
    format!("{prefix}d/{dedup_id}").into_bytes()
}

pub fn queue_arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:sqs:{}:{}:{name}", scope.region, scope.account)
}

pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Records are maps of strings and numbers; serialising them cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("sqs record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_by_time_and_parse_back() {
        let a = index_key("p/", 5, 9);
        let b = index_key("p/", 10, 1);
        assert!(a < b);
        assert_eq!(parse_index_key(&a), Some((5, 9)));
        let (lo, hi) = index_until("p/", 10);
        assert!(lo.as_slice() <= a.as_slice() && b.as_slice() < hi.as_slice());
        assert!(index_key("p/", 11, 0).as_slice() > hi.as_slice());
    }
}
