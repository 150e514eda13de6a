//! Lambda execution environments, without containers: each environment is a child process with
//! a fresh minimal environment, its own copy of the code, its own tmp folder, its own Runtime API
//! endpoint on `127.0.0.1:<port>` and its own resource limits (cgroup v2, cgroup v1, or rlimits
//! plus RSS sampling, whichever the host allows).
//!
//! The one entry point is [`RuntimeManager`]: [`RuntimeManager::invoke`] runs one invocation on a
//! warm environment of that function version or starts a new one
//! ([`RuntimeManager::invoke_streaming`] the same, handing a streamed response over as it is
//! written); [`RuntimeManager::prewarm`]
//! keeps provisioned environments initialised; [`RuntimeManager::evict`] throws a version's
//! environments away after its code or configuration changed. Idle environments are reaped
//! after [`RuntimeConfig::idle_timeout`].
//!
//! What is *not* here: counting concurrency and throttling (the control plane decides whether an
//! invoke may start), the asynchronous queue, and storing logs (callers give a [`LogSink`]).
//!
//! How the Lambda control plane drives it:
//!
//! ```text
//! let manager = RuntimeManager::new(RuntimeConfig::new(data_dir.join("lambda")), cloudwatch_sink)?;
//! let config = FunctionConfig { qualified_arn: version_arn, code_dir: unpacked_zip, .. };
//! let outcome = manager.invoke(&config, Invocation { request_id, payload, tail_logs, .. }).await?;
//! // 200 always; on outcome.error(): X-Amz-Function-Error: Unhandled, body = outcome.payload();
//! // X-Amz-Log-Result = base64(outcome.log_tail(4096)); X-Amz-Executed-Version = config.version;
//! // bill outcome.report.billed_gb_seconds().
//! manager.prewarm(&config, provisioned)?;   // PutProvisionedConcurrencyConfig
//! manager.evict(&version_arn);             // UpdateFunctionCode/Configuration, DeleteFunction
//! ```
//!
//! Reading order: `manager.rs` (pools), `environment.rs` (one environment's life), `api.rs`
//! (the Runtime API server), `sandbox.rs` (limits), `logs.rs` (capture and START/END/REPORT).
//! The Python and Node bootstraps live in `bootstrap/`.

mod api;
mod config;
mod environment;
mod error;
mod fsutil;
mod function;
mod isolation;
mod logs;
mod manager;
mod outcome;
mod peer;
mod sandbox;
mod stream;

pub use config::{Interpreters, RuntimeConfig, SandboxMode};
pub use error::RuntimeError;
pub use function::{
    Credentials, FunctionConfig, Invocation, RESERVED_ENV_VARS, Runtime, RuntimeFamily, UnknownRuntime,
};
pub use isolation::UID_BASE;
pub use logs::{LogEvent, LogSink, MemorySink, NullSink};
pub use manager::{PoolStatus, RuntimeManager};
pub use outcome::{
    EnvironmentId, ErrorOrigin, FunctionError, InvokeOutcome, InvokeResult, MAX_RESPONSE_BYTES,
    MAX_STREAMED_RESPONSE_BYTES, Report, ReportStatus, Response,
};
pub use sandbox::{ActiveSandbox, SandboxInfo};
pub use stream::{ResponseStream, Streamed};
