//! Reading DynamoDB streams from another service: Lambda's event source mappings read a
//! stream's records through [`StreamReader`] from a checkpoint they keep themselves.

use bytes::Bytes;

use crate::PortError;

/// Where a reader starts.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamPosition {
    /// The oldest record still retained.
    TrimHorizon,
    /// Just after the newest record now in the stream.
    Latest,
    /// The first record written at or after this time (Unix seconds).
    AtTimestamp(f64),
    /// Just after the record with this sequence number.
    After(String),
}

/// One stream record: its sequence number and the record as JSON, in the shape Lambda delivers
/// it (`eventID`, `eventName`, `eventVersion`, `eventSource`, `awsRegion`, `dynamodb`,
/// `eventSourceARN`, and `userIdentity` for TTL deletions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub sequence_number: String,
    pub data: Bytes,
    /// When the record was written, in Unix seconds (for `MaximumRecordAgeInSeconds`).
    pub created: i64,
    /// The shard the record is in (for failure records that name it).
    pub shard_id: String,
}

/// Reading DynamoDB stream records by stream ARN.
pub trait StreamReader: Send + Sync {
    /// Turns a starting position into a checkpoint: the sequence number to read after, or
    /// `None` for the start of the stream. `NotFound` when the stream does not exist.
    fn checkpoint(&self, stream_arn: &str, position: &StreamPosition) -> Result<Option<String>, PortError>;

    /// Up to `limit` records after `after` (from the oldest retained record when `None`), in
    /// sequence order.
    fn read(
        &self,
        stream_arn: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StreamRecord>, PortError>;
}
