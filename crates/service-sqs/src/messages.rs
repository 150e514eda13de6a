//! The message plane: SendMessage(Batch), ReceiveMessage with long polling, DeleteMessage(Batch),
//! ChangeMessageVisibility(Batch), dead-letter redrive and FIFO groups and deduplication.
//!
//! A receive takes the queue's lock, scans the visibility index up to "now" and, per message,
//! commits one batch that moves its index entry to `now + VisibilityTimeout` and bumps its
//! receive count with a fresh receipt token. An undeleted message therefore simply becomes due
//! again; nothing has to run when the timeout passes, before or after a restart.
//!
//! FIFO queues order by sequence number within a group rather than by due time: the whole index
//! is read, and a group whose oldest message is invisible (in flight or delayed) is skipped, so
//! one group's messages are never handed out past a message still in flight.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use base64::Engine;
use ports::QueueMessageAttribute;
use serde_json::{Map, Value, json};
use storage::{Batch, KeyRange, UNLIMITED};
use types::trace::TraceHeader;

use crate::digest::{md5_hex, md5_of_attributes, sha256_hex};
use crate::error::Error;
use crate::model::{
    self, AttributeValue, DEDUP_WINDOW_MS, DedupRecord, IndexValue, MESSAGES, MessageRecord, SCHEMA_VERSION,
};
use crate::operation::{ReceiveInput, SendEntry};
use crate::{Inner, Queue, lock};

const MAX_BATCH: usize = 10;
/// SQS's cap on a whole batch request's messages.
const MAX_BATCH_BYTES: usize = 262_144;
const MAX_ATTRIBUTES: usize = 10;
const MAX_VISIBILITY: i64 = 43_200;
/// How far a receive scans the index of a standard queue per round.
const SCAN: usize = 64;

/// The characters a message may hold: `#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD |
/// #x10000 to #x10FFFF` (Rust strings already exclude surrogates).
fn valid_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn invalid_characters() -> Error {
    Error::InvalidMessageContents(
        "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF".to_owned(),
    )
}

/// Checks message attributes (names, data types, values) and returns their size in bytes as
/// SQS counts it against the message size: name, data type and value.
fn check_attributes(attrs: &BTreeMap<String, AttributeValue>, system: bool) -> Result<usize, Error> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(Error::InvalidParameterValue(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            attrs.len()
        )));
    }
    let mut size = 0;
    for (name, value) in attrs {
        if system && name != "AWSTraceHeader" {
            return Err(Error::InvalidParameterValue(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        let name_ok = !name.is_empty()
            && name.len() <= 256
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..")
            && !name.to_ascii_lowercase().starts_with("aws.")
            && !name.to_ascii_lowercase().starts_with("amazon.");
        if !system && !name_ok {
            return Err(Error::InvalidParameterValue(format!(
                "Message (user) attribute name '{name}' is invalid. The attribute name can contain only alphanumeric characters, hyphens (-), underscores (_), or periods (.)."
            )));
        }
        let base = value.data_type.split('.').next().unwrap_or_default();
        let who = if system { "system" } else { "user" };
        if value.data_type.is_empty() {
            return Err(Error::InvalidParameterValue(format!(
                "The message attribute '{name}' must contain non-empty message attribute value."
            )));
        }
        if !matches!(base, "String" | "Number" | "Binary") {
            return Err(Error::InvalidParameterValue(format!(
                "The type of message ({who}) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
            )));
        }
        let value_len = if base == "Binary" {
            let raw = value
                .binary_value
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .filter(|b| !b.is_empty());
            raw.ok_or_else(|| {
                Error::InvalidParameterValue(format!(
                    "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                ))
            })?
            .len()
        } else {
            let text = value.string_value.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
                Error::InvalidParameterValue(format!(
                    "The message attribute '{name}' with type '{base}' must use field 'String'."
                ))
            })?;
            if !text.chars().all(valid_char) {
                return Err(invalid_characters());
            }
            if base == "Number" && text.trim().parse::<f64>().is_err() {
                return Err(Error::InvalidParameterValue(format!(
                    "Can't cast the value of message (user) attribute '{name}' to a number."
                )));
            }
            text.len()
        };
        size += name.len() + value.data_type.len() + value_len;
    }
    Ok(size)
}

/// What a send produced, in SendMessage's output shape (without the batch id).
struct Sent {
    id: String,
    md5_body: String,
    md5_attributes: Option<String>,
    md5_system: Option<String>,
    seq: Option<u64>,
}

impl Sent {
    fn to_json(&self, batch_id: Option<&str>) -> Value {
        let mut out = Map::new();
        if let Some(id) = batch_id {
            out.insert("Id".to_owned(), json!(id));
        }
        out.insert("MessageId".to_owned(), json!(self.id));
        out.insert("MD5OfMessageBody".to_owned(), json!(self.md5_body));
        if let Some(m) = &self.md5_attributes {
            out.insert("MD5OfMessageAttributes".to_owned(), json!(m));
        }
        if let Some(m) = &self.md5_system {
            out.insert("MD5OfMessageSystemAttributes".to_owned(), json!(m));
        }
        if let Some(seq) = self.seq {
            out.insert("SequenceNumber".to_owned(), json!(format!("{seq:020}")));
        }
        Value::Object(out)
    }
}

/// One batch entry's id and outcome.
type EntryResult = (String, Result<Sent, Error>);

/// Validates one message and adds its writes to `batch`; FIFO duplicates within the window
/// (including earlier entries of the same batch, tracked in `fresh_dedup`) write nothing and
/// answer the original message id.
fn prepare(
    inner: &Inner,
    queue: &Queue,
    entry: SendEntry,
    now: i64,
    batch: &mut Batch,
    fresh_dedup: &mut HashMap<String, (String, u64)>,
) -> Result<Sent, Error> {
    let record = &queue.record;
    let fifo = record.fifo();
    let body = entry
        .body
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::MissingParameter("MessageBody".to_owned()))?;
    if !body.chars().all(valid_char) {
        return Err(invalid_characters());
    }
    let size = body.len() + check_attributes(&entry.attributes, false)?;
    check_attributes(&entry.system_attributes, true)?;
    let max = usize::try_from(record.num("MaximumMessageSize")).unwrap_or(262_144);
    if size > max {
        return Err(Error::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
        )));
    }
    let delay = match entry.delay_seconds {
        Some(d) if fifo => {
            return Err(Error::invalid_value(
                "DelaySeconds",
                d,
                "The request include parameter that is not valid for this queue type",
            ));
        }
        Some(d) if !(0..=900).contains(&d) => {
            return Err(Error::invalid_value("DelaySeconds", d, "DelaySeconds must be >= 0 and <= 900"));
        }
        Some(d) => d,
        None => record.num("DelaySeconds"),
    };
    let (group, dedup_id) = if fifo {
        let group = entry.group_id.ok_or_else(|| Error::MissingParameter("MessageGroupId".to_owned()))?;
        check_fifo_id("MessageGroupId", &group)?;
        let dedup = match entry.dedup_id {
            Some(id) => {
                check_fifo_id("MessageDeduplicationId", &id)?;
                id
            }
            None if record.content_dedup() => sha256_hex(body.as_bytes()),
            None => {
                return Err(Error::InvalidParameterValue(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".to_owned(),
                ));
            }
        };
        (Some(group), Some(dedup))
    } else {
        if let Some(id) = entry.dedup_id {
            return Err(Error::invalid_value(
                "MessageDeduplicationId",
                id,
                "The request include parameter that is not valid for this queue type",
            ));
        }
        (entry.group_id, None)
    };
    let md5_body = md5_hex(body.as_bytes());
    let md5_attributes = md5_of_attributes(&entry.attributes);
    let md5_system = md5_of_attributes(&entry.system_attributes);
    let sent = |id: String, seq: u64| Sent {
        id,
        md5_body: md5_body.clone(),
        md5_attributes: md5_attributes.clone(),
        md5_system: md5_system.clone(),
        seq: fifo.then_some(seq),
    };
    let prefix = queue.prefix();
    if let Some(dedup) = &dedup_id {
        if let Some((id, seq)) = fresh_dedup.get(dedup) {
            return Ok(sent(id.clone(), *seq));
        }
        if let Some(raw) = inner.kv.get(MESSAGES, &model::dedup_key(&prefix, dedup))? {
            let known: DedupRecord = model::decode(&raw)?;
            if known.expires_ms > now {
                return Ok(sent(known.id, known.seq));
            }
        }
    }
    let seq = inner.next_seq();
    let id = uuid::Uuid::new_v4().to_string();
    let visible_at = now + delay * 1000;
    if let Some(dedup) = &dedup_id {
        let known = DedupRecord { id: id.clone(), seq, expires_ms: now + DEDUP_WINDOW_MS };
        batch.push(storage::Op::Put {
            table: MESSAGES.to_owned(),
            key: model::dedup_key(&prefix, dedup),
            value: model::encode(&known),
        });
        fresh_dedup.insert(dedup.clone(), (id.clone(), seq));
    }
    let message = MessageRecord {
        v: SCHEMA_VERSION,
        id: id.clone(),
        seq,
        body,
        md5_body: md5_body.clone(),
        md5_attributes: md5_attributes.clone(),
        trace_header: entry
            .system_attributes
            .get("AWSTraceHeader")
            .and_then(|v| v.string_value.clone())
            .or(entry.trace),
        md5_system: md5_system.clone(),
        attributes: entry.attributes,
        sender_id: queue.scope.account.to_string(),
        sent_ms: now,
        receive_count: 0,
        first_receive_ms: None,
        visible_at,
        token: None,
        group: group.clone(),
        dedup_id,
        dlq_source: None,
    };
    put_message(batch, &prefix, &message);
    Ok(sent(id, seq))
}

/// The writes that store `message` and its index entry.
pub(crate) fn put_message(batch: &mut Batch, prefix: &str, message: &MessageRecord) {
    let index = IndexValue { f: message.receive_count > 0, g: message.group.clone() };
    batch.push(storage::Op::Put {
        table: MESSAGES.to_owned(),
        key: model::message_key(prefix, message.seq),
        value: model::encode(message),
    });
    batch.push(storage::Op::Put {
        table: MESSAGES.to_owned(),
        key: model::index_key(prefix, message.visible_at, message.seq),
        value: model::encode(&index),
    });
}

/// MessageGroupId and MessageDeduplicationId: 1–128 printable ASCII characters.
fn check_fifo_id(name: &str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_value(
            name,
            value,
            &format!("{name} can only include alphanumeric and punctuation characters. 1 to 128 in length"),
        ))
    }
}

/// Commits `batch` and wakes long polls; FIFO sends are serialized per queue so that two
/// concurrent sends cannot both miss the same deduplication id.
fn send(inner: &Inner, queue: &Queue, entries: Vec<SendEntry>) -> Result<Vec<EntryResult>, Error> {
    let _fifo = queue.record.fifo().then(|| lock(&queue.shared.lock));
    let now = inner.now_ms();
    let mut batch = Batch::new();
    let mut fresh = HashMap::new();
    let results: Vec<_> = entries
        .into_iter()
        .map(|e| (e.id.clone(), prepare(inner, queue, e, now, &mut batch, &mut fresh)))
        .collect();
    if !batch.is_empty() {
        inner.kv.commit(batch)?;
        queue.shared.notify.notify_waiters();
    }
    Ok(results)
}

pub fn send_one(inner: &Inner, queue: &Queue, entry: SendEntry) -> Result<Value, Error> {
    let (_, result) = send(inner, queue, vec![entry])?.into_iter().next().ok_or(Error::QueueDoesNotExist)?;
    Ok(result?.to_json(None))
}

/// Checks a batch request's entry ids: present, 1 to 10 of them, well formed, distinct.
fn check_batch_ids<'a>(entry_name: &str, ids: impl ExactSizeIterator<Item = &'a str>) -> Result<(), Error> {
    let n = ids.len();
    if n == 0 {
        return Err(Error::EmptyBatchRequest(format!(
            "There should be at least one {entry_name} in the request."
        )));
    }
    if n > MAX_BATCH {
        return Err(Error::TooManyEntriesInBatchRequest(format!(
            "Maximum number of entries per request are {MAX_BATCH}. You have sent {n}."
        )));
    }
    let mut seen = HashSet::new();
    for id in ids {
        let ok = !id.is_empty()
            && id.len() <= 80
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::InvalidBatchEntryId);
        }
        if !seen.insert(id) {
            return Err(Error::BatchEntryIdsNotDistinct(format!("Id {id} repeated.")));
        }
    }
    Ok(())
}

/// A batch entry that failed, as `Failed` lists it.
fn failure(id: &str, e: &Error) -> Value {
    let wire = protocol::ServiceError::to_wire(e);
    json!({"Id": id, "SenderFault": wire.status.is_client_error(), "Code": wire.code, "Message": wire.message})
}

fn batch_output(successful: Vec<Value>, failed: Vec<Value>) -> Value {
    let mut out = Map::new();
    out.insert("Successful".to_owned(), Value::Array(successful));
    out.insert("Failed".to_owned(), Value::Array(failed));
    Value::Object(out)
}

pub fn send_batch(inner: &Inner, queue: &Queue, entries: Vec<SendEntry>) -> Result<Value, Error> {
    check_batch_ids("SendMessageBatchRequestEntry", entries.iter().map(|e| e.id.as_str()))?;
    let total: usize = entries.iter().map(|e| e.body.as_deref().map_or(0, str::len)).sum();
    if total > MAX_BATCH_BYTES {
        return Err(Error::BatchRequestTooLong(format!(
            "Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes."
        )));
    }
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (id, result) in send(inner, queue, entries)? {
        match result {
            Ok(sent) => ok.push(sent.to_json(Some(&id))),
            Err(e @ Error::InternalError(_)) => return Err(e),
            Err(e) => failed.push(failure(&id, &e)),
        }
    }
    Ok(batch_output(ok, failed))
}

/// A send through [`ports::QueueSender`]: FIFO queues deduplicate by content.
pub fn send_from_port(
    inner: &Inner,
    queue: &Queue,
    body: &str,
    attributes: &[(String, QueueMessageAttribute)],
    group_id: Option<&str>,
    dedup_id: Option<&str>,
    trace: Option<TraceHeader>,
) -> Result<String, Error> {
    let attributes = attributes
        .iter()
        .map(|(name, a)| {
            let binary = a.data_type.starts_with("Binary");
            let value = AttributeValue {
                data_type: a.data_type.clone(),
                string_value: (!binary).then(|| String::from_utf8_lossy(&a.value).into_owned()),
                binary_value: binary.then(|| base64::engine::general_purpose::STANDARD.encode(&a.value)),
            };
            (name.clone(), value)
        })
        .collect();
    let entry = SendEntry {
        body: Some(body.to_owned()),
        attributes,
        group_id: group_id.map(str::to_owned),
        dedup_id: queue
            .record
            .fifo()
            .then(|| dedup_id.map_or_else(|| sha256_hex(body.as_bytes()), str::to_owned)),
        trace: trace.map(|t| t.to_string()),
        ..SendEntry::default()
    };
    let (_, result) = send(inner, queue, vec![entry])?.into_iter().next().ok_or(Error::QueueDoesNotExist)?;
    Ok(result?.id)
}

/// A receipt handle: `{seq}:{token}`, base64. The token changes on every receive, so a handle
/// from an earlier receive no longer matches the record.
pub fn receipt_handle(seq: u64, token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{seq:020}:{token}"))
}

fn parse_handle(handle: &str) -> Result<(u64, String), Error> {
    let invalid = || {
        Error::ReceiptHandleIsInvalid(format!(
            "The input receipt handle \"{handle}\" is not a valid receipt handle."
        ))
    };
    let raw = base64::engine::general_purpose::STANDARD.decode(handle).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (seq, token) = text.split_once(':').ok_or_else(invalid)?;
    let seq = seq.parse().map_err(|_| invalid())?;
    Ok((seq, token.to_owned()))
}

/// The system attributes a receive may ask for.
const SYSTEM_NAMES: &[&str] = &[
    "All",
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

fn check_receive(queue: &Queue, input: &ReceiveInput) -> Result<(usize, i64, i64), Error> {
    let max = input.max.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(Error::invalid_value(
            "MaxNumberOfMessages",
            max,
            "Must be between 1 and 10, if provided",
        ));
    }
    let visibility = input.visibility_timeout.unwrap_or_else(|| queue.record.num("VisibilityTimeout"));
    if !(0..=MAX_VISIBILITY).contains(&visibility) {
        return Err(Error::invalid_value(
            "VisibilityTimeout",
            visibility,
            "Must be >= 0 and <= 43200, if provided",
        ));
    }
    let wait = input.wait_seconds.unwrap_or_else(|| queue.record.num("ReceiveMessageWaitTimeSeconds"));
    if !(0..=20).contains(&wait) {
        return Err(Error::invalid_value("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided"));
    }
    if let Some(name) = input.system_names.iter().find(|n| !SYSTEM_NAMES.contains(&n.as_str())) {
        return Err(Error::InvalidAttributeName(format!("Unknown Attribute {name}.")));
    }
    Ok((usize::try_from(max).unwrap_or(1), visibility, wait))
}

pub async fn receive(inner: &Inner, queue: &Queue, input: &ReceiveInput) -> Result<Value, Error> {
    let (max, visibility, wait) = check_receive(queue, input)?;
    let messages = receive_records(inner, queue, max, visibility, wait).await?;
    Ok(messages_output(queue, input, messages))
}

/// Receives up to `max` messages, waiting up to `wait` seconds for the first (checked input).
pub async fn receive_records(
    inner: &Inner,
    queue: &Queue,
    max: usize,
    visibility: i64,
    wait: i64,
) -> Result<Vec<MessageRecord>, Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::try_from(wait).unwrap_or(0));
    loop {
        // Registered before looking, so a send between the look and the wait still wakes us.
        let notified = queue.shared.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (messages, next_due) = receive_now(inner, queue, max, visibility)?;
        let now = tokio::time::Instant::now();
        if !messages.is_empty() || now >= deadline {
            return Ok(messages);
        }
        if inner.find(&queue.scope, &queue.record.name).is_none() {
            return Err(Error::QueueDoesNotExist);
        }
        // Wake for a send, for the next message coming due, or at the deadline.
        let mut sleep = deadline - now;
        if let Some(due) = next_due {
            let wait_ms = u64::try_from(due - inner.now_ms()).unwrap_or(0).max(5);
            sleep = sleep.min(Duration::from_millis(wait_ms));
        }
        let _ = tokio::time::timeout(sleep, notified).await;
    }
}

/// One pass over the queue: the messages received now and, if none, when the next one is due.
fn receive_now(
    inner: &Inner,
    queue: &Queue,
    max: usize,
    visibility: i64,
) -> Result<(Vec<MessageRecord>, Option<i64>), Error> {
    let _guard = lock(&queue.shared.lock);
    // The queue may have been changed (a redrive policy set) since this handle was taken.
    let queue = inner.find(&queue.scope, &queue.record.name).ok_or(Error::QueueDoesNotExist)?;
    let now = inner.now_ms();
    let prefix = queue.prefix();
    let mut out = Vec::new();
    if queue.record.fifo() {
        for seq in fifo_candidates(inner, &prefix, now, max)? {
            take(inner, &queue, seq, now, visibility, &mut out)?;
            if out.len() == max {
                break;
            }
        }
    } else {
        let (lo, hi) = model::index_until(&prefix, now);
        let mut from = std::ops::Bound::Included(lo);
        while out.len() < max {
            let due = inner.kv.scan(
                MESSAGES,
                KeyRange::new(from.clone(), std::ops::Bound::Excluded(hi.clone())),
                SCAN,
            )?;
            let exhausted = due.len() < SCAN;
            for (key, _) in &due {
                if let Some((_, seq)) = model::parse_index_key(key) {
                    take(inner, &queue, seq, now, visibility, &mut out)?;
                }
                if out.len() == max {
                    break;
                }
            }
            match due.last() {
                Some((key, _)) if !exhausted => from = std::ops::Bound::Excluded(key.clone()),
                _ => break,
            }
        }
    }
    let next_due = if out.is_empty() {
        let first = inner.kv.scan(MESSAGES, KeyRange::prefix(format!("{prefix}i/")), 1)?;
        first.first().and_then(|(k, _)| model::parse_index_key(k)).map(|(at, _)| at)
    } else {
        None
    };
    Ok((out, next_due))
}

/// The FIFO messages receivable now, in order: per group, the visible messages from its head up
/// to the first invisible one; a group whose head is invisible is blocked.
fn fifo_candidates(inner: &Inner, prefix: &str, now: i64, max: usize) -> Result<Vec<u64>, Error> {
    let index = inner.kv.scan(MESSAGES, KeyRange::prefix(format!("{prefix}i/")), UNLIMITED)?;
    let mut groups: BTreeMap<String, Vec<(u64, bool)>> = BTreeMap::new();
    for (key, raw) in &index {
        let Some((visible_at, seq)) = model::parse_index_key(key) else { continue };
        let group = model::decode::<IndexValue>(raw).ok().and_then(|v| v.g).unwrap_or_default();
        groups.entry(group).or_default().push((seq, visible_at <= now));
    }
    let mut heads: Vec<Vec<u64>> = groups
        .into_values()
        .map(|mut msgs| {
            msgs.sort_unstable();
            msgs.into_iter().take_while(|(_, visible)| *visible).map(|(seq, _)| seq).collect::<Vec<_>>()
        })
        .filter(|v: &Vec<u64>| !v.is_empty())
        .collect();
    // Oldest group first, and a group's messages together, as SQS hands them out.
    heads.sort_by_key(|v| v[0]);
    Ok(heads.into_iter().flatten().take(max * 4).collect())
}

/// Receives message `seq` if it is still due: expires it past the retention period, moves it to
/// the dead-letter queue once it has been received maxReceiveCount times, or makes it in flight.
fn take(
    inner: &Inner,
    queue: &Queue,
    seq: u64,
    now: i64,
    visibility: i64,
    out: &mut Vec<MessageRecord>,
) -> Result<(), Error> {
    let prefix = queue.prefix();
    let Some(raw) = inner.kv.get(MESSAGES, &model::message_key(&prefix, seq))? else {
        return Ok(());
    };
    let mut message: MessageRecord = model::decode(&raw)?;
    let old_index = model::index_key(&prefix, message.visible_at, seq);
    let mut batch = Batch::new().delete(MESSAGES, old_index);
    let retention = queue.record.num("MessageRetentionPeriod") * 1000;
    if now - message.sent_ms >= retention {
        inner.kv.commit(batch.delete(MESSAGES, model::message_key(&prefix, seq)))?;
        return Ok(());
    }
    if let Some((dlq, max_receives)) = redrive_target(inner, queue)
        && message.receive_count >= max_receives
    {
        batch = batch.delete(MESSAGES, model::message_key(&prefix, seq));
        message.visible_at = now;
        message.token = None;
        message.dlq_source = Some(queue.arn());
        put_message(&mut batch, &dlq.prefix(), &message);
        inner.kv.commit(batch)?;
        dlq.shared.notify.notify_waiters();
        return Ok(());
    }
    message.receive_count += 1;
    message.first_receive_ms.get_or_insert(now);
    message.visible_at = now + visibility * 1000;
    message.token = Some(uuid::Uuid::new_v4().simple().to_string());
    put_message(&mut batch, &prefix, &message);
    inner.kv.commit(batch)?;
    out.push(message);
    Ok(())
}

/// The queue's dead-letter queue and maxReceiveCount, if it has a policy naming a live queue.
fn redrive_target(inner: &Inner, queue: &Queue) -> Option<(Queue, u32)> {
    let policy: Value = serde_json::from_str(queue.record.attributes.get("RedrivePolicy")?).ok()?;
    let arn = policy.get("deadLetterTargetArn")?.as_str()?;
    let count = policy.get("maxReceiveCount")?.as_u64()?;
    Some((inner.find_arn(arn)?, u32::try_from(count).ok()?))
}

/// Whether a message attribute was asked for: `All`, `.*`, the exact name or a `prefix.*`.
fn attribute_wanted(names: &[String], name: &str) -> bool {
    names.iter().any(|n| {
        n == "All"
            || n == ".*"
            || n == name
            || n.strip_suffix(".*").is_some_and(|p| name.starts_with(&format!("{p}.")))
    })
}

fn messages_output(queue: &Queue, input: &ReceiveInput, messages: Vec<MessageRecord>) -> Value {
    if messages.is_empty() {
        return json!({});
    }
    let wanted = |n: &str| input.system_names.iter().any(|w| w == "All" || w == n);
    let fifo = queue.record.fifo();
    let list: Vec<Value> = messages
        .into_iter()
        .map(|m| {
            let mut system = Map::new();
            let mut put = |name: &str, value: Option<String>| {
                if let Some(v) = value.filter(|_| wanted(name)) {
                    system.insert(name.to_owned(), Value::String(v));
                }
            };
            put("SenderId", Some(m.sender_id.clone()));
            put("SentTimestamp", Some(m.sent_ms.to_string()));
            put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
            put("ApproximateFirstReceiveTimestamp", m.first_receive_ms.map(|t| t.to_string()));
            put("AWSTraceHeader", m.trace_header.clone());
            put("DeadLetterQueueSourceArn", m.dlq_source.clone());
            if fifo {
                put("SequenceNumber", Some(format!("{:020}", m.seq)));
                put("MessageDeduplicationId", m.dedup_id.clone());
                put("MessageGroupId", m.group.clone());
            }
            let attrs: BTreeMap<&String, &AttributeValue> =
                m.attributes.iter().filter(|(k, _)| attribute_wanted(&input.attribute_names, k)).collect();
            let mut out = Map::new();
            out.insert("MessageId".to_owned(), json!(m.id));
            out.insert(
                "ReceiptHandle".to_owned(),
                json!(receipt_handle(m.seq, m.token.as_deref().unwrap_or_default())),
            );
            out.insert("MD5OfBody".to_owned(), json!(m.md5_body));
            out.insert("Body".to_owned(), json!(m.body));
            if !system.is_empty() {
                out.insert("Attributes".to_owned(), Value::Object(system));
            }
            if !attrs.is_empty() {
                let selected: BTreeMap<String, AttributeValue> =
                    attrs.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                out.insert("MD5OfMessageAttributes".to_owned(), json!(md5_of_attributes(&selected)));
                out.insert("MessageAttributes".to_owned(), json!(selected));
            }
            Value::Object(out)
        })
        .collect();
    json!({"Messages": list})
}

/// Deletes the message a receipt handle names. A handle of a deleted message, or from an
/// earlier receive of a message received again since, succeeds without deleting, as on SQS.
pub fn delete(inner: &Inner, queue: &Queue, handle: &str) -> Result<(), Error> {
    let (seq, token) = parse_handle(handle)?;
    let _guard = lock(&queue.shared.lock);
    let prefix = queue.prefix();
    let key = model::message_key(&prefix, seq);
    let Some(raw) = inner.kv.get(MESSAGES, &key)? else { return Ok(()) };
    let message: MessageRecord = model::decode(&raw)?;
    if message.token.as_deref() != Some(token.as_str()) {
        return Ok(());
    }
    let index = model::index_key(&prefix, message.visible_at, seq);
    inner.kv.commit(Batch::new().delete(MESSAGES, key).delete(MESSAGES, index))?;
    Ok(())
}

pub fn delete_one(inner: &Inner, queue: &Queue, handle: &str) -> Result<Value, Error> {
    delete(inner, queue, handle)?;
    Ok(json!({}))
}

pub fn delete_batch(inner: &Inner, queue: &Queue, entries: Vec<(String, String)>) -> Result<Value, Error> {
    check_batch_ids("DeleteMessageBatchRequestEntry", entries.iter().map(|e| e.0.as_str()))?;
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (id, handle) in entries {
        match delete(inner, queue, &handle) {
            Ok(()) => ok.push(json!({"Id": id})),
            Err(e @ Error::InternalError(_)) => return Err(e),
            Err(e) => failed.push(failure(&id, &e)),
        }
    }
    Ok(batch_output(ok, failed))
}

/// Sets a received message's visibility timeout, counted from now.
pub fn change_visibility(inner: &Inner, queue: &Queue, handle: &str, timeout: i64) -> Result<(), Error> {
    if !(0..=MAX_VISIBILITY).contains(&timeout) {
        return Err(Error::invalid_value(
            "VisibilityTimeout",
            timeout,
            "Must be between 0 and 43200, if provided",
        ));
    }
    let (seq, token) = parse_handle(handle)?;
    let _guard = lock(&queue.shared.lock);
    let now = inner.now_ms();
    let prefix = queue.prefix();
    let key = model::message_key(&prefix, seq);
    let raw = inner.kv.get(MESSAGES, &key)?.ok_or(Error::MessageNotInflight)?;
    let mut message: MessageRecord = model::decode(&raw)?;
    if message.token.as_deref() != Some(token.as_str()) || message.visible_at <= now {
        return Err(Error::MessageNotInflight);
    }
    let mut batch = Batch::new().delete(MESSAGES, model::index_key(&prefix, message.visible_at, seq));
    message.visible_at = now + timeout * 1000;
    put_message(&mut batch, &prefix, &message);
    inner.kv.commit(batch)?;
    if timeout == 0 {
        queue.shared.notify.notify_waiters();
    }
    Ok(())
}

pub fn change_visibility_one(
    inner: &Inner,
    queue: &Queue,
    handle: &str,
    timeout: i64,
) -> Result<Value, Error> {
    change_visibility(inner, queue, handle, timeout)?;
    Ok(json!({}))
}

pub fn change_visibility_batch(
    inner: &Inner,
    queue: &Queue,
    entries: Vec<(String, String, i64)>,
) -> Result<Value, Error> {
    check_batch_ids("ChangeMessageVisibilityBatchRequestEntry", entries.iter().map(|e| e.0.as_str()))?;
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (id, handle, timeout) in entries {
        match change_visibility(inner, queue, &handle, timeout) {
            Ok(()) => ok.push(json!({"Id": id})),
            Err(e @ Error::InternalError(_)) => return Err(e),
            Err(e) => failed.push(failure(&id, &e)),
        }
    }
    Ok(batch_output(ok, failed))
}
