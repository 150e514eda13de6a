//! CloudFormation's errors: one variant per AWS error code this service answers, mapped to the
//! wire in one exhaustive match. Most refusals are `ValidationError` with CloudFormation's own
//! sentence, built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, ServiceError, query};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: template, parameter and request problems, and stacks that do not exist.
    #[error("{0}")]
    ValidationError(String),
    /// 400: a stack (or change set) of that name exists.
    #[error("{0}")]
    AlreadyExistsException(String),
    /// 400: the template needs a capability the caller did not acknowledge.
    #[error("Requires capabilities : [{0}]")]
    InsufficientCapabilitiesException(String),
    /// 404: no such change set.
    #[error("{0}")]
    ChangeSetNotFound(String),
    /// 400: the change set is not in a state that allows this.
    #[error("{0}")]
    InvalidChangeSetStatus(String),
    /// 400: the `Action` is not a CloudFormation action.
    #[error("invalid action {action:?}")]
    InvalidAction { action: String, version: Option<String> },
    /// 501: something CloudFormation has that Nimbus does not.
    #[error("{0}")]
    NotImplemented(String),
    /// 500: the store failed. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] StorageError),
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let bad = StatusCode::BAD_REQUEST;
        let (code, status) = match self {
            Error::ValidationError(_) => ("ValidationError", bad),
            Error::AlreadyExistsException(_) => ("AlreadyExistsException", bad),
            Error::InsufficientCapabilitiesException(_) => ("InsufficientCapabilitiesException", bad),
            Error::ChangeSetNotFound(_) => ("ChangeSetNotFound", StatusCode::NOT_FOUND),
            Error::InvalidChangeSetStatus(_) => ("InvalidChangeSetStatus", bad),
            Error::InvalidAction { action, version } => {
                return query::unknown_action(action, version.as_deref());
            }
            Error::NotImplemented(what) => return ErrorInfo::not_implemented(what),
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

impl From<cfn_template::Error> for Error {
    fn from(e: cfn_template::Error) -> Error {
        match e {
            cfn_template::Error::ValidationError(m) => Error::ValidationError(m),
            cfn_template::Error::InsufficientCapabilitiesException(c) => {
                Error::InsufficientCapabilitiesException(c)
            }
            cfn_template::Error::NotImplemented(m) => Error::NotImplemented(m),
        }
    }
}

pub fn invalid(message: impl Into<String>) -> Error {
    Error::ValidationError(message.into())
}

/// `Stack with id {name} does not exist`, CloudFormation's answer for any unknown stack.
pub fn no_stack(name: &str) -> Error {
    invalid(format!("Stack with id {name} does not exist"))
}
