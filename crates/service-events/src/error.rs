//! EventBridge's errors: one variant per AWS error code this service answers, mapped to the wire
//! in one exhaustive match. Messages are AWS's own wording, built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, RequestContext, Response, ServiceError, error_response};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bus or rule that is not there (`Rule r does not exist on EventBus b.`).
    #[error("resource not found: {0}")]
    ResourceNotFoundException(String),
    /// CreateEventBus of a name in use.
    #[error("resource already exists: {0}")]
    ResourceAlreadyExistsException(String),
    /// A member breaks a model constraint, or a value EventBridge refuses.
    #[error("validation: {0}")]
    ValidationException(String),
    /// The pattern is refused; the message is `Event pattern is not valid. Reason: …`.
    #[error("invalid event pattern: {0}")]
    InvalidEventPatternException(String),
    /// CancelReplay of a replay that is no longer running.
    #[error("illegal status: {0}")]
    IllegalStatusException(String),
    /// PutPermission would make the bus's policy larger than 10 KB.
    #[error("policy length exceeded: {0}")]
    PolicyLengthExceededException(String),
    /// Over a quota (targets per rule).
    #[error("limit exceeded: {0}")]
    LimitExceededException(String),
    /// The body could not be read as the operation's input.
    #[error("serialization: {0}")]
    SerializationException(String),
    /// `X-Amz-Target` names no EventBridge operation.
    #[error("unknown operation")]
    UnknownOperationException,
    /// An operation (or a feature of one) Nimbus does not implement yet.
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// The store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    InternalException(#[source] StorageError),
}

impl Error {
    pub fn validation(message: impl Into<String>) -> Error {
        Error::ValidationException(message.into())
    }

    /// A model constraint broken: `1 validation error detected: Value '…' at '…' failed to
    /// satisfy constraint: …`.
    pub fn constraint(member: &str, value: &str, constraint: &str) -> Error {
        Error::ValidationException(protocol::validation_message([(member, value, constraint)]))
    }

    pub fn into_response(self, ctx: &RequestContext) -> Response {
        if let Error::InternalException(source) = &self {
            tracing::error!(error = %source, "events request failed in the store");
        }
        error_response(Protocol::AwsJson1_1, ctx, &self.to_wire())
    }
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let bad = StatusCode::BAD_REQUEST;
        let (code, message) = match self {
            Error::ResourceNotFoundException(m) => ("ResourceNotFoundException", m),
            Error::ResourceAlreadyExistsException(m) => ("ResourceAlreadyExistsException", m),
            Error::ValidationException(m) => ("ValidationException", m),
            Error::InvalidEventPatternException(m) => ("InvalidEventPatternException", m),
            Error::LimitExceededException(m) => ("LimitExceededException", m),
            Error::PolicyLengthExceededException(m) => ("PolicyLengthExceededException", m),
            Error::IllegalStatusException(m) => ("IllegalStatusException", m),
            Error::SerializationException(m) => ("SerializationException", m),
            Error::UnknownOperationException => return ErrorInfo::new("UnknownOperationException", bad, ""),
            Error::NotImplemented(what) => return ErrorInfo::not_implemented(what),
            Error::InternalException(_) => {
                return ErrorInfo::new(
                    "InternalException",
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An internal error occurred while processing the request.",
                );
            }
        };
        ErrorInfo::new(code, bad, message.clone())
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::InternalException(e)
    }
}

impl From<storage::CommitError> for Error {
    fn from(e: storage::CommitError) -> Error {
        match e {
            storage::CommitError::Storage(e) => Error::InternalException(e),
            // Batches here carry no preconditions; should one ever fail, report it as internal.
            storage::CommitError::ConditionFailed { .. } => {
                Error::InternalException(StorageError::Corrupt("unexpected failed precondition".to_owned()))
            }
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation => {
                Error::UnknownOperationException
            }
            ProtocolError::Serialization(m) => Error::SerializationException(m),
            other => Error::ValidationException(other.default_wire(Protocol::AwsJson1_1).message),
        }
    }
}
