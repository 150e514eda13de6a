//! The request pipeline: route, resolve the tenant, read the body, check the signature, call the
//! service, and make sure every response carries the request id. Streaming services (S3) skip
//! the body and signature steps: they get the body unread and verify their own signatures.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use protocol::{
    Answer, AwsService, ErrorInfo, Protocol, RequestContext, SignatureCheck, StreamBody, StreamingService,
    error_response, query,
};
use time::OffsetDateTime;
use tracing::Instrument;

use crate::auth::{self, Credentials, SigV4Mode};
use crate::route::{self, Destination, Internal, ServiceSpec};
use crate::trace::{self, SpanSink};

/// Bodies of requests that still have to be routed by their form-encoded content.
const ROUTING_BODY_LIMIT: usize = 1 << 20;
/// The default request body limit. AWS's JSON and query services cap requests well below this.
const DEFAULT_BODY_LIMIT: usize = 16 << 20;
/// Lambda's CreateFunction takes a 50 MB zip, base64-encoded inside JSON.
const LAMBDA_BODY_LIMIT: usize = 70_167_211;

/// Assembles a [`Gateway`]; `server` registers the services it wires.
#[derive(Default)]
pub struct GatewayBuilder {
    services: HashMap<&'static str, Arc<dyn AwsService>>,
    streaming: HashMap<&'static str, Arc<dyn StreamingService>>,
    console: Option<Arc<dyn AwsService>>,
    sigv4: SigV4Mode,
    credentials: Credentials,
    version: &'static str,
    traces: Option<SpanSink>,
    requests: Option<RequestSink>,
}

/// Where each request a service is handed is counted, by tenant and service (`server` wires
/// it to the usage meter). Called on every request: it must be cheap.
pub type RequestSink = Arc<dyn Fn(&types::Scope, &'static str) + Send + Sync>;

impl GatewayBuilder {
    /// Where requests are counted per tenant and service.
    pub fn requests(mut self, sink: RequestSink) -> GatewayBuilder {
        self.requests = Some(sink);
        self
    }

    /// Where the requests that belong to a trace are recorded (see [`protocol::TraceContext`]).
    pub fn traces(mut self, sink: SpanSink) -> GatewayBuilder {
        self.traces = Some(sink);
        self
    }

    /// Registers what answers `/_nimbus/...` besides the health endpoint (the web console). It
    /// is Nimbus's own page, not an AWS API: no signature is checked, and the tenant it shows
    /// is chosen by the page, not by a credential scope.
    pub fn console(mut self, console: Arc<dyn AwsService>) -> GatewayBuilder {
        self.console = Some(console);
        self
    }

    pub fn service(mut self, service: Arc<dyn AwsService>) -> GatewayBuilder {
        self.services.insert(service.signing_name(), service);
        self
    }

    /// Registers a service that takes its bodies as streams (see [`StreamingService`]).
    pub fn streaming_service(mut self, service: Arc<dyn StreamingService>) -> GatewayBuilder {
        self.streaming.insert(service.signing_name(), service);
        self
    }

    pub fn sigv4(mut self, mode: SigV4Mode, credentials: Credentials) -> GatewayBuilder {
        self.sigv4 = mode;
        self.credentials = credentials;
        self
    }

    pub fn version(mut self, version: &'static str) -> GatewayBuilder {
        self.version = version;
        self
    }

    pub fn build(self) -> Gateway {
        Gateway {
            services: self.services,
            streaming: self.streaming,
            console: self.console,
            sigv4: self.sigv4,
            credentials: self.credentials,
            version: self.version,
            traces: self.traces,
            requests: self.requests,
        }
    }
}

/// The front door. Cheap to share behind an `Arc`.
pub struct Gateway {
    services: HashMap<&'static str, Arc<dyn AwsService>>,
    streaming: HashMap<&'static str, Arc<dyn StreamingService>>,
    console: Option<Arc<dyn AwsService>>,
    sigv4: SigV4Mode,
    credentials: Credentials,
    version: &'static str,
    traces: Option<SpanSink>,
    requests: Option<RequestSink>,
}

/// What the gateway answers: buffered services' bodies are wrapped, streaming services' bodies
/// are passed through as they are produced.
pub type Reply = http::Response<StreamBody>;

fn buffered(resp: protocol::Response) -> Reply {
    resp.map(full_body)
}

impl Gateway {
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    /// Answers one request. Never fails: every problem becomes an AWS-shaped error response.
    pub async fn handle<B>(&self, req: http::Request<B>) -> Reply
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let credential = sigv4::credential_scope(&parts.headers, parts.uri.query());
        let (scope, access_key_id) = auth::scope_of(credential.as_ref());
        let mut ctx = RequestContext::new(scope, access_key_id);
        ctx.metered = parts.extensions.get::<protocol::Unmetered>().is_none();
        trace::join(&mut ctx, &parts.headers);
        // Kept to record the request once answered, should it turn out to belong to a trace.
        let traced = self.traces.is_some().then(|| trace::Pending::of(&ctx));

        let head = route::route_head(
            &parts.method,
            &parts.uri,
            &parts.headers,
            credential.as_ref().map(|c| c.service.as_str()),
        );
        let head = match head {
            Destination::Internal(_) | Destination::DataPlane { .. } => head,
            _ => self.claimed_host(&parts).unwrap_or(head),
        };
        let service_name = match head {
            Destination::Service { spec, .. } | Destination::DataPlane { spec } => spec.name,
            Destination::Internal(_) => "nimbus",
            _ => "unrouted",
        };
        let span = tracing::info_span!(
            "request",
            id = %ctx.request_id,
            service = service_name,
            method = %parts.method,
            path = parts.uri.path(),
        );
        async move {
            let resp = match self.streaming_destination(head) {
                Some(service) => {
                    let body: StreamBody = Box::pin(body.map_err(|e| Box::new(e) as protocol::BoxError));
                    self.stream(service, http::Request::from_parts(parts, body), ctx).await
                }
                None => self.dispatch(head, parts, body, ctx).await,
            };
            tracing::debug!(
                status = resp.status().as_u16(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "done"
            );
            if let (Some(sink), Some(pending)) = (&self.traces, traced)
                && let Some(span) = pending.span(service_name, resp.status(), resp.headers())
            {
                sink(span);
            }
            resp
        }
        .instrument(span)
        .await
    }

    /// The data plane of a service that claims the request's host as a name a user registered
    /// with it (an API Gateway custom domain name). IP literals and `localhost` are never
    /// claimed, so the usual endpoint costs nothing here.
    fn claimed_host(&self, parts: &http::request::Parts) -> Option<Destination> {
        let host = route::host_name(&parts.uri, &parts.headers)?;
        if host == "localhost" || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let service = self.services.values().find(|s| s.claims_host(&host))?;
        route::SERVICES
            .iter()
            .find(|spec| spec.name == service.signing_name())
            .map(|spec| Destination::DataPlane { spec })
    }

    /// The streaming service a destination names, if one is registered under its name.
    fn streaming_destination(&self, dest: Destination) -> Option<Arc<dyn StreamingService>> {
        match dest {
            Destination::Service { spec, .. } => self.streaming.get(spec.name).cloned(),
            _ => None,
        }
    }

    /// Hands a request with its body unread to a streaming service, in its own task (a panic
    /// costs this request an InternalError, not the connection).
    async fn stream(
        &self,
        service: Arc<dyn StreamingService>,
        req: http::Request<StreamBody>,
        ctx: RequestContext,
    ) -> Reply {
        let request_id = ctx.request_id.clone();
        let fallback_ctx = ctx.clone();
        self.count(&ctx, service.signing_name());
        let (parts, body) = req.into_parts();
        trace::guess(&ctx, Protocol::RestXml, &parts, b"");
        let req = http::Request::from_parts(parts, body);
        let task = tokio::spawn(async move { service.call(ctx, req).await }.in_current_span());
        let mut resp = match task.await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!(error = %e, "service task failed");
                return buffered(error_response(Protocol::RestXml, &fallback_ctx, &ErrorInfo::internal()));
            }
        };
        if !resp.headers().contains_key("x-amz-request-id")
            && let Ok(v) = HeaderValue::from_str(request_id.as_str())
        {
            resp.headers_mut().insert("x-amz-request-id", v);
        }
        resp
    }

    async fn dispatch<B>(
        &self,
        head: Destination,
        parts: http::request::Parts,
        body: B,
        ctx: RequestContext,
    ) -> Reply
    where
        B: Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        if let Destination::Internal(which) = head {
            if which == Internal::Console
                && let Some(console) = self.console.clone()
            {
                return self.console(console, parts, body, ctx).await;
            }
            return buffered(self.internal(which, &ctx));
        }
        let (limit, shape) = match head {
            Destination::Service { spec, protocol } => (body_limit(spec), protocol),
            Destination::DataPlane { spec } => (body_limit(spec), spec.protocol),
            Destination::UnknownTarget => (ROUTING_BODY_LIMIT, Protocol::AwsJson1_1),
            _ => (ROUTING_BODY_LIMIT, Protocol::Query),
        };
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                let err = if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    too_large(head, limit, parts.uri.path())
                } else {
                    ErrorInfo::new(
                        "IncompleteBody",
                        StatusCode::BAD_REQUEST,
                        "The request body could not be read",
                    )
                };
                return buffered(error_response(shape, &ctx, &err));
            }
        };
        let dest = if head == Destination::NeedsBody { route::route_body(&body) } else { head };
        // A form POST to `/` without an `Action` is S3 (a browser-based POST upload): its body
        // is already read, and goes to the streaming service whole.
        if let Some(service) = self.streaming_destination(dest) {
            return self.stream(service, http::Request::from_parts(parts, full_body(body)), ctx).await;
        }
        let (spec, protocol, public) = match dest {
            Destination::Service { spec, protocol } => (spec, protocol, false),
            Destination::DataPlane { spec } => (spec, spec.protocol, true),
            Destination::UnknownQueryVersion => {
                let params = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                    .chain(form_urlencoded::parse(&body))
                    .collect::<HashMap<_, _>>();
                let action = params.get("Action").map(|a| a.as_ref()).unwrap_or_default();
                let err = query::unknown_action(action, params.get("Version").map(|v| v.as_ref()));
                return buffered(error_response(Protocol::Query, &ctx, &err));
            }
            Destination::UnknownTarget => {
                let target =
                    parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
                let err = ErrorInfo::new(
                    "NotImplemented",
                    StatusCode::NOT_IMPLEMENTED,
                    format!("Nimbus does not know the service of target '{target}'"),
                );
                return buffered(error_response(Protocol::AwsJson1_1, &ctx, &err));
            }
            Destination::Internal(_) | Destination::NeedsBody => {
                return buffered(error_response(Protocol::Query, &ctx, &ErrorInfo::internal()));
            }
        };
        // The execute-api data plane serves a user's API to its callers: no SigV4 there.
        if self.sigv4 == SigV4Mode::Enforce
            && !public
            && let Err(err) =
                auth::verify(&parts, &body, &self.credentials, spec.name, protocol, OffsetDateTime::now_utc())
        {
            return buffered(error_response(protocol, &ctx, &err));
        }
        let mut ctx = ctx;
        // Callers sign invoke URLs for `execute-api`, not for the control plane's name.
        let signing_name = if public && spec.name == "apigateway" { "execute-api" } else { spec.name };
        ctx.signature = self.signature_check(&parts, &body, signing_name, protocol, public);
        let Some(service) = self.services.get(spec.name).cloned() else {
            let err = ErrorInfo::new(
                "NotImplemented",
                StatusCode::NOT_IMPLEMENTED,
                format!("The service '{}' is not implemented by Nimbus yet", spec.name),
            );
            return buffered(error_response(protocol, &ctx, &err));
        };
        let request_id = ctx.request_id.clone();
        let fallback_ctx = ctx.clone();
        self.count(&ctx, spec.name);
        trace::guess(&ctx, protocol, &parts, &body);
        let req = http::Request::from_parts(parts, body);
        // A service runs in its own task so that a bug which panics costs one request an
        // InternalFailure instead of the connection.
        let task = tokio::spawn(async move { service.answer(ctx, req).await }.in_current_span());
        let mut resp = match task.await {
            Ok(Answer::Whole(resp)) => resp,
            Ok(Answer::Streamed(mut resp)) => {
                // No Content-Length: the body is sent chunked as it is produced.
                if !resp.headers().contains_key("x-amzn-requestid") {
                    protocol::rest::set_request_id(resp.headers_mut(), protocol, request_id.as_str());
                }
                return resp;
            }
            Err(e) => {
                tracing::error!(error = %e, "service task failed");
                error_response(protocol, &fallback_ctx, &ErrorInfo::internal())
            }
        };
        ensure_request_id(&mut resp, protocol, request_id.as_str());
        buffered(resp)
    }

    fn count(&self, ctx: &RequestContext, service: &'static str) {
        if !ctx.metered {
            return;
        }
        if let Some(sink) = &self.requests {
            sink(&ctx.scope, service);
        }
    }

    /// What a request's signature is worth to the service: for a public data plane (whose
    /// resource may ask for AWS_IAM) it is verified under `--enforce-sigv4` and the outcome
    /// passed on; an API call got here only if it passed, or was not checked.
    fn signature_check(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        service: &str,
        protocol: Protocol,
        public: bool,
    ) -> SignatureCheck {
        if !matches!(sigv4::parse(parts), Ok(Some(_))) {
            return SignatureCheck::Unsigned;
        }
        if !public || self.sigv4 != SigV4Mode::Enforce {
            return SignatureCheck::Accepted;
        }
        match auth::verify(parts, body, &self.credentials, service, protocol, OffsetDateTime::now_utc()) {
            Ok(()) => SignatureCheck::Accepted,
            Err(e) => SignatureCheck::Rejected { code: e.code.to_string(), message: e.message },
        }
    }

    /// Hands a console request over, in its own task like a service call.
    async fn console<B>(
        &self,
        console: Arc<dyn AwsService>,
        parts: http::request::Parts,
        body: B,
        ctx: RequestContext,
    ) -> Reply
    where
        B: Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let Ok(collected) = Limited::new(body, ROUTING_BODY_LIMIT).collect().await else {
            let err = ErrorInfo::new(
                "RequestEntityTooLarge",
                StatusCode::PAYLOAD_TOO_LARGE,
                "The console takes no body",
            );
            return buffered(error_response(Protocol::RestJson, &ctx, &err));
        };
        let req = http::Request::from_parts(parts, collected.to_bytes());
        let fallback_ctx = ctx.clone();
        let task = tokio::spawn(async move { console.answer(ctx, req).await }.in_current_span());
        match task.await {
            Ok(Answer::Whole(resp)) => buffered(resp),
            // The console's live updates: sent as they come, without a Content-Length.
            Ok(Answer::Streamed(resp)) => resp,
            Err(e) => {
                tracing::error!(error = %e, "console task failed");
                buffered(error_response(Protocol::RestJson, &fallback_ctx, &ErrorInfo::internal()))
            }
        }
    }

    fn internal(&self, which: Internal, ctx: &RequestContext) -> protocol::Response {
        let (status, body) = match which {
            Internal::Health => {
                let registered =
                    |name: &str| self.services.contains_key(name) || self.streaming.contains_key(name);
                let doc = crate::health::document(&registered, self.version);
                (StatusCode::OK, doc)
            }
            Internal::Console | Internal::NotFound => {
                (StatusCode::NOT_FOUND, serde_json::json!({ "message": "not found" }))
            }
        };
        protocol::rest::json_response(status, &body, ctx.request_id.as_str())
    }
}

/// The answer to a body over the limit, in the words of the service it was for.
pub(crate) fn too_large(head: Destination, limit: usize, path: &str) -> ErrorInfo {
    match head {
        // Lambda names the exception, the limit and the operation; only its package uploads
        // can come near this limit.
        Destination::Service { spec, .. } if spec.name == "lambda" => {
            let operation = if path.ends_with("/code") { "UpdateFunctionCode" } else { "CreateFunction" };
            ErrorInfo::new(
                "RequestEntityTooLargeException",
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request must be smaller than {limit} bytes for the {operation} operation"),
            )
        }
        _ => ErrorInfo::new(
            "RequestEntityTooLarge",
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request must be smaller than {limit} bytes"),
        ),
    }
}

fn full_body(bytes: Bytes) -> StreamBody {
    Box::pin(Full::new(bytes).map_err(|never| match never {}))
}

fn body_limit(spec: &ServiceSpec) -> usize {
    if spec.name == "lambda" { LAMBDA_BODY_LIMIT } else { DEFAULT_BODY_LIMIT }
}

fn ensure_request_id(resp: &mut protocol::Response, protocol: Protocol, request_id: &str) {
    let name = if protocol == Protocol::RestXml { "x-amz-request-id" } else { "x-amzn-requestid" };
    if !resp.headers().contains_key(name) {
        protocol::rest::set_request_id(resp.headers_mut(), protocol, request_id);
    }
    if !resp.headers().contains_key(header::CONTENT_LENGTH)
        && let Ok(v) = HeaderValue::from_str(&resp.body().len().to_string())
    {
        resp.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
}
