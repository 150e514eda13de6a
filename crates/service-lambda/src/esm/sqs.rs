//! The SQS poller of an event source mapping: long-poll the queue, gather up to BatchSize
//! messages within MaximumBatchingWindowInSeconds, delete those the filters reject (as Lambda
//! does), invoke the function with the SQS event, and delete what succeeded (on a FIFO queue,
//! only what precedes the first failure). Failed messages
//! are left alone: they come back when their visibility timeout ends, and SQS's own redrive
//! moves them to the dead-letter queue after maxReceiveCount receives.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ports::{FunctionInvoker, PortError, QueueReceiver, ReceivedMessage};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use types::trace::TraceHeader;

use super::filter::Filter;
use super::{MappingRecord, Stop, describe};
use crate::{Inner, LambdaService};

/// The longest wait of one receive (SQS's limit).
const LONG_POLL_SECONDS: u32 = 20;
/// The longest wait after throttles.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The record of one message in Lambda's SQS event.
pub fn record(m: &ReceivedMessage, queue_arn: &str, region: &str) -> Value {
    let attributes: Map<String, Value> =
        m.attributes.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let message_attributes: Map<String, Value> = m
        .message_attributes
        .iter()
        .map(|(name, a)| {
            let mut v = json!({ "stringListValues": [], "binaryListValues": [], "dataType": a.data_type });
            if a.data_type.starts_with("Binary") {
                v["binaryValue"] = json!(base64::engine::general_purpose::STANDARD.encode(&a.value));
            } else {
                v["stringValue"] = json!(String::from_utf8_lossy(&a.value));
            }
            (name.clone(), v)
        })
        .collect();
    let mut out = json!({
        "messageId": m.message_id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body,
    });
    if let Some(md5) = &m.md5_of_message_attributes {
        out["md5OfMessageAttributes"] = json!(md5);
    }
    out["eventSource"] = json!("aws:sqs");
    out["eventSourceARN"] = json!(queue_arn);
    out["awsRegion"] = json!(region);
    out
}

/// What filters see: the record with its body parsed when the body is JSON (Lambda filters on a
/// JSON body's fields, and on a plain body as a string).
fn filter_view(record: &Value) -> Value {
    let mut view = record.clone();
    if let Some(body) = record["body"].as_str()
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
    {
        view["body"] = parsed;
    }
    view
}

/// The messages a `ReportBatchItemFailures` response names as failed, or `None` when the
/// response is not a valid one (Lambda then counts the whole batch as failed). No response, an
/// empty or null `batchItemFailures`, or a response without it, is complete success.
pub fn item_failures(payload: &[u8], ids: &HashSet<&str>) -> Option<HashSet<String>> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Some(HashSet::new());
    }
    let value: Value = serde_json::from_slice(payload).ok()?;
    let Some(object) = value.as_object() else { return Some(HashSet::new()) };
    match object.get("batchItemFailures") {
        None | Some(Value::Null) => Some(HashSet::new()),
        Some(Value::Array(items)) => {
            let mut failed = HashSet::new();
            for item in items {
                match item.get("itemIdentifier").and_then(Value::as_str) {
                    Some(id) if !id.is_empty() && ids.contains(id) => failed.insert(id.to_owned()),
                    _ => return None,
                };
            }
            Some(failed)
        }
        Some(_) => None,
    }
}

/// Receives a batch: the first receive long-polls; more are gathered until BatchSize or the end
/// of the batching window.
async fn gather(
    receiver: &dyn QueueReceiver,
    m: &MappingRecord,
    stop: &Stop,
) -> Result<Vec<ReceivedMessage>, PortError> {
    let target = m.batch_size.max(1) as usize;
    let per_receive = |left: usize| u32::try_from(left.min(10)).unwrap_or(10);
    let first = tokio::select! {
        r = receiver.receive(&m.source_arn, per_receive(target), None, LONG_POLL_SECONDS) => r?,
        () = stop.stopped() => return Ok(Vec::new()),
    };
    if first.is_empty() {
        return Ok(first);
    }
    let mut batch = first;
    let window = Duration::from_secs(u64::from(m.window.unwrap_or(0)));
    let deadline = Instant::now() + window;
    while batch.len() < target && !stop.is_stopped() {
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = u32::try_from(left.as_secs()).unwrap_or(LONG_POLL_SECONDS).min(LONG_POLL_SECONDS);
        let more = receiver.receive(&m.source_arn, per_receive(target - batch.len()), None, wait).await?;
        if more.is_empty() {
            if wait == 0 {
                break;
            }
            continue;
        }
        batch.extend(more);
    }
    Ok(batch)
}

/// One poller of a mapping; runs until stopped.
pub async fn poll(inner: Arc<Inner>, m: Arc<MappingRecord>, stop: Arc<Stop>) {
    let filter = Filter::new(m.filters.as_deref());
    let invoker = LambdaService { inner: inner.clone() };
    let mut backoff = Duration::from_secs(1);
    while !stop.is_stopped() {
        let Some(receiver) = inner.queue_receiver.get().cloned() else {
            stop.sleep(Duration::from_secs(1)).await;
            continue;
        };
        let batch = match gather(receiver.as_ref(), &m, &stop).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(mapping = %describe(&m), error = %e, "event source mapping cannot receive");
                stop.sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        if stop.is_stopped() {
            // Hand the messages back rather than sit on them for a visibility timeout.
            for msg in &batch {
                let _ = receiver.change_visibility(&m.source_arn, &msg.receipt_handle, 0);
            }
            break;
        }
        let (passing, rejected): (Vec<_>, Vec<_>) = batch
            .iter()
            .map(|msg| (msg, record(msg, &m.source_arn, &m.region)))
            .partition(|(_, r)| filter.passes(&filter_view(r)));
        if !rejected.is_empty() {
            let handles: Vec<String> = rejected.iter().map(|(msg, _)| msg.receipt_handle.clone()).collect();
            let _ = receiver.delete_messages(&m.source_arn, &handles);
        }
        if passing.is_empty() {
            continue;
        }
        let records: Vec<Value> = passing.iter().map(|(_, r)| r.clone()).collect();
        let payload = json!({ "Records": records }).to_string();
        // A batch joins the trace of its first message that carries one: the invocation is
        // one span, and it has one parent.
        let trace = passing.iter().find_map(|(msg, _)| {
            let header = msg.attributes.iter().find(|(k, _)| k == "AWSTraceHeader")?;
            TraceHeader::parse(&header.1).ok()
        });
        match invoker.invoke(&m.function_arn, payload.into(), trace).await {
            Ok(resp) if resp.function_error.is_none() => {
                backoff = Duration::from_secs(1);
                let ids: HashSet<&str> = passing.iter().map(|(msg, _)| msg.message_id.as_str()).collect();
                let mut failed = if m.reports_item_failures() {
                    item_failures(&resp.payload, &ids)
                        .unwrap_or_else(|| ids.iter().map(|s| (*s).to_owned()).collect())
                } else {
                    HashSet::new()
                };
                // On a FIFO queue nothing after a failed message may be done before it: Lambda
                // returns the rest of the batch with it.
                if !failed.is_empty() && receiver.queue_info(&m.source_arn).is_ok_and(|i| i.fifo) {
                    let first = passing.iter().position(|(msg, _)| failed.contains(&msg.message_id));
                    for (msg, _) in passing.iter().skip(first.unwrap_or(passing.len())) {
                        failed.insert(msg.message_id.clone());
                    }
                }
                let done: Vec<String> = passing
                    .iter()
                    .filter(|(msg, _)| !failed.contains(&msg.message_id))
                    .map(|(msg, _)| msg.receipt_handle.clone())
                    .collect();
                if let Err(e) = receiver.delete_messages(&m.source_arn, &done) {
                    tracing::warn!(mapping = %describe(&m), error = %e, "could not delete processed messages");
                }
            }
            // The function failed: the messages return after their visibility timeout.
            Ok(_) => {}
            Err(PortError::Unavailable(reason)) => {
                tracing::debug!(mapping = %describe(&m), %reason, "event source mapping throttled");
                stop.sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => {
                tracing::warn!(mapping = %describe(&m), error = %e, "event source mapping cannot invoke");
                stop.sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_item_failures_are_read_as_lambda_reads_them() {
        let ids: HashSet<&str> = ["a", "b"].into_iter().collect();
        let failed = |s: &str| item_failures(s.as_bytes(), &ids);
        assert_eq!(failed(""), Some(HashSet::new()));
        assert_eq!(failed("null"), Some(HashSet::new()));
        assert_eq!(failed("{}"), Some(HashSet::new()));
        assert_eq!(failed(r#"{"batchItemFailures": []}"#), Some(HashSet::new()));
        assert_eq!(failed(r#"{"batchItemFailures": null}"#), Some(HashSet::new()));
        assert_eq!(
            failed(r#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#),
            Some(["b".to_owned()].into())
        );
        // Invalid responses fail the whole batch.
        assert_eq!(failed("{not json"), None);
        assert_eq!(failed(r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#), None);
        assert_eq!(failed(r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#), None);
        assert_eq!(failed(r#"{"batchItemFailures": [{"id": "a"}]}"#), None);
        assert_eq!(failed(r#"{"batchItemFailures": [{"itemIdentifier": "zz"}]}"#), None);
    }

    #[test]
    fn records_have_lambdas_sqs_shape_and_filters_see_json_bodies() {
        let m = ReceivedMessage {
            message_id: "id".into(),
            receipt_handle: "rh".into(),
            body: r#"{"kind":"a"}"#.into(),
            md5_of_body: "md5".into(),
            md5_of_message_attributes: Some("md5a".into()),
            attributes: vec![("ApproximateReceiveCount".into(), "1".into())],
            message_attributes: vec![(
                "bin".into(),
                ports::QueueMessageAttribute { data_type: "Binary".into(), value: vec![0u8, 1].into() },
            )],
        };
        let r = record(&m, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(r["messageAttributes"]["bin"]["binaryValue"], "AAE=");
        assert_eq!(r["messageAttributes"]["bin"]["dataType"], "Binary");
        assert_eq!(r["md5OfMessageAttributes"], "md5a");
        assert_eq!(filter_view(&r)["body"]["kind"], "a");
        assert_eq!(r["body"], r#"{"kind":"a"}"#);
    }
}
