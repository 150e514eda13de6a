//! SNS's errors: one variant per AWS error code this service answers, mapped to the wire in one
//! exhaustive match. Messages are SNS's own wording, built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, ServiceError, query};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a parameter SNS refuses; the message starts `Invalid parameter: `.
    #[error("{0}")]
    InvalidParameter(String),
    /// 400 `ParameterValueInvalid`: a message attribute SNS refuses.
    #[error("{0}")]
    ParameterValueInvalid(String),
    /// 404: no such topic or subscription.
    #[error("{0}")]
    NotFound(String),
    /// 404: TagResource and friends on a resource that is not there.
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("Two or more batch entries in the request have the same Id.")]
    BatchEntryIdsNotDistinct,
    #[error("The batch request contains more entries than permissible.")]
    TooManyEntriesInBatchRequest,
    #[error("The batch request doesn't contain any entries.")]
    EmptyBatchRequest,
    #[error("The Id of a batch entry in a batch request doesn't abide by the specification.")]
    InvalidBatchEntryId,
    #[error("The length of all the messages put together is more than the limit.")]
    BatchRequestTooLong,
    /// 400: more than 50 tags on a topic.
    #[error("{0}")]
    TagLimitExceeded(String),
    /// 400: the protocol layer's rejections (missing required members, malformed form body).
    #[error("{0}")]
    ValidationError(String),
    /// 400: the `Action` is not an SNS action.
    #[error("invalid action {action:?}")]
    InvalidAction { action: String, version: Option<String> },
    /// 501: an SNS action Nimbus does not implement (SMS, mobile push, data protection …).
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// 500: the store failed. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] StorageError),
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let bad = StatusCode::BAD_REQUEST;
        let (code, status) = match self {
            Error::InvalidParameter(_) => ("InvalidParameter", bad),
            Error::ParameterValueInvalid(_) => ("ParameterValueInvalid", bad),
            Error::NotFound(_) => ("NotFound", StatusCode::NOT_FOUND),
            Error::ResourceNotFound(_) => ("ResourceNotFound", StatusCode::NOT_FOUND),
            Error::BatchEntryIdsNotDistinct => ("BatchEntryIdsNotDistinct", bad),
            Error::TooManyEntriesInBatchRequest => ("TooManyEntriesInBatchRequest", bad),
            Error::EmptyBatchRequest => ("EmptyBatchRequest", bad),
            Error::InvalidBatchEntryId => ("InvalidBatchEntryId", bad),
            Error::BatchRequestTooLong => ("BatchRequestTooLong", bad),
            Error::TagLimitExceeded(_) => ("TagLimitExceeded", bad),
            Error::ValidationError(_) => ("ValidationError", bad),
            Error::InvalidAction { action, version } => {
                return query::unknown_action(action, version.as_deref());
            }
            Error::NotImplemented(action) => return ErrorInfo::not_implemented(action),
            Error::Internal(_) => return ErrorInfo::internal(),
        };
        ErrorInfo::new(code, status, self.to_string())
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(action) => Error::InvalidAction { action, version: None },
            ProtocolError::MissingOperation => Error::InvalidAction { action: String::new(), version: None },
            other => Error::ValidationError(other.default_wire(Protocol::Query).message),
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::Internal(e)
    }
}

impl From<storage::CommitError> for Error {
    fn from(e: storage::CommitError) -> Error {
        match e {
            storage::CommitError::Storage(s) => Error::Internal(s),
            other => Error::Internal(StorageError::Engine(other.to_string())),
        }
    }
}

/// `Invalid parameter: {what}`, the shape of most SNS refusals.
pub fn invalid(what: impl std::fmt::Display) -> Error {
    Error::InvalidParameter(format!("Invalid parameter: {what}"))
}

pub fn topic_not_found() -> Error {
    Error::NotFound("Topic does not exist".to_owned())
}

pub fn subscription_not_found() -> Error {
    Error::NotFound("Subscription does not exist".to_owned())
}
