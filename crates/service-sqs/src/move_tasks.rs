//! Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask): a
//! dead-letter queue's messages moved, in the background, back to the queues they came from
//! (each message remembers its source) or to one destination queue, at an optional rate.
//!
//! Each message moves in one batch (deleted from the source, written to the destination), so a
//! crash never loses or doubles one. The tasks themselves live in memory: a restart ends a
//! running task, and what it had moved stays moved.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use storage::{Batch, KeyRange};

use crate::error::Error;
use crate::model::{self, MESSAGES, MessageRecord};
use crate::{Inner, Queue, lock};

/// How many finished tasks of a source queue ListMessageMoveTasks can still show.
const KEPT_PER_SOURCE: usize = 10;

/// One task, shared by its worker and the API.
#[derive(Debug)]
pub(crate) struct Task {
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<i64>,
    started_ms: i64,
    to_move: u64,
    moved: AtomicU64,
    cancel: AtomicBool,
    /// `RUNNING`, `CANCELLING`, `CANCELLED`, `COMPLETED` or `FAILED`.
    status: std::sync::Mutex<(&'static str, Option<String>)>,
}

impl Task {
    fn status(&self) -> (&'static str, Option<String>) {
        lock(&self.status).clone()
    }

    fn set(&self, status: &'static str, reason: Option<String>) {
        *lock(&self.status) = (status, reason);
    }

    fn render(&self) -> Value {
        let (status, reason) = self.status();
        let mut out = json!({
            "Status": status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved.load(Ordering::Relaxed),
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        });
        if status == "RUNNING" {
            out["TaskHandle"] = json!(self.handle);
        }
        if let Some(d) = &self.destination_arn {
            out["DestinationArn"] = json!(d);
        }
        if let Some(r) = self.rate {
            out["MaxNumberOfMessagesPerSecond"] = json!(r);
        }
        if let Some(reason) = reason {
            out["FailureReason"] = json!(reason);
        }
        out
    }
}

/// StartMessageMoveTask. The wording of the refusals below was not verified against AWS.
pub fn start(
    inner: &Arc<Inner>,
    source_arn: &str,
    destination_arn: Option<String>,
    rate: Option<i64>,
) -> Result<Value, Error> {
    let source = inner.find_arn(source_arn).ok_or_else(|| {
        Error::ResourceNotFoundException(
            "The resource that you specified for the SourceArn parameter doesn't exist.".to_owned(),
        )
    })?;
    if let Some(r) = rate
        && !(1..=500).contains(&r)
    {
        return Err(Error::InvalidParameterValue(
            "Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500."
                .to_owned(),
        ));
    }
    if let Some(d) = &destination_arn
        && inner.find_arn(d).is_none()
    {
        return Err(Error::ResourceNotFoundException(
            "The resource that you specified for the DestinationArn parameter doesn't exist.".to_owned(),
        ));
    }
    let is_dlq = lock(&inner.queues).values().any(|q| {
        q.record
            .attributes
            .get("RedrivePolicy")
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .is_some_and(|p| p.get("deadLetterTargetArn").and_then(Value::as_str) == Some(source_arn))
    });
    if !is_dlq {
        return Err(Error::InvalidParameterValue(
            "Source queue must be configured as a Dead Letter Queue.".to_owned(),
        ));
    }
    let mut tasks = lock(&inner.move_tasks);
    if tasks.iter().any(|t| t.source_arn == source_arn && matches!(t.status().0, "RUNNING" | "CANCELLING")) {
        return Err(Error::UnsupportedOperation(
            "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
                .to_owned(),
        ));
    }
    let to_move = message_seqs(inner, &source)?.len() as u64;
    let task = Arc::new(Task {
        handle: uuid::Uuid::new_v4().to_string(),
        source_arn: source_arn.to_owned(),
        destination_arn,
        rate,
        started_ms: inner.now_ms(),
        to_move,
        moved: AtomicU64::new(0),
        cancel: AtomicBool::new(false),
        status: std::sync::Mutex::new(("RUNNING", None)),
    });
    tasks.push(task.clone());
    // Forget the oldest finished tasks of this source beyond what ListMessageMoveTasks shows.
    let of_source = tasks.iter().filter(|t| t.source_arn == source_arn).count();
    if of_source > KEPT_PER_SOURCE
        && let Some(i) = tasks.iter().position(|t| t.source_arn == source_arn && t.status().0 != "RUNNING")
    {
        tasks.remove(i);
    }
    drop(tasks);
    let handle = task.handle.clone();
    tokio::spawn(run(inner.clone(), source, task));
    Ok(json!({ "TaskHandle": handle }))
}

/// ListMessageMoveTasks: the newest first, `MaxResults` (1–10, default 1) of them.
pub fn list(inner: &Inner, source_arn: &str, max_results: Option<i64>) -> Result<Value, Error> {
    if inner.find_arn(source_arn).is_none() {
        return Err(Error::ResourceNotFoundException(
            "The resource that you specified for the SourceArn parameter doesn't exist.".to_owned(),
        ));
    }
    let max = max_results.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(Error::InvalidParameterValue(
            "Value for parameter MaxResults is invalid. Reason: Must be between 1 and 10.".to_owned(),
        ));
    }
    let tasks = lock(&inner.move_tasks);
    let results: Vec<Value> = tasks
        .iter()
        .rev()
        .filter(|t| t.source_arn == source_arn)
        .take(usize::try_from(max).unwrap_or(1))
        .map(|t| t.render())
        .collect();
    Ok(json!({ "Results": results }))
}

/// CancelMessageMoveTask: stops a running task after the message it is moving.
pub fn cancel(inner: &Inner, handle: &str) -> Result<Value, Error> {
    let task = lock(&inner.move_tasks).iter().find(|t| t.handle == handle).cloned();
    let Some(task) = task.filter(|t| t.status().0 == "RUNNING") else {
        return Err(Error::ResourceNotFoundException("Task does not exist.".to_owned()));
    };
    task.cancel.store(true, Ordering::Relaxed);
    task.set("CANCELLING", None);
    Ok(json!({ "ApproximateNumberOfMessagesMoved": task.moved.load(Ordering::Relaxed) }))
}

/// The sequence numbers of the messages a queue holds now.
fn message_seqs(inner: &Inner, queue: &Queue) -> Result<Vec<u64>, Error> {
    let prefix = format!("{}m/", queue.prefix());
    let mut seqs = Vec::new();
    let mut range = KeyRange::prefix(prefix.as_bytes());
    loop {
        let page = inner.kv.scan(MESSAGES, range.clone(), 512)?;
        for (key, _) in &page {
            let seq: Option<u64> =
                std::str::from_utf8(&key[prefix.len()..]).ok().and_then(|s| s.parse().ok());
            seqs.extend(seq);
        }
        match page.last() {
            Some((last, _)) if page.len() == 512 => range.start = std::ops::Bound::Excluded(last.clone()),
            _ => return Ok(seqs),
        }
    }
}

async fn run(inner: Arc<Inner>, source: Queue, task: Arc<Task>) {
    let outcome = move_all(&inner, &source, &task).await;
    match outcome {
        Ok(()) if task.cancel.load(Ordering::Relaxed) => task.set("CANCELLED", None),
        Ok(()) => task.set("COMPLETED", None),
        Err(reason) => task.set("FAILED", Some(reason)),
    }
}

async fn move_all(inner: &Inner, source: &Queue, task: &Task) -> Result<(), String> {
    let seqs = message_seqs(inner, source).map_err(|e| e.to_string())?;
    let pause = task.rate.map(|r| Duration::from_secs_f64(1.0 / r as f64));
    for (n, seq) in seqs.into_iter().enumerate() {
        if task.cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        if move_one(inner, source, task, seq)? {
            task.moved.fetch_add(1, Ordering::Relaxed);
        }
        match pause {
            Some(p) => tokio::time::sleep(p).await,
            None if n % 64 == 63 => tokio::task::yield_now().await,
            None => {}
        }
    }
    Ok(())
}

/// Moves one message (if it is still there) in one batch; a fresh message at its destination:
/// visible now, never received.
fn move_one(inner: &Inner, source: &Queue, task: &Task, seq: u64) -> Result<bool, String> {
    let _guard = lock(&source.shared.lock);
    let prefix = source.prefix();
    let key = model::message_key(&prefix, seq);
    let Some(raw) = inner.kv.get(MESSAGES, &key).map_err(|e| e.to_string())? else { return Ok(false) };
    let mut message: MessageRecord = model::decode(&raw).map_err(|e| e.to_string())?;
    let destination_arn = match (&task.destination_arn, &message.dlq_source) {
        (Some(d), _) | (None, Some(d)) => d.clone(),
        (None, None) => {
            return Err(format!(
                "Message {} came to the dead-letter queue from no known source queue.",
                message.id
            ));
        }
    };
    let destination = inner
        .find_arn(&destination_arn)
        .ok_or_else(|| format!("Destination queue {destination_arn} does not exist."))?;
    let mut batch = Batch::new()
        .delete(MESSAGES, key)
        .delete(MESSAGES, model::index_key(&prefix, message.visible_at, seq));
    message.visible_at = inner.now_ms();
    message.receive_count = 0;
    message.first_receive_ms = None;
    message.token = None;
    message.dlq_source = None;
    crate::messages::put_message(&mut batch, &destination.prefix(), &message);
    inner.kv.commit(batch).map_err(|e| e.to_string())?;
    destination.shared.notify.notify_waiters();
    Ok(true)
}
