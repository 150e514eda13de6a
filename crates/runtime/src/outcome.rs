//! What an invocation produced: the function's response or error, the REPORT figures and the
//! log lines, in the shapes AWS uses.

use std::fmt::{self, Write as _};
use std::time::Duration;

use bytes::Bytes;

use crate::logs::LogEvent;

/// Largest buffered response (and `/response` body) Lambda accepts: 6 MiB + 100 bytes, the
/// figure its error message names.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Largest streamed response: 200 MB (Lambda's limit since July 2025; it was 20 MB before).
pub const MAX_STREAMED_RESPONSE_BYTES: usize = 200 * 1024 * 1024;

/// The id of one execution environment: 32 lowercase hex digits, also the suffix of its log
/// stream name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvironmentId(pub(crate) String);

impl EnvironmentId {
    pub(crate) fn new() -> EnvironmentId {
        EnvironmentId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvironmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EnvironmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvironmentId({})", self.0)
    }
}

/// The result of one invocation as the Invoke API returns it.
#[derive(Clone, Debug)]
pub struct InvokeOutcome {
    pub request_id: String,
    pub result: InvokeResult,
    pub report: Report,
    /// This invocation started the environment (it paid the init phase).
    pub cold_start: bool,
    pub environment_id: EnvironmentId,
    pub log_group: String,
    pub log_stream: String,
    /// With [`Invocation::tail_logs`](crate::Invocation): START, the function's lines, any
    /// platform error line, END and REPORT, as written to the log stream. Empty otherwise.
    pub logs: Vec<LogEvent>,
}

impl InvokeOutcome {
    /// The last `max_bytes` of the log text (lines joined with `\n`), cut at a character
    /// boundary: `X-Amz-Log-Result` is the base64 of `log_tail(4096)`.
    pub fn log_tail(&self, max_bytes: usize) -> String {
        let mut text = String::new();
        for e in &self.logs {
            text.push_str(&e.message);
            if !e.message.ends_with('\n') {
                text.push('\n');
            }
        }
        if text.len() <= max_bytes {
            return text;
        }
        let mut start = text.len() - max_bytes;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text.split_off(start)
    }

    /// The error, if the invocation failed (`X-Amz-Function-Error: Unhandled`).
    pub fn error(&self) -> Option<&FunctionError> {
        match &self.result {
            InvokeResult::Error(e) => Some(e),
            InvokeResult::Response(_) => None,
        }
    }

    /// The bytes the Invoke API returns as its body: the response, or the error document.
    pub fn payload(&self) -> &Bytes {
        match &self.result {
            InvokeResult::Response(r) => &r.payload,
            InvokeResult::Error(e) => &e.payload,
        }
    }
}

#[derive(Clone, Debug)]
pub enum InvokeResult {
    Response(Response),
    Error(FunctionError),
}

/// What the runtime posted to `/response`.
#[derive(Clone, Debug)]
pub struct Response {
    pub payload: Bytes,
    /// The `Content-Type` the runtime sent, if any (streamed HTTP-integration responses use
    /// `application/vnd.awslambda.http-integration-response`).
    pub content_type: Option<String>,
    /// The runtime used `Lambda-Runtime-Function-Response-Mode: streaming`. The stream is in
    /// `payload` when it was buffered ([`RuntimeManager::invoke`](crate::RuntimeManager)); read
    /// as a stream, it went out through the [`ResponseStream`](crate::ResponseStream) and
    /// `payload` is empty.
    pub streamed: bool,
}

/// Where a function error came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorOrigin {
    /// The runtime posted it to `/invocation/{id}/error` (an exception in the handler).
    Function,
    /// The runtime posted it to `/init/error` (import error, handler not found, …).
    Init,
    /// The platform made it: timeout, exit, out of memory, response too large, bad bootstrap.
    Platform,
}

/// A failed invocation: the body is returned to the caller as is, with status 200 and
/// `X-Amz-Function-Error: Unhandled`.
#[derive(Clone, Debug)]
pub struct FunctionError {
    /// `errorType` (from the runtime's `Lambda-Runtime-Function-Error-Type` header or body), e.g.
    /// `ValueError`, `Runtime.ImportModuleError`, `Sandbox.Timedout`.
    pub error_type: String,
    /// The error document: as the runtime posted it, or AWS's platform shape
    /// `{"errorType":…,"errorMessage":…}`.
    pub payload: Bytes,
    pub origin: ErrorOrigin,
    /// What a streaming function wrote before it failed, when its stream was buffered
    /// (InvokeWithResponseStream delivers it ahead of the error); empty otherwise.
    pub streamed: Bytes,
}

impl FunctionError {
    pub(crate) fn platform(error_type: &str, message: &str) -> FunctionError {
        // Written by hand to keep AWS's key order (serde_json's map would sort the keys).
        let body =
            format!(r#"{{"errorType":{},"errorMessage":{}}}"#, json_string(error_type), json_string(message));
        FunctionError {
            error_type: error_type.to_owned(),
            payload: Bytes::from(body),
            origin: ErrorOrigin::Platform,
            streamed: Bytes::new(),
        }
    }

    /// `errorMessage` of the payload, when it is a JSON object with one.
    pub fn message(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.payload).ok()?;
        v.get("errorMessage")?.as_str().map(str::to_owned)
    }
}

/// How an invocation ended, when it did not end normally (the `Status:` field of REPORT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportStatus {
    Timeout,
    /// A platform-detected error: `Runtime.ExitError`, `Runtime.OutOfMemory`, an init failure.
    Error(String),
}

/// The figures of the REPORT line.
#[derive(Clone, Debug)]
pub struct Report {
    pub request_id: String,
    pub duration: Duration,
    /// Duration rounded up to the next millisecond; on an on-demand cold start it includes the
    /// init phase, which Lambda bills since August 2025.
    pub billed_duration: Duration,
    pub memory_size_mb: u32,
    /// Measured: the environment's peak (cgroup `memory.max_usage_in_bytes` / `memory.peak`, or
    /// the sampled peak RSS of its process tree).
    pub max_memory_used_mb: u32,
    /// Process start to the runtime's first `/next`; only on the invocation that started the
    /// environment, never on provisioned ones.
    pub init_duration: Option<Duration>,
    pub status: Option<ReportStatus>,
}

impl Report {
    /// `memory × billed duration` in GB-seconds, Lambda's billing unit.
    pub fn billed_gb_seconds(&self) -> f64 {
        f64::from(self.memory_size_mb) / 1024.0 * self.billed_duration.as_secs_f64()
    }

    /// The REPORT line, tab separated with a trailing tab, as Lambda writes it.
    pub fn line(&self) -> String {
        let mut s = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.request_id,
            millis_f64(self.duration),
            self.billed_duration.as_millis(),
            self.memory_size_mb,
            self.max_memory_used_mb,
        );
        if let Some(init) = self.init_duration {
            let _ = write!(s, "Init Duration: {:.2} ms\t", millis_f64(init));
        }
        match &self.status {
            None => {}
            Some(ReportStatus::Timeout) => s.push_str("Status: timeout\t"),
            Some(ReportStatus::Error(t)) => {
                let _ = write!(s, "Status: error\tError Type: {t}\t");
            }
        }
        s
    }
}

pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn millis_f64(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Billed duration: whole milliseconds, rounded up.
pub(crate) fn billed(d: Duration) -> Duration {
    let nanos = d.as_nanos();
    let ms = nanos.div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            request_id: "r1".into(),
            duration: Duration::from_micros(12_341),
            billed_duration: billed(Duration::from_micros(12_341)),
            memory_size_mb: 128,
            max_memory_used_mb: 37,
            init_duration: Some(Duration::from_micros(85_230)),
            status: None,
        }
    }

    #[test]
    fn report_line_matches_aws() {
        assert_eq!(
            report().line(),
            "REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 37 MB\tInit Duration: 85.23 ms\t"
        );
        let mut r = report();
        r.init_duration = None;
        r.status = Some(ReportStatus::Error("Runtime.OutOfMemory".into()));
        assert!(
            r.line().ends_with("Max Memory Used: 37 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t")
        );
    }

    #[test]
    fn billing_rounds_up_to_a_millisecond() {
        assert_eq!(billed(Duration::from_micros(1)), Duration::from_millis(1));
        assert_eq!(billed(Duration::from_millis(5)), Duration::from_millis(5));
        assert_eq!(billed(Duration::from_micros(5_001)), Duration::from_millis(6));
        assert!((report().billed_gb_seconds() - 0.125 * 0.013).abs() < 1e-9);
    }

    #[test]
    fn platform_error_shape() {
        let e = FunctionError::platform(
            "Sandbox.Timedout",
            "RequestId: r Error: Task timed out after 1.00 seconds",
        );
        assert_eq!(
            std::str::from_utf8(&e.payload).expect("utf-8"),
            r#"{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r Error: Task timed out after 1.00 seconds"}"#
        );
        assert_eq!(e.message().as_deref(), Some("RequestId: r Error: Task timed out after 1.00 seconds"));
    }
}
