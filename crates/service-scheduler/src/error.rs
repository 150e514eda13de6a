//! EventBridge Scheduler's errors: one variant per AWS error code the service answers (the
//! botocore model's `ValidationException` 400, `ResourceNotFoundException` 404,
//! `ConflictException` 409, `InternalServerException` 500), mapped to the wire in one exhaustive
//! match. Messages are built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, RequestContext, Response, ServiceError, error_response};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A member breaks a model constraint, or a value Scheduler refuses.
    #[error("validation: {0}")]
    ValidationException(String),
    /// A schedule or schedule group that is not there.
    #[error("not found: {0}")]
    ResourceNotFoundException(String),
    /// A schedule or group name already in use.
    #[error("conflict: {0}")]
    ConflictException(String),
    /// The method and path name no Scheduler operation.
    #[error("unknown operation")]
    UnknownOperationException,
    /// A feature Nimbus does not implement yet (universal targets, ECS targets …).
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// The store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    InternalServerException(#[source] StorageError),
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

    pub fn no_schedule(name: &str) -> Error {
        Error::ResourceNotFoundException(format!("Schedule {name} does not exist."))
    }

    pub fn no_group(name: &str) -> Error {
        Error::ResourceNotFoundException(format!("Schedule group {name} does not exist."))
    }

    pub fn into_response(self, ctx: &RequestContext) -> Response {
        if let Error::InternalServerException(source) = &self {
            tracing::error!(error = %source, "scheduler request failed in the store");
        }
        error_response(Protocol::RestJson, ctx, &self.to_wire())
    }
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        match self {
            Error::ValidationException(m) => {
                ErrorInfo::new("ValidationException", StatusCode::BAD_REQUEST, m.clone())
            }
            Error::ResourceNotFoundException(m) => {
                ErrorInfo::new("ResourceNotFoundException", StatusCode::NOT_FOUND, m.clone())
            }
            Error::ConflictException(m) => {
                ErrorInfo::new("ConflictException", StatusCode::CONFLICT, m.clone())
            }
            Error::UnknownOperationException => {
                ErrorInfo::new("UnknownOperationException", StatusCode::NOT_FOUND, "")
            }
            Error::NotImplemented(what) => ErrorInfo::not_implemented(what),
            Error::InternalServerException(_) => ErrorInfo::new(
                "InternalServerException",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Unexpected error encountered while processing the request.",
            ),
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::InternalServerException(e)
    }
}

impl From<storage::CommitError> for Error {
    fn from(e: storage::CommitError) -> Error {
        match e {
            storage::CommitError::Storage(e) => Error::InternalServerException(e),
            // Writes are serialized by the service's lock, so a precondition can only fail if
            // the store itself changed underneath: report it as internal.
            storage::CommitError::ConditionFailed { .. } => Error::InternalServerException(
                StorageError::Corrupt("unexpected failed precondition".to_owned()),
            ),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation => {
                Error::UnknownOperationException
            }
            other => Error::ValidationException(other.default_wire(Protocol::RestJson).message),
        }
    }
}
