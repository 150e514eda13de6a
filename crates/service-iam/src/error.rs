//! IAM's errors: one variant per AWS error code this service answers, mapped to the wire in one
//! exhaustive match. Messages are AWS's own wording, built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, ProtocolError, ServiceError, query};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: a role, policy, inline policy, version or attachment that is not there.
    #[error("no such entity: {0}")]
    NoSuchEntity(String),
    /// 409: a role or policy name taken (names are unique regardless of case).
    #[error("entity already exists: {0}")]
    EntityAlreadyExists(String),
    /// 409: a delete that would leave dangling references.
    #[error("delete conflict: {0}")]
    DeleteConflict(String),
    /// 400: a policy document that is not a JSON object.
    #[error("malformed policy document: {0}")]
    MalformedPolicyDocument(String),
    /// 400: input the model allows but IAM refuses (bad ARNs, duplicate tag keys).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// 409: a quota (versions per policy, policies per role, tags per resource).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// 409: the record kept changing under a read-modify-write until the retries ran out.
    #[error("concurrent modification: {0}")]
    ConcurrentModification(String),
    /// 400: a member breaks the model or IAM's name and path rules.
    #[error("validation error: {0}")]
    ValidationError(String),
    /// 400: the `Action` is not an IAM operation at all.
    #[error("invalid action {action:?}")]
    InvalidAction { action: String, version: Option<String> },
    /// 501: an operation of the IAM model that Nimbus does not implement yet.
    #[error("{0} is not implemented")]
    NotImplemented(&'static str),
    /// 500: the store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] StorageError),
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let (code, status, message) = match self {
            Error::NoSuchEntity(m) => ("NoSuchEntity", StatusCode::NOT_FOUND, m),
            Error::EntityAlreadyExists(m) => ("EntityAlreadyExists", StatusCode::CONFLICT, m),
            Error::DeleteConflict(m) => ("DeleteConflict", StatusCode::CONFLICT, m),
            Error::MalformedPolicyDocument(m) => ("MalformedPolicyDocument", StatusCode::BAD_REQUEST, m),
            Error::InvalidInput(m) => ("InvalidInput", StatusCode::BAD_REQUEST, m),
            Error::LimitExceeded(m) => ("LimitExceeded", StatusCode::CONFLICT, m),
            Error::ConcurrentModification(m) => ("ConcurrentModification", StatusCode::CONFLICT, m),
            Error::ValidationError(m) => ("ValidationError", StatusCode::BAD_REQUEST, m),
            Error::InvalidAction { action, version } => {
                return query::unknown_action(action, version.as_deref());
            }
            Error::NotImplemented(action) => return ErrorInfo::not_implemented(action),
            Error::Internal(_) => return ErrorInfo::internal(),
        };
        ErrorInfo::new(code, status, message.clone())
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(action) => Error::InvalidAction { action, version: None },
            ProtocolError::MissingOperation => Error::InvalidAction { action: String::new(), version: None },
            ProtocolError::MissingMembers(members) => Error::ValidationError(crate::validate::message(
                members.iter().map(|m| (m.as_str(), "Member must not be null".to_owned())),
            )),
            ProtocolError::Serialization(m) | ProtocolError::InvalidValue { message: m, .. } => {
                Error::ValidationError(m)
            }
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::Internal(e)
    }
}
