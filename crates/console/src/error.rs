//! The console's one error type and its rendering: the console is not an AWS API, so its errors
//! are plain JSON (`{"error": code, "message": ...}`) with an HTTP status, mapped here only.

use http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A query parameter the console cannot use.
    #[error("{0}")]
    BadRequest(String),
    #[error("no such console page or API: {0}")]
    NotFound(String),
    /// A service refused a read; the console reports which, rather than guessing a graph.
    #[error("{service} answered {status}: {detail}")]
    Upstream { service: String, status: u16, detail: String },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn internal(e: impl std::fmt::Display) -> Error {
        Error::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "BadRequest",
            Error::NotFound(_) => "NotFound",
            Error::Upstream { .. } => "UpstreamError",
            Error::Internal(_) => "InternalError",
        }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.to_string() })
    }
}
