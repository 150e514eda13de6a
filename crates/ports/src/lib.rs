//! The ports: traits through which one service reaches another. Services depend on this crate,
//! never on each other; `server` hands each service the implementations it needs (Lambda
//! implements [`FunctionInvoker`], SQS implements [`QueueSender`], and so on). A port speaks in ARNs and
//! bytes, the way AWS services address each other, so the caller needs no types of the callee.
//! Calls made on a request's behalf carry its trace header, as AWS passes `X-Amzn-Trace-Id`
//! along, so the hop they cause joins the request's trace.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use types::trace::TraceHeader;

mod api;
pub use api::ServiceApi;
mod queue_receiver;
pub use queue_receiver::{QueueInfo, QueueReceiver, ReceivedMessage};
mod stream_reader;
pub use stream_reader::{StreamPosition, StreamReader, StreamRecord};
mod events;
pub use events::{BusEvent, EventPublisher};
mod topics;
pub use topics::{TopicMessage, TopicPublisher};
mod objects;
pub use objects::{ObjectReadError, ObjectReader, StoredObject};
mod traces;
pub use traces::{Invoked, NoTraces, TracePage, TraceReader, TraceRecorder, TraceSummary};
mod invocations;
pub use invocations::{
    Architecture, Billing, EXACT_INIT_DURATIONS, FunctionSummary, InitDurations, InvocationCursor,
    InvocationOutcome, InvocationPage, InvocationReader, InvocationRecord, InvocationRecorder, NoInvocations,
    Served, Summaries, TRACKED_CONCURRENCY, Trigger, TriggerKind, mb_ms_to_gb_seconds,
};
mod usage;
pub use usage::{NoUsage, ResourceKind, ResourceUsage, Unit, UsageMeter, UsageReader};

/// A boxed, sendable future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a port call failed, in terms the calling service turns into its own error or retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The target does not exist (no such function, queue, topic …).
    #[error("not found: {0}")]
    NotFound(String),
    /// The target refused the input (payload too large, not JSON …).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The target exists but cannot take it now (throttled, shutting down); worth retrying.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// What a synchronous invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResponse {
    pub payload: Bytes,
    /// `Some("Unhandled")` when the function failed; the payload is then its error document.
    pub function_error: Option<String>,
    /// The version that ran.
    pub executed_version: String,
}

/// Invoking Lambda functions from another service (EventBridge targets, S3 notifications,
/// API Gateway integrations, SNS subscriptions).
pub trait FunctionInvoker: Send + Sync {
    /// Queues an asynchronous invocation (`InvocationType: Event`) of `function_arn` (qualified
    /// or not). Returns once the event is durably accepted, as a 202 from Invoke would.
    fn invoke_async(
        &self,
        function_arn: &str,
        payload: Bytes,
        trace: Option<TraceHeader>,
    ) -> Result<(), PortError>;

    /// Runs a synchronous invocation (`RequestResponse`) and returns its result.
    fn invoke(
        &self,
        function_arn: &str,
        payload: Bytes,
        trace: Option<TraceHeader>,
    ) -> BoxFuture<'_, Result<InvokeResponse, PortError>>;
}

/// A message attribute as another service hands it to a queue: its data type (`String`,
/// `Number`, `Binary`, optionally with a `.custom` suffix) and its value (binary values as raw
/// bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessageAttribute {
    pub data_type: String,
    pub value: Bytes,
}

/// Sending to SQS queues from another service (Lambda destinations, EventBridge targets, SNS
/// subscriptions).
pub trait QueueSender: Send + Sync {
    /// Sends `body` to the queue named by `queue_arn`, as SendMessage would; returns the message
    /// id once the message is durably accepted. `group_id` is required by FIFO queues (which
    /// then deduplicate by content) and ignored by standard ones. `trace` becomes the message's
    /// `AWSTraceHeader`.
    fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        trace: Option<TraceHeader>,
    ) -> Result<String, PortError>;

    /// [`QueueSender::send_message`] with an explicit deduplication id for FIFO queues (SNS
    /// FIFO topics pass the publisher's `MessageDeduplicationId` through); `None` falls back to
    /// deduplication by content. Implementations that know no better ignore the id.
    fn send_message_deduplicated(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        dedup_id: Option<&str>,
        trace: Option<TraceHeader>,
    ) -> Result<String, PortError> {
        let _ = dedup_id;
        self.send_message(queue_arn, body, attributes, group_id, trace)
    }
}
