//! Receiving from SQS queues on behalf of another service: Lambda's event source mappings poll
//! queues through [`QueueReceiver`] the way its pollers call ReceiveMessage, DeleteMessageBatch
//! and ChangeMessageVisibility on AWS.

use crate::{BoxFuture, PortError, QueueMessageAttribute};

/// A received message with everything Lambda's SQS event record carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// The MD5 of the message attributes, when the message has any.
    pub md5_of_message_attributes: Option<String>,
    /// System attributes by name: `ApproximateReceiveCount`, `SentTimestamp`, `SenderId`,
    /// `ApproximateFirstReceiveTimestamp`, and for FIFO queues `SequenceNumber`,
    /// `MessageGroupId`, `MessageDeduplicationId` (plus `AWSTraceHeader` when sent).
    pub attributes: Vec<(String, String)>,
    /// Message attributes in name order (binary values as raw bytes).
    pub message_attributes: Vec<(String, QueueMessageAttribute)>,
}

/// What a poller needs to know about a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// The queue's `VisibilityTimeout` in seconds.
    pub visibility_timeout: u32,
    pub fifo: bool,
}

/// Polling an SQS queue from another service. Redrive to a dead-letter queue happens inside
/// SQS on receive, as on AWS, so a poller never moves messages itself.
pub trait QueueReceiver: Send + Sync {
    /// The queue's settings, or `NotFound`.
    fn queue_info(&self, queue_arn: &str) -> Result<QueueInfo, PortError>;

    /// Receives up to `max` (1–10) messages, hiding them for `visibility_timeout` seconds (the
    /// queue's own when `None`), waiting up to `wait_seconds` (0–20) for the first one.
    fn receive(
        &self,
        queue_arn: &str,
        max: u32,
        visibility_timeout: Option<u32>,
        wait_seconds: u32,
    ) -> BoxFuture<'_, Result<Vec<ReceivedMessage>, PortError>>;

    /// Deletes the messages these receipt handles name (stale handles are ignored, as SQS does).
    fn delete_messages(&self, queue_arn: &str, receipt_handles: &[String]) -> Result<(), PortError>;

    /// Makes one received message visible again after `timeout` seconds.
    fn change_visibility(&self, queue_arn: &str, receipt_handle: &str, timeout: u32)
    -> Result<(), PortError>;
}
