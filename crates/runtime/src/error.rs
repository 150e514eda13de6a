//! Failures of the platform itself. A function that fails (throws, times out, runs out of
//! memory, crashes, cannot be imported) is not one of these: that is an
//! [`InvokeOutcome`](crate::InvokeOutcome) carrying a [`FunctionError`](crate::FunctionError),
//! which the Invoke API returns with status 200 and `X-Amz-Function-Error`.

use std::path::PathBuf;

use crate::function::Runtime;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No interpreter is configured for this runtime on this host (a `ServiceException` to the
    /// caller: the function is fine, the platform cannot run it).
    #[error("no interpreter configured for runtime {0}")]
    NoInterpreter(Runtime),
    #[error("cannot prepare {path}: {source}")]
    Prepare {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the runtime api server: {0}")]
    ApiServer(#[source] std::io::Error),
    #[error("cannot start the function process: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("the requested sandbox is not available: {0}")]
    SandboxUnavailable(String),
    /// A provisioned environment failed its init phase; `error_type` and `message` are the
    /// function's (for the provisioned-concurrency config's `StatusReason`).
    #[error("environment init failed: {error_type}: {message}")]
    InitFailed { error_type: String, message: String },
    #[error("the runtime manager is shut down")]
    ShutDown,
    #[error("internal error: {0}")]
    Internal(String),
}
