//! Lambda's errors: one variant per AWS error code this service answers, mapped to the wire in
//! one exhaustive match. Messages are AWS's own wording, built where the error is raised.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, RequestContext, Response, ServiceError, error_response};
use storage::StorageError;

/// Why an invoke was throttled: the `Reason` member of `TooManyRequestsException`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The account's (region's) unreserved pool is in use.
    ConcurrentInvocationLimitExceeded,
    /// The function's reserved concurrency is in use (or is 0).
    ReservedFunctionConcurrentInvocationLimitExceeded,
}

impl ThrottleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::ConcurrentInvocationLimitExceeded => "ConcurrentInvocationLimitExceeded",
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: a function, version, alias, statement or configuration that is not there.
    #[error("resource not found: {0}")]
    ResourceNotFoundException(String),
    /// 404: no provisioned concurrency on that qualifier.
    #[error("no provisioned concurrency config: {0}")]
    ProvisionedConcurrencyConfigNotFoundException(String),
    /// 409: the resource exists already, or is in a state that forbids the change.
    #[error("resource conflict: {0}")]
    ResourceConflictException(String),
    /// 400: a value the model allows but Lambda refuses.
    #[error("invalid parameter value: {0}")]
    InvalidParameterValueException(String),
    /// 400: a member breaks a constraint of the model (`1 validation error detected: …`).
    #[error("validation: {0}")]
    ValidationException(String),
    /// 400: the Invoke payload is not JSON.
    #[error("invalid request content: {0}")]
    InvalidRequestContentException(String),
    /// 413: the Invoke payload is over the synchronous or asynchronous limit.
    #[error("request too large: {0}")]
    RequestTooLargeException(String),
    /// 412: the `RevisionId` given is not the current one.
    #[error("precondition failed: {0}")]
    PreconditionFailedException(String),
    /// 429: over the account's or the function's concurrency.
    #[error("throttled: {0:?}")]
    TooManyRequestsException(ThrottleReason),
    /// 400: the body or a header could not be read as the operation's input.
    #[error("serialization: {0}")]
    SerializationException(String),
    /// 404: the path is not an operation of the Lambda API.
    #[error("unknown operation")]
    UnknownOperationException,
    /// 501: an operation (or a feature of one) that Nimbus does not implement yet.
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// 500: the platform could not run the function (no interpreter for the runtime, the
    /// process could not start). The cause is logged.
    #[error("service exception: {0}")]
    ServiceException(String),
    /// 500: the store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    Internal(#[source] StorageError),
}

impl Error {
    pub fn not_found(what: impl Into<String>) -> Error {
        Error::ResourceNotFoundException(what.into())
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidParameterValueException(message.into())
    }

    /// A model constraint broken: `1 validation error detected: Value '…' at '…' failed to
    /// satisfy constraint: …`.
    pub fn validation(member: &str, value: &str, constraint: &str) -> Error {
        Error::ValidationException(protocol::validation_message([(member, value, constraint)]))
    }

    /// Renders the error as Lambda does: rest-json with `x-amzn-ErrorType`, `Type` and
    /// `message`; a throttle also carries `Reason` and `Retry-After`.
    pub fn into_response(self, ctx: &RequestContext) -> Response {
        if let Error::Internal(source) = &self {
            tracing::error!(error = %source, "lambda request failed in the store");
        }
        if let Error::ServiceException(message) = &self {
            tracing::error!(error = %message, "lambda could not run the function");
        }
        let mut resp = error_response(Protocol::RestJson, ctx, &self.to_wire());
        if let Error::TooManyRequestsException(reason) = self {
            let body =
                serde_json::json!({ "Reason": reason.as_str(), "Type": "User", "message": "Rate Exceeded." });
            *resp.body_mut() = bytes::Bytes::from(body.to_string());
            resp.headers_mut().insert("retry-after", http::HeaderValue::from_static("1"));
        }
        resp
    }
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let (code, status, message) = match self {
            Error::ResourceNotFoundException(m) => ("ResourceNotFoundException", StatusCode::NOT_FOUND, m),
            Error::ProvisionedConcurrencyConfigNotFoundException(m) => {
                ("ProvisionedConcurrencyConfigNotFoundException", StatusCode::NOT_FOUND, m)
            }
            Error::ResourceConflictException(m) => ("ResourceConflictException", StatusCode::CONFLICT, m),
            Error::InvalidParameterValueException(m) => {
                ("InvalidParameterValueException", StatusCode::BAD_REQUEST, m)
            }
            Error::ValidationException(m) => ("ValidationException", StatusCode::BAD_REQUEST, m),
            Error::InvalidRequestContentException(m) => {
                ("InvalidRequestContentException", StatusCode::BAD_REQUEST, m)
            }
            Error::RequestTooLargeException(m) => {
                ("RequestTooLargeException", StatusCode::PAYLOAD_TOO_LARGE, m)
            }
            Error::PreconditionFailedException(m) => {
                ("PreconditionFailedException", StatusCode::PRECONDITION_FAILED, m)
            }
            Error::TooManyRequestsException(_) => {
                return ErrorInfo::new(
                    "TooManyRequestsException",
                    StatusCode::TOO_MANY_REQUESTS,
                    "Rate Exceeded.",
                );
            }
            Error::SerializationException(m) => ("SerializationException", StatusCode::BAD_REQUEST, m),
            Error::UnknownOperationException => {
                return ErrorInfo::new("UnknownOperationException", StatusCode::NOT_FOUND, "");
            }
            Error::NotImplemented(what) => return ErrorInfo::not_implemented(what),
            Error::ServiceException(_) => {
                return ErrorInfo::new(
                    "ServiceException",
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The service encountered an internal error while running the function.",
                );
            }
            Error::Internal(_) => return ErrorInfo::internal(),
        };
        ErrorInfo::new(code, status, message.clone())
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::Internal(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation => {
                Error::UnknownOperationException
            }
            ProtocolError::Serialization(m) => Error::SerializationException(m),
            other => Error::ValidationException(other.default_wire(Protocol::RestJson).message),
        }
    }
}
