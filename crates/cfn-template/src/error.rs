//! The one error type of the template engine: variants are the AWS error codes CloudFormation
//! answers with, each carrying CloudFormation's message text.

/// A refusal, worded as CloudFormation words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `ValidationError`: template format errors, parameter errors and intrinsic-function misuse
    /// all surface under this one code in CloudFormation.
    #[error("{0}")]
    ValidationError(String),
    /// `InsufficientCapabilitiesException`: the template creates IAM resources or uses a
    /// transform, and the caller did not acknowledge it.
    #[error("Requires capabilities : [{0}]")]
    InsufficientCapabilitiesException(String),
    /// Something CloudFormation supports that Nimbus does not (yet); the service answers with a
    /// NotImplemented-style error rather than pretending.
    #[error("{0}")]
    NotImplemented(String),
}

impl Error {
    /// The AWS error code this error goes on the wire with.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ValidationError(_) => "ValidationError",
            Error::InsufficientCapabilitiesException(_) => "InsufficientCapabilitiesException",
            Error::NotImplemented(_) => "NotImplemented",
        }
    }

    /// The message as CloudFormation words it.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// A `ValidationError` with the given text.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::ValidationError(message.into())
}

/// `Template format error: ...`, the prefix CloudFormation puts on structural problems.
pub(crate) fn format_error(detail: impl std::fmt::Display) -> Error {
    Error::ValidationError(format!("Template format error: {detail}"))
}

/// `Template error: ...`, the prefix CloudFormation puts on intrinsic-function problems.
pub(crate) fn template_error(detail: impl std::fmt::Display) -> Error {
    Error::ValidationError(format!("Template error: {detail}"))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
