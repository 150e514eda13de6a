//! Publishing to SNS topics from another service (S3 event notifications, EventBridge targets,
//! Lambda destinations), by topic ARN, as Publish would.

use types::trace::TraceHeader;

use crate::{PortError, QueueMessageAttribute};

/// One message for a topic: what Publish takes, minus `MessageStructure` (callers render one
/// message for every protocol).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicMessage {
    pub message: String,
    pub subject: Option<String>,
    /// Message attributes: data type (`String`, `Number`, `Binary`, `String.Array`) and value.
    pub attributes: Vec<(String, QueueMessageAttribute)>,
    /// Required by FIFO topics, ignored by standard ones.
    pub group_id: Option<String>,
    /// For FIFO topics without content-based deduplication.
    pub dedup_id: Option<String>,
    /// The trace of whatever published it, for the deliveries it causes.
    pub trace: Option<TraceHeader>,
}

/// Publishing to a topic; implemented by `service-sns`.
pub trait TopicPublisher: Send + Sync {
    /// Publishes `message` to the topic `topic_arn`; returns the message id once every
    /// delivery is durably queued. A missing topic is [`PortError::NotFound`], a message the
    /// topic refuses (empty, too large, no group id on a FIFO topic) [`PortError::Invalid`].
    fn publish(&self, topic_arn: &str, message: TopicMessage) -> Result<String, PortError>;
}
