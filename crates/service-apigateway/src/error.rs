//! API Gateway's control-plane errors: one variant per AWS error code the two APIs answer,
//! mapped to the wire in one exhaustive match. Messages are AWS's own wording, built where the
//! error is raised (`Invalid API identifier specified 000000000000:abc123`).
//!
//! Data-plane failures are not errors of this kind: they are gateway responses
//! (`{"message":"Not Found"}`, `Missing Authentication Token`) rendered by `dataplane`.

use http::StatusCode;
use protocol::{ErrorInfo, Protocol, ProtocolError, RequestContext, Response, ServiceError, error_response};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: an API, resource, method, route, integration, stage or deployment that is not there.
    #[error("not found: {0}")]
    NotFoundException(String),
    /// 400: a value API Gateway refuses, or a required member missing.
    #[error("bad request: {0}")]
    BadRequestException(String),
    /// 409: a resource path, route key or stage name already in use.
    #[error("conflict: {0}")]
    ConflictException(String),
    /// 404: the path and method name no operation of either model.
    #[error("unknown operation")]
    UnknownOperationException,
    /// 501: an operation (or a feature of one) Nimbus does not implement yet.
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// 500: the store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    InternalFailure(#[source] StorageError),
}

impl Error {
    pub fn bad(message: impl Into<String>) -> Error {
        Error::BadRequestException(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::NotFoundException(message.into())
    }

    /// The one message both APIs give for an unknown API id.
    pub fn no_api(ctx: &RequestContext, api_id: &str) -> Error {
        Error::NotFoundException(format!("Invalid API identifier specified {}:{api_id}", ctx.scope.account))
    }

    pub fn into_response(self, ctx: &RequestContext) -> Response {
        if let Error::InternalFailure(source) = &self {
            tracing::error!(error = %source, "apigateway request failed in the store");
        }
        error_response(Protocol::RestJson, ctx, &self.to_wire())
    }
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        match self {
            Error::NotFoundException(m) => {
                ErrorInfo::new("NotFoundException", StatusCode::NOT_FOUND, m.clone())
            }
            Error::BadRequestException(m) => {
                ErrorInfo::new("BadRequestException", StatusCode::BAD_REQUEST, m.clone())
            }
            Error::ConflictException(m) => {
                ErrorInfo::new("ConflictException", StatusCode::CONFLICT, m.clone())
            }
            Error::UnknownOperationException => {
                ErrorInfo::new("UnknownOperationException", StatusCode::NOT_FOUND, "")
            }
            Error::NotImplemented(what) => ErrorInfo::not_implemented(what),
            Error::InternalFailure(_) => ErrorInfo::internal(),
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::InternalFailure(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation => {
                Error::UnknownOperationException
            }
            // API Gateway words unreadable bodies and missing members as BadRequestException.
            other => Error::BadRequestException(other.default_wire(Protocol::RestJson).message),
        }
    }
}
