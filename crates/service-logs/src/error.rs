//! CloudWatch Logs' errors: one variant per AWS error code this service answers, mapped to the
//! wire in one exhaustive match. Messages are AWS's own wording, built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, ServiceError};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a log group, stream or tagged resource that is not there.
    #[error("resource not found: {0}")]
    ResourceNotFoundException(String),
    /// 400: a log group or stream name already taken.
    #[error("resource already exists: {0}")]
    ResourceAlreadyExistsException(String),
    /// 400: a member breaks the model (CloudWatch Logs reports model validation under this code
    /// too, with the usual `1 validation error detected: …` message) or a rule of the service.
    #[error("invalid parameter: {0}")]
    InvalidParameterException(String),
    /// 400: more than 50 tags on one resource through `TagResource`.
    #[error("too many tags: {0}")]
    TooManyTagsException(String),
    /// 400: the records kept changing under a read-modify-write until the retries ran out.
    #[error("operation aborted: {0}")]
    OperationAbortedException(String),
    /// 400: the body is not a JSON object, or a member has the wrong JSON type.
    #[error("serialization: {0}")]
    SerializationException(String),
    /// 400: the `X-Amz-Target` names no CloudWatch Logs operation.
    #[error("unknown operation {0}")]
    UnknownOperationException(String),
    /// 501: an operation of the CloudWatch Logs model that Nimbus does not implement yet.
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// 500: the store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] StorageError),
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let bad = StatusCode::BAD_REQUEST;
        let (code, message) = match self {
            Error::ResourceNotFoundException(m) => ("ResourceNotFoundException", m),
            Error::ResourceAlreadyExistsException(m) => ("ResourceAlreadyExistsException", m),
            Error::InvalidParameterException(m) => ("InvalidParameterException", m),
            Error::TooManyTagsException(m) => ("TooManyTagsException", m),
            Error::OperationAbortedException(m) => ("OperationAbortedException", m),
            Error::SerializationException(m) => ("SerializationException", m),
            Error::UnknownOperationException(_) => {
                return ProtocolError::MissingOperation.default_wire(Protocol::AwsJson1_1);
            }
            Error::NotImplemented(op) => return ErrorInfo::not_implemented(op),
            Error::Internal(_) => return ErrorInfo::internal(),
        };
        ErrorInfo::new(code, bad, message.clone())
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(op) => Error::UnknownOperationException(op),
            ProtocolError::MissingOperation => Error::UnknownOperationException(String::new()),
            ProtocolError::Serialization(m) => Error::SerializationException(m),
            ProtocolError::MissingMembers(members) => {
                Error::InvalidParameterException(protocol::validation_message(
                    members.iter().map(|m| (m.as_str(), "null", "Member must not be null")),
                ))
            }
            ProtocolError::InvalidValue { message, .. } => Error::InvalidParameterException(message),
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::Internal(e)
    }
}

pub fn group_not_found() -> Error {
    Error::ResourceNotFoundException("The specified log group does not exist.".to_owned())
}

pub fn stream_not_found() -> Error {
    Error::ResourceNotFoundException("The specified log stream does not exist.".to_owned())
}

pub fn invalid_token() -> Error {
    Error::InvalidParameterException("The specified nextToken is invalid.".to_owned())
}
