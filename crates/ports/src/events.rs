//! Putting events on EventBridge buses from another service (Lambda destinations, S3 event
//! notifications), as PutEvents would.

use types::trace::TraceHeader;

use crate::PortError;

/// One event for a bus: PutEvents' entry, with the bus named by ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusEvent {
    /// `arn:aws:events:{region}:{account}:event-bus/{name}`; the event's account and region.
    pub bus_arn: String,
    pub source: String,
    pub detail_type: String,
    /// A JSON object, as text.
    pub detail: String,
    pub resources: Vec<String>,
    /// The trace of whatever put the event, for the deliveries it causes.
    pub trace: Option<TraceHeader>,
}

/// Putting an event on a bus; implemented by `service-events`.
pub trait EventPublisher: Send + Sync {
    /// Puts `event` on its bus; returns the event id once the event and every delivery it
    /// causes are durably accepted. A missing bus is [`PortError::NotFound`], a detail that is
    /// not a JSON object [`PortError::Invalid`].
    fn put_event(&self, event: BusEvent) -> Result<String, PortError>;
}
