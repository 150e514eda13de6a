//! STS's errors: one variant per AWS error code this service answers, mapped to the wire in one
//! exhaustive match.

use http::StatusCode;
use protocol::{ErrorInfo, ProtocolError, ServiceError, query};

/// Everything an STS request can fail with. Messages are AWS's own wording.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A member broke the model (`1 validation error detected: …`) or a role ARN that is not an
    /// ARN (`… is invalid`).
    #[error("validation error: {0}")]
    ValidationError(String),
    /// The `Action` is not an STS operation at all.
    #[error("invalid action {action:?}")]
    InvalidAction { action: String, version: Option<String> },
    /// An STS operation of the model that Nimbus does not implement yet.
    #[error("{0} is not implemented")]
    NotImplemented(&'static str),
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        match self {
            Error::ValidationError(m) => {
                ErrorInfo::new("ValidationError", StatusCode::BAD_REQUEST, m.clone())
            }
            Error::InvalidAction { action, version } => query::unknown_action(action, version.as_deref()),
            Error::NotImplemented(action) => ErrorInfo::not_implemented(action),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(action) => Error::InvalidAction { action, version: None },
            ProtocolError::MissingOperation => Error::InvalidAction { action: String::new(), version: None },
            // The query protocol reports every other rejection as a ValidationError; the wording
            // is the shared one (`Value null at 'roleArn' …` for missing members), which is
            // STS's.
            other => {
                let info = other.default_wire(protocol::Protocol::Query);
                Error::ValidationError(info.message)
            }
        }
    }
}
