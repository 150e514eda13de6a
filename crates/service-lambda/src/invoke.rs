//! The Invoke API: resolving what to run (version, alias routing), checking the payload,
//! throttling, running it on the runtime manager, and answering with Lambda's headers.
//! `Event` invokes are queued durably (see `queue.rs`); `DryRun` only checks.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use protocol::{RequestContext, Response, rest::json_response};
use runtime::{InvokeOutcome, ResponseStream, RuntimeError, Streamed};
use types::Scope;
use types::trace::{Execution, Outcome, Sampling, Span, SpanId, TraceHeader, TraceId, epoch_us};

use crate::concurrency::Permit;
use crate::error::Error;
use crate::model::{FunctionRecord, VersionConfig, function_key};
use crate::names::{function_arn, function_not_found, qualified_arn};
use crate::operation::{InvocationType, InvokeInput, Target};
use crate::{Inner, queue};

/// Lambda's synchronous payload limit (request and response).
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Lambda's asynchronous payload limit (1 MB since 2025).
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;

/// `X-Amz-Log-Result` carries the last 4 KB of the invocation's log.
const LOG_TAIL_BYTES: usize = 4096;

/// What an invoke runs: a function version, and the ARN the caller used.
pub struct Resolved {
    pub config: VersionConfig,
    pub invoked_arn: String,
}

/// Picks the version a qualifier runs: an alias with weighted routing sends each invoke to its
/// additional version with that version's weight.
pub fn resolve(scope: &Scope, f: &FunctionRecord, qualifier: Option<&str>) -> Result<Resolved, Error> {
    let Some(q) = qualifier else {
        return Ok(Resolved { config: f.latest.clone(), invoked_arn: function_arn(scope, &f.name) });
    };
    let version = match f.aliases.get(q) {
        Some(alias) => {
            let roll: f64 = random_unit();
            let mut acc = 0.0;
            let mut chosen = alias.function_version.as_str();
            for (v, w) in &alias.routing {
                acc += w;
                if roll < acc {
                    chosen = v.as_str();
                    break;
                }
            }
            chosen.to_owned()
        }
        None => q.to_owned(),
    };
    let config = f.version(&version).cloned().ok_or_else(|| function_not_found(scope, &f.name, Some(q)))?;
    Ok(Resolved { config, invoked_arn: qualified_arn(scope, &f.name, q) })
}

/// A uniform number in [0, 1), from the randomness of a v4 UUID (no extra dependency).
fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() >> 75;
    (bits as f64) / ((1u64 << 53) as f64)
}

/// Checks an Invoke payload: within the limit and JSON (an empty payload is `{}`).
pub fn check_payload(payload: Bytes, limit: usize) -> Result<Bytes, Error> {
    if payload.len() > limit {
        return Err(Error::RequestTooLargeException(format!(
            "Request must be smaller than {limit} bytes for the InvokeFunction operation"
        )));
    }
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return Err(Error::InvalidRequestContentException(format!(
            "Could not parse request body into json: Could not parse payload into json: {e}"
        )));
    }
    Ok(payload)
}

/// The runtime manager's view of a version.
pub fn runtime_config(
    svc: &Inner,
    scope: &Scope,
    name: &str,
    v: &VersionConfig,
) -> Result<runtime::FunctionConfig, Error> {
    let rt = v
        .runtime
        .parse::<runtime::Runtime>()
        .map_err(|_| Error::ServiceException(format!("stored runtime {} is unknown", v.runtime)))?;
    let code_dir = svc.code.unpacked(&v.code)?;
    let mut c = runtime::FunctionConfig::new(
        scope.account.clone(),
        scope.region.clone(),
        name,
        rt,
        &v.handler,
        code_dir,
    );
    c.version = v.version.clone();
    c.qualified_arn = qualified_arn(scope, name, &v.version);
    c.memory_mb = v.memory_size;
    c.timeout = std::time::Duration::from_secs(u64::from(v.timeout));
    c.environment = v.environment.clone().unwrap_or_default();
    c.ephemeral_storage_mb = v.ephemeral_storage;
    c.log_group = v.logging.log_group.clone();
    for layer in &v.layers {
        let code = crate::model::CodeRef { sha256_hex: layer.sha256_hex.clone(), size: layer.code_size };
        c.layers.push(svc.code.unpacked(&code)?);
    }
    Ok(c)
}

/// An invocation's place in its trace: its own span, under its caller's (the request, message
/// or event that caused it), and the header the function sees as `_X_AMZN_TRACE_ID` — whose
/// `Parent` is the invocation's span, so the SDK calls the function makes (which copy that
/// header into `X-Amzn-Trace-Id`) land under it.
#[derive(Clone, Copy, Debug)]
pub struct Traced {
    pub span: SpanId,
    pub caller: Option<SpanId>,
    pub header: TraceHeader,
}

impl Traced {
    /// The trace of an invocation `caller` caused, or a new one (as Lambda starts one for a
    /// call that carries none).
    pub fn begin(caller: Option<TraceHeader>, now_ms: i64) -> Traced {
        let span = SpanId::random();
        let caller = caller.unwrap_or_else(|| {
            let epoch = u32::try_from(now_ms / 1000).unwrap_or_default();
            TraceHeader { root: TraceId::random(epoch), parent: None, sampled: None }
        });
        // Lambda always tells the function a sampling decision; it records nothing to X-Ray.
        let sampled = Some(caller.sampled.unwrap_or(Sampling::NotSampled));
        Traced { span, caller: caller.parent, header: TraceHeader { sampled, ..caller.child(span) } }
    }

    /// The span of the finished invocation, started at `start_us` (epoch microseconds).
    fn span(&self, scope: &Scope, arn: &str, start_us: i64, ended: Result<&InvokeOutcome, &Error>) -> Span {
        let now_us = now_us();
        let (outcome, execution) = match ended {
            Ok(o) => (
                o.error().map_or(Outcome::Ok, |e| Outcome::Error(e.error_type.clone())),
                Some(Execution { request_id: o.request_id.clone(), cold_start: o.cold_start }),
            ),
            Err(e) => (Outcome::Error(protocol::ServiceError::to_wire(e).code.to_string()), None),
        };
        Span {
            trace: self.header.root,
            id: self.span,
            parent: self.caller,
            scope: scope.clone(),
            service: "lambda".to_owned(),
            operation: "Invoke".to_owned(),
            resource: arn.to_owned(),
            start_us,
            duration_us: u64::try_from(now_us - start_us).unwrap_or_default(),
            outcome,
            execution,
        }
    }
}

fn now_us() -> i64 {
    epoch_us(time::OffsetDateTime::now_utc())
}

/// What the console is told of an invocation before it runs: enough to file its record once
/// it has finished.
#[derive(Clone, Debug)]
pub struct Begun {
    function: String,
    version: String,
    architecture: ::ports::Architecture,
    start_us: i64,
    /// Invocations of the function running as it began, itself included.
    concurrency: u32,
}

impl Begun {
    fn new(svc: &Inner, scope: &Scope, name: &str, config: &VersionConfig, start_us: i64) -> Begun {
        let key = String::from_utf8_lossy(&function_key(scope, name)).into_owned();
        Begun {
            function: name.to_owned(),
            version: config.version.clone(),
            architecture: config
                .architectures
                .first()
                .and_then(|a| ::ports::Architecture::parse(a))
                .unwrap_or(::ports::Architecture::X86_64),
            start_us,
            concurrency: svc.concurrency.running(&key).max(1),
        }
    }

    /// Hands the finished invocation to the recorder, with its REPORT figures as the REPORT
    /// line prints them.
    fn finished(self, svc: &Inner, scope: &Scope, traced: &Traced, outcome: &InvokeOutcome) {
        let report = &outcome.report;
        let result = match &report.status {
            Some(runtime::ReportStatus::Timeout) => ::ports::InvocationOutcome::Timeout,
            Some(runtime::ReportStatus::Error(t)) => {
                ::ports::InvocationOutcome::Error { error_type: t.clone() }
            }
            None => match outcome.error() {
                Some(e) => ::ports::InvocationOutcome::Error { error_type: e.error_type.clone() },
                None => ::ports::InvocationOutcome::Ok,
            },
        };
        svc.invocations().finished(::ports::InvocationRecord {
            scope: scope.clone(),
            function: self.function,
            request_id: outcome.request_id.clone(),
            version: self.version,
            architecture: self.architecture,
            started_ms: self.start_us.div_euclid(1000),
            ended_ms: svc.now_ms(),
            duration_ms_x100: hundredths(report.duration),
            billed_ms: u64::try_from(report.billed_duration.as_millis()).unwrap_or(u64::MAX),
            memory_mb: report.memory_size_mb,
            max_memory_used_mb: report.max_memory_used_mb,
            init_ms_x100: report.init_duration.map(hundredths),
            outcome: result,
            concurrency: self.concurrency,
            log_group: outcome.log_group.clone(),
            log_stream: outcome.log_stream.clone(),
            trace: traced.header.root,
            caller: traced.caller,
            trigger: None,
        });
    }
}

/// A duration in hundredths of a millisecond, rounded as the REPORT line prints it (`{:.2}`),
/// so the console's figures are the line's.
fn hundredths(d: std::time::Duration) -> u64 {
    let printed = format!("{:.2}", d.as_secs_f64() * 1000.0);
    printed.replace('.', "").parse().unwrap_or(u64::MAX)
}

/// Runs one invocation under a concurrency permit the caller holds, and records its cost and
/// its span.
pub async fn run(
    svc: &Inner,
    scope: &Scope,
    name: &str,
    resolved: &Resolved,
    mut invocation: runtime::Invocation,
    asynchronous: bool,
    traced: Traced,
) -> Result<InvokeOutcome, Error> {
    let start_us = now_us();
    let begun = Begun::new(svc, scope, name, &resolved.config, start_us);
    invocation.trace_id = Some(traced.header.to_string());
    let ran = async {
        let config = runtime_config(svc, scope, name, &resolved.config)?;
        svc.runtime.invoke(&config, invocation).await.map_err(platform_failure)
    }
    .await;
    svc.traces().record(traced.span(scope, &resolved.invoked_arn, start_us, ran.as_ref()));
    let outcome = ran?;
    svc.usage.record(
        &function_arn(scope, name),
        &resolved.config.version,
        &outcome,
        svc.now_ms(),
        asynchronous,
    );
    begun.finished(svc, scope, &traced, &outcome);
    Ok(outcome)
}

fn platform_failure(e: RuntimeError) -> Error {
    match e {
        RuntimeError::NoInterpreter(rt) => {
            Error::ServiceException(format!("no interpreter for {rt} on this host; configure one"))
        }
        other => Error::ServiceException(other.to_string()),
    }
}

/// How a synchronous invocation that may stream began.
pub enum Started {
    /// It answered without streaming (or failed first); its cost is recorded.
    Finished(Box<InvokeOutcome>),
    Streaming(Streaming),
}

/// A function streaming its response. It holds the invocation's concurrency slot until
/// [`finish`](Self::finish), which records the cost; dropping it frees the slot early, so
/// whoever gives up on the client still drains and finishes it.
pub struct Streaming {
    pub stream: ResponseStream,
    permit: Permit,
    function_arn: String,
    version: String,
    /// What its span is recorded with once it ends: trace, scope, invoked ARN, start.
    span: Box<(Traced, Scope, String, i64)>,
    begun: Box<Begun>,
}

impl Streaming {
    pub async fn chunk(&mut self) -> Option<Bytes> {
        self.stream.chunk().await
    }

    /// Waits for the function to end (what it still writes is dropped) and records its cost.
    pub async fn finish(self, svc: &Inner) -> Result<InvokeOutcome, Error> {
        let Streaming { stream, permit, function_arn, version, span, begun } = self;
        let outcome = stream.outcome().await.map_err(platform_failure);
        drop(permit);
        let (traced, scope, arn, start_us) = *span;
        svc.traces().record(traced.span(&scope, &arn, start_us, outcome.as_ref()));
        let outcome = outcome?;
        svc.usage.record(&function_arn, &version, &outcome, svc.now_ms(), false);
        begun.finished(svc, &scope, &traced, &outcome);
        Ok(outcome)
    }

    /// Reads the rest of the stream into nothing and finishes, in the background.
    pub fn abandon(mut self, svc: Arc<Inner>) {
        tokio::spawn(async move {
            while self.chunk().await.is_some() {}
            let _ = self.finish(&svc).await;
        });
    }
}

/// [`run_throttled`] for callers that read a streamed response as it is written.
pub async fn run_streaming(
    svc: &Inner,
    scope: &Scope,
    name: &str,
    resolved: &Resolved,
    mut invocation: runtime::Invocation,
    traced: Traced,
) -> Result<Started, Error> {
    let key = String::from_utf8_lossy(&function_key(scope, name)).into_owned();
    let permit = svc.concurrency.acquire(&key).map_err(|reason| {
        svc.usage.throttled(&function_arn(scope, name));
        Error::TooManyRequestsException(reason)
    })?;
    let start_us = now_us();
    let begun = Begun::new(svc, scope, name, &resolved.config, start_us);
    invocation.trace_id = Some(traced.header.to_string());
    let config = runtime_config(svc, scope, name, &resolved.config)?;
    let function_arn = function_arn(scope, name);
    let version = resolved.config.version.clone();
    let started = svc.runtime.invoke_streaming(&config, invocation).await.map_err(platform_failure);
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            svc.traces().record(traced.span(scope, &resolved.invoked_arn, start_us, Err(&e)));
            return Err(e);
        }
    };
    match started {
        Streamed::Finished(outcome) => {
            drop(permit);
            svc.traces().record(traced.span(scope, &resolved.invoked_arn, start_us, Ok(&outcome)));
            svc.usage.record(&function_arn, &version, &outcome, svc.now_ms(), false);
            begun.finished(svc, scope, &traced, &outcome);
            Ok(Started::Finished(outcome))
        }
        Streamed::Streaming(stream) => Ok(Started::Streaming(Streaming {
            stream,
            permit,
            function_arn,
            version,
            span: Box::new((traced, scope.clone(), resolved.invoked_arn.clone(), start_us)),
            begun: Box::new(begun),
        })),
    }
}

pub async fn invoke(
    svc: &Arc<Inner>,
    ctx: &RequestContext,
    t: Target,
    input: InvokeInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let f = svc
        .load(scope, &t.name)?
        .ok_or_else(|| function_not_found(scope, &t.name, t.qualifier.as_deref()))?;
    let resolved = resolve(scope, &f, t.qualifier.as_deref())?;
    match input.invocation_type {
        InvocationType::DryRun => {
            check_payload(input.payload, MAX_SYNC_PAYLOAD)?;
            let mut resp =
                json_response(StatusCode::NO_CONTENT, &serde_json::Value::Null, ctx.request_id.as_str());
            *resp.body_mut() = Bytes::new();
            Ok(resp)
        }
        InvocationType::Event => {
            let payload = check_payload(input.payload, MAX_ASYNC_PAYLOAD)?;
            let qualifier = t.qualifier.as_deref().unwrap_or("$LATEST");
            let trace = Some(ctx.trace.downstream());
            queue::accept(svc, scope, ctx.request_id.as_str(), &f.name, qualifier, &payload, trace)?;
            ctx.trace.note("Invoke", resolved.invoked_arn.clone());
            let mut resp =
                json_response(StatusCode::ACCEPTED, &serde_json::Value::Null, ctx.request_id.as_str());
            *resp.body_mut() = Bytes::new();
            Ok(resp)
        }
        InvocationType::RequestResponse => {
            let payload = check_payload(input.payload, MAX_SYNC_PAYLOAD)?;
            let invocation = runtime::Invocation {
                request_id: ctx.request_id.as_str().to_owned(),
                payload,
                invoked_function_arn: Some(resolved.invoked_arn.clone()),
                client_context: input.client_context,
                cognito_identity: None,
                trace_id: None,
                tail_logs: input.tail,
            };
            ctx.trace.note("Invoke", resolved.invoked_arn.clone());
            let traced = Traced::begin(Some(ctx.trace.downstream()), svc.now_ms());
            let outcome = run_throttled(svc, scope, &f.name, &resolved, invocation, traced).await?;
            Ok(respond(ctx, &resolved.config.version, &outcome, input.tail))
        }
    }
}

/// A synchronous invocation under the function's concurrency: throttled with 429 when full.
pub async fn run_throttled(
    svc: &Inner,
    scope: &Scope,
    name: &str,
    resolved: &Resolved,
    invocation: runtime::Invocation,
    traced: Traced,
) -> Result<InvokeOutcome, Error> {
    let key = String::from_utf8_lossy(&function_key(scope, name)).into_owned();
    let _permit = svc.concurrency.acquire(&key).map_err(|reason| {
        svc.usage.throttled(&function_arn(scope, name));
        Error::TooManyRequestsException(reason)
    })?;
    run(svc, scope, name, resolved, invocation, false, traced).await
}

/// The deprecated `InvokeAsync`: queues an event and answers `{"Status": 202}`.
pub fn invoke_async_legacy(
    svc: &Arc<Inner>,
    ctx: &RequestContext,
    t: Target,
    payload: Bytes,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let f = svc.load(scope, &t.name)?.ok_or_else(|| function_not_found(scope, &t.name, None))?;
    let payload = check_payload(payload, MAX_ASYNC_PAYLOAD)?;
    let trace = Some(ctx.trace.downstream());
    queue::accept(svc, scope, ctx.request_id.as_str(), &f.name, "$LATEST", &payload, trace)?;
    ctx.trace.note("InvokeAsync", function_arn(scope, &f.name));
    Ok(json_response(StatusCode::ACCEPTED, &serde_json::json!({ "Status": 202 }), ctx.request_id.as_str()))
}

/// Status 200 whatever the function did; a failure is told by `X-Amz-Function-Error`.
fn respond(ctx: &RequestContext, version: &str, outcome: &InvokeOutcome, tail: bool) -> Response {
    let mut resp = json_response(StatusCode::OK, &serde_json::Value::Null, ctx.request_id.as_str());
    *resp.body_mut() = outcome.payload().clone();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert("x-amz-executed-version", v);
    }
    if outcome.error().is_some() {
        headers.insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
    }
    if tail {
        let tail_text = outcome.log_tail(LOG_TAIL_BYTES);
        let encoded = base64::engine::general_purpose::STANDARD.encode(tail_text.as_bytes());
        if let Ok(v) = HeaderValue::from_str(&encoded) {
            headers.insert("x-amz-log-result", v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_recorded_with_the_digits_report_prints() {
        use std::time::Duration;
        for micros in [0u64, 5, 12_341, 12_345, 85_230, 999_999, 3_000_000, 1_234_567_891] {
            let d = Duration::from_micros(micros) + Duration::from_nanos(micros % 997);
            let printed = format!("{:.2}", d.as_secs_f64() * 1000.0);
            let back: f64 = printed.parse().expect("number");
            assert_eq!(hundredths(d) as f64 / 100.0, back, "{printed}");
        }
    }

    #[test]
    fn payloads_must_be_json_and_small() {
        assert_eq!(check_payload(Bytes::new(), 10).ok(), Some(Bytes::from_static(b"{}")));
        assert!(check_payload(Bytes::from_static(b"[1, 2]"), 100).is_ok());
        assert!(matches!(
            check_payload(Bytes::from_static(b"{nope"), 100),
            Err(Error::InvalidRequestContentException(m)) if m.starts_with("Could not parse request body into json")
        ));
        assert!(matches!(
            check_payload(Bytes::from_static(b"\"0123456789\""), 5),
            Err(Error::RequestTooLargeException(_))
        ));
    }

    #[test]
    fn random_unit_stays_in_range() {
        for _ in 0..1000 {
            let r = random_unit();
            assert!((0.0..1.0).contains(&r), "{r}");
        }
    }
}
