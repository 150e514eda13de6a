//! DynamoDB Streams: the change record every write of a stream-enabled table appends in the
//! same Kv batch as the item, the `DynamoDBStreams_20120810` API over those records
//! (ListStreams, DescribeStream, GetShardIterator, GetRecords), and `ports::StreamReader`, through
//! which Lambda's event source mappings read them.
//!
//! Key layout: `ddb.stream`: `{account}/{region}/{TableName}/{StreamLabel}/` + the sequence
//! number as 21+ decimal digits → the record in GetRecords' `Record` shape (JSON). Sequence
//! numbers are the clock in nanoseconds, bumped to stay unique and increasing, so they keep
//! growing across restarts, sort as keys, and the 24-hour retention cut-off is itself a key.
//! A sequence number is taken under one lock that is held until the batch carrying it commits,
//! so records become visible in sequence order and a reader never skips one that commits late.
//! One shard per stream.

use std::cell::RefCell;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use dynamodb_expr::Item;
use ports::{PortError, StreamPosition, StreamReader, StreamRecord};
use serde_json::{Value, json};
use storage::{Batch, KeyRange, Op};
use types::{AccountId, Region, Scope};

use crate::error::Error;
use crate::model::{self, StreamSpec, TABLES, TableRecord};
use crate::operation::{DescribeStream, GetRecords, GetShardIterator, ListStreams};
use crate::{DynamoDbService, Env};

pub const STREAM: &str = "ddb.stream";

/// Records are kept 24 hours.
const RETENTION_NANOS: i128 = 24 * 3600 * 1_000_000_000;
/// Shard iterators are valid for 15 minutes.
const ITERATOR_TTL_MS: i64 = 15 * 60 * 1000;
/// How many expired records one read deletes at most, so a trim never stalls a reader.
const TRIM_BATCH: usize = 1000;

/// The process-wide source of sequence numbers (the last one handed out).
#[derive(Debug, Default)]
pub struct Sequencer {
    last: Mutex<u128>,
}

/// The sequence lock a request holds from its first stream record until its batch committed.
pub type SequenceGuard<'a> = RefCell<Option<MutexGuard<'a, u128>>>;

pub fn format_seq(seq: u128) -> String {
    format!("{seq:021}")
}

fn parse_seq(text: &str) -> Option<u128> {
    (!text.is_empty() && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

impl Env<'_> {
    /// The next sequence number; takes the sequence lock for the rest of the write.
    fn next_sequence(&self) -> u128 {
        let mut slot = self.seq_guard.borrow_mut();
        let guard = slot.get_or_insert_with(|| self.sequencer.last.lock().unwrap_or_else(|e| e.into_inner()));
        let next = (**guard + 1).max(u128::try_from(self.now_nanos).unwrap_or(0));
        **guard = next;
        next
    }

    /// Lets other writers take sequence numbers again (the batch committed or was abandoned).
    pub fn release_sequence(&self) {
        self.seq_guard.borrow_mut().take();
    }

    /// The oldest sequence number still retained.
    fn cutoff(&self) -> u128 {
        u128::try_from(self.now_nanos - RETENTION_NANOS).unwrap_or(0)
    }
}

/// The prefix of every record of one stream.
pub fn stream_prefix(scope: &Scope, table: &str, label: &str) -> Vec<u8> {
    let mut key = model::table_key(scope, table);
    key.push(b'/');
    key.extend_from_slice(label.as_bytes());
    key.push(b'/');
    key
}

/// Appends the stream record of a write that replaces `old` by `new`, if the table has a
/// stream and the write changed the item (DynamoDB writes no record for a write that changes
/// nothing).
pub fn append(batch: &mut Batch, env: &Env<'_>, table: &TableRecord, old: Option<&Item>, new: Option<&Item>) {
    let Some(StreamSpec { enabled: true, view_type, label: Some(label) }) = &table.stream else { return };
    let event = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(o), Some(n)) if o != n => "MODIFY",
        (Some(_), None) => "REMOVE",
        _ => return,
    };
    let Some(any) = new.or(old) else { return };
    let view = view_type.as_deref().unwrap_or("KEYS_ONLY");
    let mut keys = Item::new();
    model::key_attributes(&table.keys, any, &mut keys);
    let seq = format_seq(env.next_sequence());
    let mut size = dynamodb_expr::size::item_size(&keys);
    let mut body = json!({
        "ApproximateCreationDateTime": env.now.floor() as i64,
        "Keys": dynamodb_expr::item_to_json(&keys),
        "SequenceNumber": seq,
        "StreamViewType": view,
    });
    if matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
        && let Some(n) = new
    {
        body["NewImage"] = dynamodb_expr::item_to_json(n);
        size += dynamodb_expr::size::item_size(n);
    }
    if matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
        && let Some(o) = old
    {
        body["OldImage"] = dynamodb_expr::item_to_json(o);
        size += dynamodb_expr::size::item_size(o);
    }
    body["SizeBytes"] = json!(size);
    let mut record = json!({
        "eventID": uuid::Uuid::new_v4().simple().to_string(),
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": env.scope.region.as_str(),
        "dynamodb": body,
    });
    if env.ttl_deletes {
        // GetRecords' `Identity` shape; Lambda's event spells the members in camel case (`read`).
        record["userIdentity"] = json!({ "Type": "Service", "PrincipalId": "dynamodb.amazonaws.com" });
    }
    let mut key = stream_prefix(env.scope, &table.name, label);
    key.extend_from_slice(seq.as_bytes());
    batch.push(Op::Put { table: STREAM.to_owned(), key, value: record.to_string().into_bytes() });
}

/// A stream as a request names it.
struct Stream {
    arn: String,
    table: TableRecord,
    label: String,
    enabled: bool,
    prefix: Vec<u8>,
}

impl Stream {
    fn shard_id(&self) -> String {
        shard_id(&self.label)
    }
}

/// The one shard's id, in AWS's shape (`shardId-` + 20 digits + `-` + 8 hex), derived from the
/// stream label so it is stable.
fn shard_id(label: &str) -> String {
    let digits: String = label.chars().filter(char::is_ascii_digit).collect();
    let hash = label.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("shardId-{digits:0>20}-{hash:08x}")
}

/// `arn:aws:dynamodb:{region}:{account}:table/{name}/stream/{label}` split into its parts.
fn parse_arn(arn: &str) -> Option<(Scope, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("dynamodb"), Some(region), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (table, label) = resource.strip_prefix("table/")?.split_once("/stream/")?;
    let scope = Scope { account: AccountId::parse(account)?, region: Region::parse(region)? };
    Some((scope, table.to_owned(), label.to_owned()))
}

fn stream_not_found(arn: &str) -> Error {
    Error::ResourceNotFoundException(format!("Requested resource not found: Stream: {arn} not found"))
}

fn check_limit(member: &str, value: i64, max: i64) -> Result<usize, Error> {
    let constraint = if value < 1 {
        "Member must have value greater than or equal to 1"
    } else if value > max {
        if max == 100 {
            "Member must have value less than or equal to 100"
        } else {
            "Member must have value less than or equal to 1000"
        }
    } else {
        return Ok(usize::try_from(value).unwrap_or(1));
    };
    Err(Error::validation(protocol::validation_message([(member, value.to_string().as_str(), constraint)])))
}

/// When a stream was created (its label), in Unix seconds.
fn label_time(label: &str) -> f64 {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
    );
    time::PrimitiveDateTime::parse(label, &f)
        .map(|t| t.assume_utc().unix_timestamp_nanos() as f64 / 1e9)
        .unwrap_or(0.0)
}

/// A time as Java's `Date.toString` writes it, which is how the iterator expiry message does.
fn java_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]"
    );
    t.format(&f).unwrap_or_default()
}

impl Env<'_> {
    /// The stream an ARN names, if its table still has it.
    fn stream(&self, arn: &str) -> Result<Stream, Error> {
        let Some((scope, table, label)) = parse_arn(arn) else {
            return Err(stream_not_found(arn));
        };
        if scope != *self.scope {
            return Err(stream_not_found(arn));
        }
        let Some(table) = self.find_table(&table).ok().flatten() else {
            return Err(stream_not_found(arn));
        };
        let record = table.record;
        let Some(spec) = record.stream.as_ref().filter(|s| s.label.as_deref() == Some(label.as_str())) else {
            return Err(stream_not_found(arn));
        };
        let enabled = spec.enabled;
        let prefix = stream_prefix(self.scope, &record.name, &label);
        Ok(Stream { arn: arn.to_owned(), label, enabled, prefix, table: record })
    }

    /// The newest record's sequence number.
    fn last_seq(&self, stream: &Stream) -> Result<Option<String>, Error> {
        let mut range = KeyRange::prefix(stream.prefix.clone());
        range.reverse = true;
        let last = self.kv.scan(STREAM, range, 1)?;
        Ok(last.first().map(|(k, _)| String::from_utf8_lossy(&k[stream.prefix.len()..]).into_owned()))
    }

    /// The oldest retained record's sequence number.
    fn first_seq(&self, stream: &Stream) -> Result<Option<String>, Error> {
        let first = self.kv.scan(STREAM, KeyRange::prefix(stream.prefix.clone()), 1)?;
        Ok(first.first().map(|(k, _)| String::from_utf8_lossy(&k[stream.prefix.len()..]).into_owned()))
    }

    /// Deletes records past the retention period (a bounded number per call).
    fn trim(&self, stream: &Stream) -> Result<(), Error> {
        let mut end = stream.prefix.clone();
        end.extend_from_slice(format_seq(self.cutoff()).as_bytes());
        let range = KeyRange::new(Bound::Included(stream.prefix.clone()), Bound::Excluded(end));
        let old = self.kv.scan(STREAM, range, TRIM_BATCH)?;
        if old.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for (k, _) in old {
            batch.push(Op::Delete { table: STREAM.to_owned(), key: k });
        }
        self.kv.commit(batch).map_err(|e| match e {
            storage::CommitError::Storage(e) => Error::InternalServerError(e),
            storage::CommitError::ConditionFailed { .. } => {
                Error::InternalServerError(storage::StorageError::Corrupt("unconditional trim failed".into()))
            }
        })
    }

    /// Up to `limit` records after `after` (`None`: from the oldest), as stored.
    fn records_after(
        &self,
        stream: &Stream,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        self.trim(stream)?;
        let mut range = KeyRange::prefix(stream.prefix.clone());
        if let Some(after) = after {
            let mut start = stream.prefix.clone();
            start.extend_from_slice(after.as_bytes());
            range.start = Bound::Excluded(start);
        }
        let entries = self.kv.scan(STREAM, range, limit)?;
        Ok(entries
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k[stream.prefix.len()..]).into_owned(), v))
            .collect())
    }

    pub fn list_streams(&self, input: &ListStreams) -> Result<Value, Error> {
        let limit = check_limit("limit", input.limit.unwrap_or(100), 100)?;
        let mut streams = Vec::new();
        let tables: Vec<TableRecord> = match &input.table_name {
            Some(name) => vec![self.table(name)?.record],
            None => {
                let entries =
                    self.kv.scan(TABLES, KeyRange::prefix(model::scope_prefix(self.scope)), usize::MAX)?;
                entries.iter().map(|(_, v)| model::decode_table(v)).collect::<Result<_, _>>()?
            }
        };
        for t in tables {
            if let Some(label) = t.stream.as_ref().and_then(|s| s.label.clone()) {
                let arn = format!("{}/stream/{label}", t.arn(self.scope));
                streams.push(json!({ "StreamArn": arn, "TableName": t.name, "StreamLabel": label }));
            }
        }
        if let Some(start) = &input.exclusive_start_stream_arn
            && let Some(i) = streams.iter().position(|s| s["StreamArn"] == json!(start))
        {
            streams.drain(..=i);
        }
        let more = streams.len() > limit;
        streams.truncate(limit);
        let mut out = json!({ "Streams": streams });
        if more && let Some(last) = streams.last() {
            out["LastEvaluatedStreamArn"] = last["StreamArn"].clone();
        }
        Ok(out)
    }

    pub fn describe_stream(&self, input: &DescribeStream) -> Result<Value, Error> {
        if let Some(limit) = input.limit {
            check_limit("limit", limit, 100)?;
        }
        let stream = self.stream(&input.stream_arn)?;
        let spec = stream.table.stream.clone().unwrap_or(StreamSpec {
            enabled: false,
            view_type: None,
            label: None,
        });
        let created = label_time(&stream.label);
        let start = match self.first_seq(&stream)? {
            Some(s) => s,
            None => format_seq((created * 1e9) as u128),
        };
        let mut range = json!({ "StartingSequenceNumber": start });
        if !stream.enabled {
            range["EndingSequenceNumber"] = json!(self.last_seq(&stream)?.unwrap_or(start));
        }
        let shard_id = stream.shard_id();
        let shards = if input.exclusive_start_shard_id.as_deref() == Some(shard_id.as_str()) {
            vec![]
        } else {
            vec![json!({ "ShardId": shard_id, "SequenceNumberRange": range })]
        };
        let key_schema: Vec<Value> = std::iter::once(json!({
            "AttributeName": stream.table.keys.partition.name, "KeyType": "HASH"
        }))
        .chain(stream.table.keys.sort.iter().map(|s| json!({ "AttributeName": s.name, "KeyType": "RANGE" })))
        .collect();
        Ok(json!({ "StreamDescription": {
            "StreamArn": stream.arn,
            "StreamLabel": stream.label,
            "StreamStatus": if stream.enabled { "ENABLED" } else { "DISABLED" },
            "StreamViewType": spec.view_type.unwrap_or_else(|| "KEYS_ONLY".to_owned()),
            "CreationRequestDateTime": created,
            "TableName": stream.table.name,
            "KeySchema": key_schema,
            "Shards": shards,
        }}))
    }

    pub fn get_shard_iterator(&self, input: &GetShardIterator) -> Result<Value, Error> {
        const KINDS: &[&str] = &["TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"];
        if !KINDS.contains(&input.shard_iterator_type.as_str()) {
            return Err(Error::validation(protocol::validation_message([(
                "shardIteratorType",
                input.shard_iterator_type.as_str(),
                "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
            )])));
        }
        let stream = self.stream(&input.stream_arn)?;
        if input.shard_id != stream.shard_id() {
            return Err(Error::ResourceNotFoundException(format!(
                "Requested resource not found: Shard does not exist: {}",
                input.shard_id
            )));
        }
        let at_seq = |kind: &str| -> Result<u128, Error> {
            let text = input.sequence_number.as_deref().ok_or_else(|| {
                Error::validation(format!("Must specify SequenceNumber when ShardIteratorType is {kind}"))
            })?;
            let seq = parse_seq(text)
                .ok_or_else(|| Error::validation(format!("Invalid SequenceNumber: {text}")))?;
            if seq < self.cutoff() {
                return Err(Error::TrimmedDataAccessException(
                    "The requested sequence number is beyond the trim horizon".to_owned(),
                ));
            }
            Ok(seq)
        };
        let after = match input.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => String::new(),
            "LATEST" => self.last_seq(&stream)?.unwrap_or_default(),
            "AT_SEQUENCE_NUMBER" => format_seq(at_seq("AT_SEQUENCE_NUMBER")?.saturating_sub(1)),
            _ => format_seq(at_seq("AFTER_SEQUENCE_NUMBER")?),
        };
        Ok(json!({ "ShardIterator": self.iterator(&stream, &after) }))
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.now_nanos / 1_000_000).unwrap_or(i64::MAX)
    }

    /// An iterator: the stream, its shard, the position (after this sequence number; empty for
    /// the start) and when it was issued.
    fn iterator(&self, stream: &Stream, after: &str) -> String {
        format!("{}|{}|{after}|{}", stream.arn, stream.shard_id(), self.now_ms())
    }

    pub fn get_records(&self, input: &GetRecords) -> Result<Value, Error> {
        let limit = check_limit("limit", input.limit.unwrap_or(1000), 1000)?;
        let invalid = || Error::validation("Invalid ShardIterator");
        if input.shard_iterator.len() > 2048 {
            return Err(invalid());
        }
        let mut parts = input.shard_iterator.rsplitn(4, '|');
        let (Some(issued), Some(after), Some(shard), Some(arn)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let issued: i64 = issued.parse().map_err(|_| invalid())?;
        if !after.is_empty() && parse_seq(after).is_none() {
            return Err(invalid());
        }
        let now = self.now_ms();
        if now - issued > ITERATOR_TTL_MS {
            return Err(Error::ExpiredIteratorException(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds.",
                java_time(issued),
                java_time(now)
            )));
        }
        let stream = self.stream(arn)?;
        if shard != stream.shard_id() {
            return Err(invalid());
        }
        if !after.is_empty() && parse_seq(after).unwrap_or(0) + 1 < self.cutoff() {
            return Err(Error::TrimmedDataAccessException(
                "The data you are trying to access has been trimmed".to_owned(),
            ));
        }
        let records = self.records_after(&stream, (!after.is_empty()).then_some(after), limit)?;
        let next_after = records.last().map_or(after.to_owned(), |(seq, _)| seq.clone());
        let values: Vec<Value> =
            records.iter().map(|(_, v)| serde_json::from_slice(v).unwrap_or(Value::Null)).collect();
        let mut out = json!({ "Records": values });
        // A disabled stream's shard is closed: once a reader has everything, there is no next.
        if stream.enabled || records.len() == limit {
            out["NextShardIterator"] = json!(self.iterator(&stream, &next_after));
        }
        Ok(out)
    }
}

fn port_error(e: Error) -> PortError {
    match e {
        Error::ResourceNotFoundException(m) => PortError::NotFound(m),
        Error::InternalServerError(e) => PortError::Unavailable(e.to_string()),
        other => PortError::Invalid(other.to_string()),
    }
}

impl DynamoDbService {
    /// Runs `f` on the stream an ARN names, in the stream's own account and region.
    fn with_stream<R>(
        &self,
        stream_arn: &str,
        f: impl FnOnce(&Env<'_>, &Stream) -> Result<R, Error>,
    ) -> Result<R, PortError> {
        let (scope, _, _) =
            parse_arn(stream_arn).ok_or_else(|| PortError::NotFound(stream_arn.to_owned()))?;
        let env = self.env(&scope, self.now_nanos(), &self.sequencer);
        let stream = env.stream(stream_arn).map_err(port_error)?;
        f(&env, &stream).map_err(port_error)
    }
}

impl StreamReader for DynamoDbService {
    fn checkpoint(&self, stream_arn: &str, position: &StreamPosition) -> Result<Option<String>, PortError> {
        self.with_stream(stream_arn, |env, stream| {
            Ok(match position {
                StreamPosition::TrimHorizon => None,
                StreamPosition::Latest => env.last_seq(stream)?,
                StreamPosition::AtTimestamp(t) => Some(format_seq(((t * 1e9) as u128).saturating_sub(1))),
                StreamPosition::After(s) => Some(s.clone()),
            })
        })
    }

    fn read(
        &self,
        stream_arn: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StreamRecord>, PortError> {
        self.with_stream(stream_arn, |env, stream| {
            let records = env.records_after(stream, after, limit)?;
            let shard_id = stream.shard_id();
            Ok(records
                .into_iter()
                .map(|(seq, raw)| {
                    let mut record: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                    let created = record["dynamodb"]["ApproximateCreationDateTime"].as_i64().unwrap_or(0);
                    record["eventSourceARN"] = json!(stream_arn);
                    if let Some(who) = record.get("userIdentity").cloned() {
                        record["userIdentity"] =
                            json!({ "type": who["Type"], "principalId": who["PrincipalId"] });
                    }
                    StreamRecord {
                        sequence_number: seq,
                        data: Bytes::from(record.to_string()),
                        created,
                        shard_id: shard_id.clone(),
                    }
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_arns_split_at_the_label_even_though_it_has_colons() {
        let (scope, table, label) =
            parse_arn("arn:aws:dynamodb:eu-west-1:123456789012:table/t.1/stream/2026-11-27T12:13:25.123")
                .unwrap_or_else(|| panic!("parses"));
        assert_eq!(scope.region.as_str(), "eu-west-1");
        assert_eq!(table, "t.1");
        assert_eq!(label, "2026-11-27T12:13:25.123");
        assert!(parse_arn("arn:aws:dynamodb:eu-west-1:123456789012:table/t").is_none());
    }

    #[test]
    fn shard_ids_have_aws_shape_and_are_stable() {
        let id = shard_id("2026-11-27T12:13:25.123");
        assert_eq!(id, shard_id("2026-11-27T12:13:25.123"));
        assert!(id.starts_with("shardId-00020261127121325123-"), "{id}");
        assert_eq!(id.len(), 37);
        assert!((28..=65).contains(&id.len()));
    }

    #[test]
    fn sequence_numbers_sort_as_text_and_have_21_digits() {
        assert_eq!(format_seq(5).len(), 21);
        assert!(format_seq(9) < format_seq(10));
        assert_eq!(parse_seq(&format_seq(1_234)), Some(1_234));
        assert_eq!(parse_seq("12a"), None);
    }

    #[test]
    fn expiry_times_read_like_java_dates() {
        assert_eq!(java_time(0), "Thu Jan 01 00:00:00 UTC 1970");
    }
}
