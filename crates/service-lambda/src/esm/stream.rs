//! The DynamoDB stream poller of an event source mapping: read up to BatchSize records after
//! the durable checkpoint, drop those the filters reject, invoke the function with
//! `{"Records": [...]}`, and move the checkpoint past the batch once it is done. A failing
//! batch is retried in order (split in two first when BisectBatchOnFunctionError is set) until
//! MaximumRetryAttempts or MaximumRecordAgeInSeconds gives up on it; then its OnFailure
//! destination gets a record describing it and the poller moves on. With
//! ReportBatchItemFailures, records before the first failed sequence number count as done.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use ports::{FunctionInvoker, PortError, StreamRecord};
use serde_json::{Value, json};

use super::filter::Filter;
use super::{CHECKPOINTS, MappingRecord, Stop, describe};
use crate::{Inner, LambdaService};

/// How often an idle stream is read (Lambda reads each shard about four times a second).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The longest wait between two attempts of a failing batch.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// A record on its way to the function.
#[derive(Clone, Debug)]
struct Item {
    record: StreamRecord,
    json: Value,
}

/// How one invocation of a batch went.
enum Outcome {
    Done,
    /// Records from this index on failed (ReportBatchItemFailures).
    FailedFrom(usize),
    Failed,
    /// Throttled or the function is unavailable: try again without counting an attempt.
    Unavailable,
}

fn load_checkpoint(inner: &Inner, m: &MappingRecord) -> Option<String> {
    let raw = inner.kv.get(CHECKPOINTS, &m.key()).ok().flatten()?;
    let text = String::from_utf8(raw).ok()?;
    (!text.is_empty()).then_some(text)
}

/// Which record a stream `ReportBatchItemFailures` response fails first, by sequence number.
fn first_failure(payload: &[u8], items: &[Item]) -> Option<Option<usize>> {
    let ids: std::collections::HashSet<&str> =
        items.iter().map(|i| i.record.sequence_number.as_str()).collect();
    let failed = super::sqs::item_failures(payload, &ids)?;
    Some(items.iter().position(|i| failed.contains(&i.record.sequence_number)))
}

async fn invoke(invoker: &LambdaService, m: &MappingRecord, items: &[Item]) -> Outcome {
    let records: Vec<&Value> = items.iter().map(|i| &i.json).collect();
    let payload = json!({ "Records": records }).to_string();
    match invoker.invoke(&m.function_arn, payload.into(), None).await {
        Ok(resp) if resp.function_error.is_none() => {
            if !m.reports_item_failures() {
                return Outcome::Done;
            }
            match first_failure(&resp.payload, items) {
                Some(None) => Outcome::Done,
                Some(Some(0)) | None => Outcome::Failed,
                Some(Some(i)) => Outcome::FailedFrom(i),
            }
        }
        Ok(_) => Outcome::Failed,
        Err(PortError::Unavailable(_)) => Outcome::Unavailable,
        Err(e) => {
            tracing::warn!(mapping = %describe(m), error = %e, "event source mapping cannot invoke");
            Outcome::Unavailable
        }
    }
}

/// The OnFailure record for a batch given up on, in Lambda's shape for stream sources.
fn failure_record(inner: &Inner, m: &MappingRecord, items: &[Item], condition: &str, attempts: u32) -> Value {
    let first = &items[0].record;
    let last = &items[items.len() - 1].record;
    let iso = |secs: i64| types::timefmt::iso_millis(secs * 1000, "Z");
    json!({
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": m.function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": types::timefmt::iso_millis(inner.now_ms(), "Z"),
        "DDBStreamBatchInfo": {
            "shardId": first.shard_id,
            "startSequenceNumber": first.sequence_number,
            "endSequenceNumber": last.sequence_number,
            "approximateArrivalOfFirstRecord": iso(first.created),
            "approximateArrivalOfLastRecord": iso(last.created),
            "batchSize": items.len(),
            "streamArn": m.source_arn,
        },
    })
}

fn give_up(inner: &Inner, m: &MappingRecord, items: &[Item], condition: &str, attempts: u32) {
    tracing::warn!(mapping = %describe(m), records = items.len(), %condition, "event source mapping skips a batch");
    let Some(destination) = &m.on_failure else { return };
    let body = failure_record(inner, m, items, condition, attempts).to_string();
    let sent = match inner.queue_sender.get() {
        Some(sender) => sender.send_message(destination, &body, &[], None, None),
        None => Err(PortError::Unavailable("SQS is not wired".to_owned())),
    };
    if let Err(e) = sent {
        tracing::warn!(%destination, error = %e, "OnFailure destination refused the record; dropped");
    }
}

/// Runs a batch to completion (done, or given up on); false if stopped first.
async fn process(
    inner: &Inner,
    invoker: &LambdaService,
    m: &MappingRecord,
    stop: &Stop,
    batch: Vec<Item>,
) -> bool {
    let mut work: VecDeque<(Vec<Item>, u32)> = VecDeque::from([(batch, 0)]);
    while let Some((mut items, mut attempts)) = work.pop_front() {
        if stop.is_stopped() {
            return false;
        }
        let outcome = invoke(invoker, m, &items).await;
        let result = match outcome {
            Outcome::Done => "OK",
            _ => "PROBLEM: Function call failed",
        };
        inner.pollers.record_result(&m.key(), result);
        match outcome {
            Outcome::Done => continue,
            Outcome::Unavailable => {
                if !stop.sleep(Duration::from_secs(1)).await {
                    return false;
                }
                work.push_front((items, attempts));
                continue;
            }
            Outcome::FailedFrom(i) => {
                items.drain(..i);
            }
            Outcome::Failed => {}
        }
        attempts += 1;
        let now = inner.now_ms() / 1000;
        if m.max_record_age >= 0 && items.iter().any(|i| now - i.record.created > m.max_record_age) {
            give_up(inner, m, &items, "RecordAgeExceeded", attempts);
            continue;
        }
        if m.bisect && items.len() > 1 {
            let second = items.split_off(items.len() / 2);
            work.push_front((second, attempts));
            work.push_front((items, attempts));
            continue;
        }
        if m.max_retries >= 0 && i64::from(attempts) > m.max_retries {
            give_up(inner, m, &items, "RetryAttemptsExhausted", attempts);
            continue;
        }
        let wait = (Duration::from_millis(200) * attempts).min(MAX_RETRY_WAIT);
        if !stop.sleep(wait).await {
            return false;
        }
        work.push_front((items, attempts));
    }
    true
}

/// The poller of one stream mapping; runs until stopped.
pub async fn poll(inner: Arc<Inner>, m: Arc<MappingRecord>, stop: Arc<Stop>) {
    let filter = Filter::new(m.filters.as_deref());
    let invoker = LambdaService { inner: inner.clone() };
    let key = m.key();
    let window = Duration::from_secs(u64::from(m.window.unwrap_or(0)));
    let mut waited = false;
    while !stop.is_stopped() {
        let Some(reader) = inner.stream_reader.get().cloned() else {
            stop.sleep(Duration::from_secs(1)).await;
            continue;
        };
        let checkpoint = load_checkpoint(&inner, &m);
        let records = match reader.read(&m.source_arn, checkpoint.as_deref(), m.batch_size.max(1) as usize) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(mapping = %describe(&m), error = %e, "event source mapping cannot read its stream");
                stop.sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if records.is_empty() {
            stop.sleep(IDLE_POLL).await;
            continue;
        }
        // With a batching window, wait once for the batch to fill before invoking.
        if !window.is_zero() && records.len() < m.batch_size as usize && !waited {
            waited = true;
            stop.sleep(window).await;
            continue;
        }
        waited = false;
        let last = records[records.len() - 1].sequence_number.clone();
        let batch: Vec<Item> = records
            .into_iter()
            .filter_map(|record| {
                let json: Value = serde_json::from_slice(&record.data).ok()?;
                filter.passes(&json).then_some(Item { record, json })
            })
            .collect();
        if !batch.is_empty() && !process(&inner, &invoker, &m, &stop, batch).await {
            break;
        }
        // A mapping deleted meanwhile keeps no checkpoint behind.
        if !matches!(inner.kv.get(super::MAPPINGS, &key), Ok(Some(_))) {
            break;
        }
        if let Err(e) = inner.kv.put(CHECKPOINTS, &key, last.as_bytes()) {
            tracing::error!(mapping = %describe(&m), error = %e, "could not save a stream checkpoint");
        }
    }
}
