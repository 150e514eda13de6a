//! The execute-api data plane: an HTTP request to an API's invoke URL becomes a Lambda proxy
//! event, and what the function returns becomes the HTTP response. Two URL forms reach it:
//! `Host: {apiId}.execute-api.{anything}` and `/_aws/execute-api/{apiId}/...`; REST APIs take the
//! stage as the first path segment, HTTP APIs too unless the request falls to `$default`.
//!
//! Misses and failures are API Gateway's own gateway responses, not control-plane errors:
//! REST APIs answer `403 Missing Authentication Token` for an unknown path or method and
//! `502 Internal server error` for a failed integration; HTTP APIs `404 Not Found` and
//! `500 Internal Server Error`.
//!
//! Between routing and the integration, in this order: stage and method (or route) throttling,
//! the method's Lambda authorizer, then for REST methods that require one the API key with its
//! usage plan's throttle and quota.

mod auth;
mod event;
mod gateway_response;
mod integration;
mod jwks;
mod jwt;
mod limits;
mod mapping;
mod policy;
mod response;
mod router;
mod service;
mod validate;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, header};
use protocol::{Request, RequestContext, Response};

use crate::model::{Cors, HttpApi, Method, RestApi, RestStage, Stage};
use crate::{Api, Inner, access_log};

pub(crate) use auth::test_invoke;
use auth::{AuthResult, Refusal};
pub(crate) use event::clf_time;
use event::{RequestInfo, V1Target};
pub(crate) use gateway_response::{error_of, render as render_context};
pub(crate) use limits::{Limits, period_start, same_period};
pub(crate) use mapping::check as check_mappings;
use response::ProxyResponse;
pub(crate) use service::check as check_subtype;

/// Where a data-plane request goes: the API and the path after it (stage included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub api_id: String,
    pub path: String,
    /// The API's domain name as the events report it.
    pub domain_name: String,
}

const PATH_PREFIX: &str = "/_aws/execute-api/";

/// Whether `req` is for the data plane, and for which API.
pub(crate) fn target(req: &Request) -> Option<Target> {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix(PATH_PREFIX) {
        let (api_id, rest) = rest.split_once('/').unwrap_or((rest, ""));
        if api_id.is_empty() {
            return None;
        }
        return Some(Target {
            api_id: api_id.to_owned(),
            path: format!("/{rest}"),
            domain_name: format!("{api_id}.execute-api.localhost"),
        });
    }
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok())?;
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let (prefix, _) = host.split_once(".execute-api.")?;
    // `{apiId}-{vpce id}` names a private API through a VPC endpoint; the API id comes first.
    let api_id = prefix.split('-').next().unwrap_or(prefix);
    (!api_id.is_empty()).then(|| Target {
        api_id: api_id.to_owned(),
        path: path.to_owned(),
        domain_name: host.to_owned(),
    })
}

/// The function ARN inside an integration URI: either the ARN itself (HTTP APIs accept it) or
/// `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations`.
pub(crate) fn lambda_arn_of_uri(uri: &str) -> Option<&str> {
    if let Some((_, rest)) = uri.split_once(":lambda:path/2015-03-31/functions/") {
        return rest.strip_suffix("/invocations").filter(|arn| arn.starts_with("arn:"));
    }
    (uri.starts_with("arn:") && uri.contains(":lambda:") && uri.contains(":function:")).then_some(uri)
}

/// `${stageVariables.name}` in an integration URI, replaced by the stage's value.
fn with_stage_variables(uri: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = uri.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("${{stageVariables.{name}}}"), value);
    }
    out
}

pub(crate) async fn handle(inner: &Inner, ctx: &RequestContext, target: Target, req: Request) -> Response {
    let api = inner.api(&target.api_id);
    if let Some(api) = &api {
        meter(inner, api, &req);
    }
    let logging = api.as_ref().and_then(|api| access_log::Pending::start(inner, ctx, api, &target, &req));
    let execution = match &api {
        Some(Api::Rest(rest)) => access_log::Execution::start(inner, ctx, rest, &target, &req),
        _ => None,
    };
    let mut route = access_log::Route::default();
    let resp = match &api {
        Some(Api::Http(api)) => http_api(inner, ctx, api, target, req, &mut route).await,
        Some(Api::Rest(api)) => rest_api(inner, ctx, api, target, req, &mut route).await,
        None => message(
            StatusCode::NOT_FOUND,
            None,
            &format!("The API id '{}' does not correspond to a deployed API Gateway API", target.api_id),
        ),
    };
    if let Some(pending) = logging {
        pending.finish(inner, &route, &resp);
    }
    if let (Some(execution), Some(Api::Rest(rest))) = (execution, &api) {
        execution.finish(inner, rest, &route, &resp);
    }
    resp
}

/// HTTP APIs bill a request per started 512 KB of it.
const HTTP_API_INCREMENT: usize = 512 * 1024;

/// Counts a request to `api` as its owner is billed for it: a REST API call, or an HTTP API
/// call per 512 KB increment.
fn meter(inner: &Inner, api: &Api, req: &Request) {
    let Some(meter) = inner.meter.get() else { return };
    let (owner, id, unit, amount) = match api {
        Api::Http(a) => {
            let increments = req.body().len().div_ceil(HTTP_API_INCREMENT).max(1);
            (&a.owner, &a.api_id, ports::Unit::HttpApiRequests, increments as u64)
        }
        Api::Rest(a) => (&a.owner, &a.id, ports::Unit::RestApiRequests, 1),
    };
    if let (Some(account), Some(region)) =
        (types::AccountId::parse(&owner.account), types::Region::parse(&owner.region))
    {
        meter.add(&types::Scope { account, region }, ports::ResourceKind::Api, id, unit, amount);
    }
}

/// A gateway response: `{"message": …}` with the error type header REST APIs send.
fn message(status: StatusCode, error_type: Option<&'static str>, text: &str) -> Response {
    let mut resp = http::Response::new(Bytes::from(serde_json::json!({ "message": text }).to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(t) = error_type {
        resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    resp
}

fn http_not_found() -> Response {
    message(StatusCode::NOT_FOUND, None, "Not Found")
}

fn http_internal_error() -> Response {
    message(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal Server Error")
}

fn rest_missing_token() -> Response {
    let text = "Missing Authentication Token";
    let resp = message(StatusCode::FORBIDDEN, Some("MissingAuthenticationTokenException"), text);
    gateway_response::tag(resp, "MISSING_AUTHENTICATION_TOKEN", text)
}

fn rest_internal_error() -> Response {
    let text = "Internal server error";
    let resp = message(StatusCode::BAD_GATEWAY, Some("InternalServerErrorException"), text);
    gateway_response::tag(resp, "INTEGRATION_FAILURE", text)
}

/// The 403 `Forbidden` of an unknown stage or an unmapped custom domain path.
pub(crate) fn forbidden() -> Response {
    let resp = message(StatusCode::FORBIDDEN, Some("ForbiddenException"), "Forbidden");
    gateway_response::tag(resp, "DEFAULT_4XX", "Forbidden")
}

/// A gateway response with a JSON body of its own shape.
fn gateway(status: StatusCode, error_type: &'static str, body: &serde_json::Value) -> Response {
    let mut resp = http::Response::new(Bytes::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    resp
}

fn throttled(rest: bool) -> Response {
    let error_type = rest.then_some("TooManyRequestsException");
    let resp = message(StatusCode::TOO_MANY_REQUESTS, error_type, "Too Many Requests");
    gateway_response::tag(resp, "THROTTLED", "Too Many Requests")
}

/// What a REST API answers when its Lambda authorizer refused the request. The 403 bodies
/// spell `Message` with a capital M, unlike every other gateway response.
fn rest_refusal(refusal: Refusal) -> Response {
    let (kind, text) = match refusal {
        Refusal::Unauthorized => ("UNAUTHORIZED", "Unauthorized"),
        Refusal::ExplicitDeny => {
            ("ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny")
        }
        Refusal::ImplicitDeny => ("ACCESS_DENIED", "User is not authorized to access this resource"),
        Refusal::Configuration => ("AUTHORIZER_CONFIGURATION_ERROR", ""),
    };
    let resp = match refusal {
        Refusal::Unauthorized => {
            message(StatusCode::UNAUTHORIZED, Some("UnauthorizedException"), "Unauthorized")
        }
        Refusal::ExplicitDeny => gateway(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            &serde_json::json!({ "Message": "User is not authorized to access this resource with an explicit deny" }),
        ),
        Refusal::ImplicitDeny => gateway(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            &serde_json::json!({ "Message": "User is not authorized to access this resource" }),
        ),
        Refusal::Configuration => gateway(
            StatusCode::INTERNAL_SERVER_ERROR,
            "AuthorizerConfigurationException",
            &serde_json::json!({ "message": null }),
        ),
    };
    gateway_response::tag(resp, kind, text)
}

/// What an HTTP API answers when its Lambda authorizer refused the request.
/// The signer of a request to an `AWS_IAM` method or route, or why there is none: unsigned
/// (`None`), or a signature the gateway rejected under `--enforce-sigv4` (AWS's message).
/// Without `--enforce-sigv4` any signature is taken as it is, as for every API call.
fn iam_caller(ctx: &RequestContext) -> Result<event::Caller, Option<String>> {
    match &ctx.signature {
        protocol::SignatureCheck::Accepted => Ok(event::Caller {
            access_key: ctx.access_key_id.clone(),
            account: ctx.scope.account.as_str().to_owned(),
        }),
        protocol::SignatureCheck::Unsigned => Err(None),
        protocol::SignatureCheck::Rejected { message, .. } => Err(Some(message.clone())),
    }
}

/// REST's answer to a request an `AWS_IAM` method refuses.
fn rest_iam_refusal(rejected: Option<String>) -> Response {
    match rejected {
        None => rest_missing_token(),
        Some(text) => {
            let resp = message(StatusCode::FORBIDDEN, Some("InvalidSignatureException"), &text);
            gateway_response::tag(resp, "INVALID_SIGNATURE", &text)
        }
    }
}

fn http_refusal(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Unauthorized => message(StatusCode::UNAUTHORIZED, None, "Unauthorized"),
        Refusal::ExplicitDeny | Refusal::ImplicitDeny => message(StatusCode::FORBIDDEN, None, "Forbidden"),
        Refusal::Configuration => http_internal_error(),
    }
}

/// A JWT authorizer's 401, saying why in `WWW-Authenticate` as API Gateway does.
fn jwt_unauthorized(reason: &str) -> Response {
    let mut resp = message(StatusCode::UNAUTHORIZED, None, "Unauthorized");
    let challenge = if reason.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{reason}\"")
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// Puts the authorizer's output into the event's `requestContext.authorizer`.
fn with_authorizer(mut event: serde_json::Value, authorizer: serde_json::Value) -> serde_json::Value {
    if let Some(rc) = event.get_mut("requestContext").and_then(serde_json::Value::as_object_mut) {
        rc.insert("authorizer".into(), authorizer);
    }
    event
}

/// The method setting key of a REST method: `~1users~1{id}/GET`.
pub(crate) fn method_setting_key(resource_path: &str, method: &str) -> String {
    format!("{}/{method}", resource_path.replace('~', "~0").replace('/', "~1"))
}

/// Stage and method throttling of a REST API: the method's own setting, else the stage's
/// `*/*`, as one token bucket per method.
fn rest_throttle(
    inner: &Inner,
    api: &RestApi,
    stage: &RestStage,
    resource_path: &str,
    method: &Method,
) -> bool {
    let key = method_setting_key(resource_path, &method.http_method);
    let Some(setting) = stage.method_settings.get(&key).or_else(|| stage.method_settings.get("*/*")) else {
        return true;
    };
    let bucket = format!("rest\u{0}{}\u{0}{}\u{0}{key}", api.id, stage.stage_name);
    inner.limits.take(&bucket, setting.throttling_rate_limit, setting.throttling_burst_limit, inner.now_ms())
}

/// Route throttling of an HTTP API: the route's settings, else the stage's defaults.
fn http_throttle(inner: &Inner, api: &HttpApi, stage: &Stage, route_key: &str) -> bool {
    let route = stage.route_settings.get(route_key);
    let default = stage.default_route_settings.as_ref();
    let rate =
        route.and_then(|r| r.throttling_rate_limit).or_else(|| default.and_then(|d| d.throttling_rate_limit));
    let burst = route
        .and_then(|r| r.throttling_burst_limit)
        .or_else(|| default.and_then(|d| d.throttling_burst_limit));
    if rate.is_none() && burst.is_none() {
        return true;
    }
    let bucket = format!("http\u{0}{}\u{0}{}\u{0}{route_key}", api.api_id, stage.stage_name);
    inner.limits.take(&bucket, rate.unwrap_or(10_000.0), burst.unwrap_or(5_000), inner.now_ms())
}

/// An `apiKeyRequired` method: the key (from `x-api-key`, or the authorizer's
/// `usageIdentifierKey` when the API's key source is `AUTHORIZER`) must be enabled and in a usage
/// plan of this stage; then that plan's throttle and quota apply to it.
fn check_api_key(
    inner: &Inner,
    api: &RestApi,
    stage: &str,
    resource_path: &str,
    method: &Method,
    info: &RequestInfo,
    authorizer: Option<&AuthResult>,
) -> Option<Response> {
    let forbidden = || {
        let resp = message(StatusCode::FORBIDDEN, Some("ForbiddenException"), "Forbidden");
        gateway_response::tag(resp, "INVALID_API_KEY", "Forbidden")
    };
    let value = if api.api_key_source == "AUTHORIZER" {
        authorizer.and_then(|a| a.usage_identifier_key.clone())
    } else {
        info.header("x-api-key").map(str::to_owned)
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Some(forbidden()) };
    let Some((key, plans)) = inner.plans_for_key(&api.owner, &value, &api.id, stage) else {
        return Some(forbidden());
    };
    let Some(plan) = plans.first() else { return Some(forbidden()) };
    let now = inner.now_ms();
    let method_key = format!("{resource_path}/{}", method.http_method);
    let method_throttle = plan
        .api_stages
        .iter()
        .find(|s| s.api_id == api.id && s.stage == stage)
        .and_then(|s| s.throttle.as_ref())
        .and_then(|t| t.get(&method_key));
    if let Some(t) = method_throttle.or(plan.throttle.as_ref()) {
        let scope = if method_throttle.is_some() { method_key.as_str() } else { "" };
        let bucket = format!("plan\u{0}{}\u{0}{}\u{0}{scope}", plan.id, key.id);
        if !inner.limits.take(&bucket, t.rate_limit.unwrap_or(10_000.0), t.burst_limit.unwrap_or(5_000), now)
        {
            return Some(throttled(true));
        }
    }
    if let Some(quota) = &plan.quota
        && !inner.limits.count(&usage_key(&plan.id, &key.id), quota, now)
    {
        let resp = message(StatusCode::TOO_MANY_REQUESTS, Some("LimitExceededException"), "Limit Exceeded");
        return Some(gateway_response::tag(resp, "QUOTA_EXCEEDED", "Limit Exceeded"));
    }
    inner.limits.record_use(&usage_key(&plan.id, &key.id), now);
    None
}

/// The key of a usage plan's API key in the quota counters and the daily usage.
pub(crate) fn usage_key(plan: &str, key: &str) -> String {
    format!("{plan}\u{0}{key}")
}

/// The first path segment and the rest (`/dev/a/b` → `dev`, `/a/b`).
fn split_stage(path: &str) -> (&str, String) {
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    (first, format!("/{rest}"))
}

fn request_info(inner: &Inner, ctx: &RequestContext, target: &Target, req: &Request) -> RequestInfo {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
        .collect();
    let source_ip = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.trim().to_owned());
    RequestInfo {
        method: req.method().as_str().to_owned(),
        headers,
        raw_query: req.uri().query().unwrap_or_default().to_owned(),
        body: req.body().to_vec(),
        full_path: target.path.clone(),
        path: target.path.clone(),
        source_ip,
        domain_name: target.domain_name.clone(),
        request_id: ctx.request_id.as_str().to_owned(),
        time_epoch_ms: inner.now_ms(),
        account: String::new(),
        api_id: target.api_id.clone(),
        stage: String::new(),
        caller: None,
        binary_media_types: None,
    }
}

/// Invokes the function with the event; `None` when the integration failed (function error,
/// no such function, throttled, timed out), which API Gateway turns into its 5xx response.
async fn invoke(
    inner: &Inner,
    ctx: &RequestContext,
    function_arn: &str,
    event: &serde_json::Value,
    timeout_ms: i64,
) -> Option<Bytes> {
    let payload = Bytes::from(event.to_string());
    let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(30_000));
    // The request is the root of what the function does, as API Gateway starts a trace.
    ctx.trace.note("Invoke", function_arn);
    let call = inner.invoker.invoke(function_arn, payload, Some(ctx.trace.downstream()));
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(resp)) if resp.function_error.is_none() => Some(resp.payload),
        Ok(Ok(resp)) => {
            tracing::debug!(function_arn, error = ?resp.function_error, "integration function failed");
            None
        }
        Ok(Err(e)) => {
            tracing::debug!(function_arn, error = %e, "integration invoke failed");
            None
        }
        Err(_) => {
            tracing::debug!(function_arn, "integration timed out");
            None
        }
    }
}

fn write(proxy: ProxyResponse) -> Response {
    let mut resp = http::Response::new(Bytes::from(proxy.body));
    *resp.status_mut() = StatusCode::from_u16(proxy.status).unwrap_or(StatusCode::OK);
    for (name, value) in proxy.headers {
        // Hop-by-hop and length headers are the server's business, not the function's.
        if ["content-length", "transfer-encoding", "connection"].iter().any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            resp.headers_mut().append(n, v);
        }
    }
    if !resp.headers().contains_key(header::CONTENT_TYPE) {
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    resp
}

async fn http_api(
    inner: &Inner,
    ctx: &RequestContext,
    api: &HttpApi,
    target: Target,
    req: Request,
    logged: &mut access_log::Route,
) -> Response {
    let (first, rest) = split_stage(&target.path);
    let (stage, path) = match api.stages.get(first) {
        Some(stage) if first != "$default" => (stage, rest),
        _ => match api.stages.get("$default") {
            Some(stage) => (stage, target.path.clone()),
            None => return http_not_found(),
        },
    };
    let (routes, integrations, authorizers) = if stage.auto_deploy {
        (&api.routes, &api.integrations, &api.authorizers)
    } else {
        match stage.deployment_id.as_ref().and_then(|d| api.deployments.get(d)) {
            Some(d) => (&d.routes, &d.integrations, &d.authorizers),
            None => return http_not_found(),
        }
    };
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(cors) = &api.cors_configuration
        && req.method() == http::Method::OPTIONS
        && let Some(origin) = &origin
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(cors, origin);
    }
    let method = req.method().as_str();
    let Some((route, params)) =
        router::pick_route(routes.values().map(|r| (r.route_key.as_str(), r)), method, &path)
    else {
        return http_not_found();
    };
    let integration = route
        .target
        .as_deref()
        .and_then(|t| t.strip_prefix("integrations/"))
        .and_then(|id| integrations.get(id));
    logged.route_key.clone_from(&route.route_key);
    let Some(integration) = integration else { return http_not_found() };
    let mut info = request_info(inner, ctx, &target, &req);
    info.account.clone_from(&api.owner.account);
    info.stage.clone_from(&stage.stage_name);
    info.path = path;
    let vars = &stage.stage_variables;
    if !http_throttle(inner, api, stage, &route.route_key) {
        return throttled(false);
    }
    // The authorizer's output for the integration's event: (1.0 shape, 2.0 shape).
    let mut authorized: Option<(serde_json::Value, serde_json::Value)> = None;
    let authorizer = route.authorizer_id.as_ref().and_then(|id| authorizers.get(id));
    match route.authorization_type.as_str() {
        "AWS_IAM" => match iam_caller(ctx) {
            Ok(caller) => {
                authorized = Some((serde_json::Value::Null, caller.v2_context()));
                info.caller = Some(caller);
            }
            Err(rejected) => {
                return message(StatusCode::FORBIDDEN, None, rejected.as_deref().unwrap_or("Forbidden"));
            }
        },
        "CUSTOM" => {
            let Some(authorizer) = authorizer else { return http_internal_error() };
            let arn = auth::method_arn(&info, &api.owner.region);
            match auth::http(inner, authorizer, &info, &route.route_key, &params, vars, &arn).await {
                Ok(result) => authorized = Some((result.v1_context(), result.v2_context())),
                Err(refusal) => return http_refusal(refusal),
            }
        }
        "JWT" => {
            let Some(authorizer) = authorizer else { return http_internal_error() };
            let scopes = route.authorization_scopes.as_deref().unwrap_or_default();
            match jwt::verify(inner, authorizer, &info, &route.route_key, vars, scopes).await {
                Ok(verified) => {
                    let context = verified.context();
                    authorized = Some((context["jwt"].clone(), context));
                }
                Err(jwt::JwtRefusal::Unauthorized(reason)) => return jwt_unauthorized(&reason),
                Err(jwt::JwtRefusal::Forbidden) => return message(StatusCode::FORBIDDEN, None, "Forbidden"),
            }
        }
        _ => {}
    }
    let uri = with_stage_variables(integration.integration_uri.as_deref().unwrap_or_default(), vars);
    let resp = match (integration.integration_type.as_str(), lambda_arn_of_uri(&uri)) {
        ("AWS_PROXY", _) if integration.integration_subtype.is_some() => {
            let call = service::ServiceCall {
                info: &info,
                params: &params,
                vars,
                integration,
                account: &info.account,
                region: api.owner.region.as_str(),
            };
            service::call(inner, call).await
        }
        ("AWS_PROXY", Some(function_arn)) => {
            let v1 = integration.payload_format_version.as_deref() == Some("1.0");
            let mut event = if v1 {
                event::v1(&info, V1Target::Http { route_key: &route.route_key }, &params, vars)
            } else {
                event::v2(&info, &route.route_key, &params, vars)
            };
            if let Some((v1_context, v2_context)) = &authorized {
                event = with_authorizer(event, if v1 { v1_context.clone() } else { v2_context.clone() });
            }
            let Some(payload) = invoke(inner, ctx, function_arn, &event, integration.timeout_in_millis).await
            else {
                return http_internal_error();
            };
            let parsed = if v1 { response::v1(&payload) } else { response::v2(&payload) };
            match parsed {
                Ok(proxy) => write(proxy),
                Err(e) => {
                    tracing::debug!(reason = e.0, "malformed Lambda proxy response");
                    return http_internal_error();
                }
            }
        }
        ("HTTP_PROXY", _) => {
            let method = integration.integration_method.as_deref();
            let call = integration::HttpApiCall {
                info: &info,
                uri: &uri,
                method,
                params: &params,
                vars,
                integration,
            };
            integration::http_api_proxy(call).await
        }
        (kind, _) => {
            tracing::warn!(kind, uri, "HTTP API integration not supported by the Nimbus data plane");
            return http_internal_error();
        }
    };
    match (&api.cors_configuration, origin) {
        (Some(cors), Some(origin)) => with_cors(resp, cors, &origin),
        _ => resp,
    }
}

fn origin_allowed(cors: &Cors, origin: &str) -> Option<String> {
    let origins = cors.allow_origins.as_deref().unwrap_or_default();
    if origins.iter().any(|o| o == origin) {
        Some(origin.to_owned())
    } else if origins.iter().any(|o| o == "*") {
        // With credentials a wildcard cannot be echoed; browsers need the origin itself.
        Some(if cors.allow_credentials == Some(true) { origin.to_owned() } else { "*".to_owned() })
    } else {
        None
    }
}

fn set(resp: &mut Response, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// API Gateway answers CORS preflight requests itself from the API's CORS configuration.
fn preflight(cors: &Cors, origin: &str) -> Response {
    let mut resp = http::Response::new(Bytes::new());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let Some(allowed) = origin_allowed(cors, origin) else { return resp };
    set(&mut resp, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
    if let Some(methods) = cors.allow_methods.as_ref().filter(|m| !m.is_empty()) {
        set(&mut resp, header::ACCESS_CONTROL_ALLOW_METHODS, &methods.join(","));
    }
    if let Some(headers) = cors.allow_headers.as_ref().filter(|h| !h.is_empty()) {
        set(&mut resp, header::ACCESS_CONTROL_ALLOW_HEADERS, &headers.join(","));
    }
    if let Some(age) = cors.max_age {
        set(&mut resp, header::ACCESS_CONTROL_MAX_AGE, &age.to_string());
    }
    if cors.allow_credentials == Some(true) {
        set(&mut resp, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    resp
}

/// An HTTP API with CORS configured ignores the integration's CORS headers and sends its own.
fn with_cors(mut resp: Response, cors: &Cors, origin: &str) -> Response {
    let names: Vec<HeaderName> =
        resp.headers().keys().filter(|k| k.as_str().starts_with("access-control-")).cloned().collect();
    for name in names {
        resp.headers_mut().remove(name);
    }
    if let Some(allowed) = origin_allowed(cors, origin) {
        set(&mut resp, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
        if let Some(expose) = cors.expose_headers.as_ref().filter(|h| !h.is_empty()) {
            set(&mut resp, header::ACCESS_CONTROL_EXPOSE_HEADERS, &expose.join(","));
        }
        if cors.allow_credentials == Some(true) {
            set(&mut resp, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
    }
    resp
}

/// A REST API request, its gateway errors shaped by the API's gateway responses.
async fn rest_api(
    inner: &Inner,
    ctx: &RequestContext,
    api: &RestApi,
    target: Target,
    req: Request,
    logged: &mut access_log::Route,
) -> Response {
    let headers = req.headers().clone();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let http_method = req.method().as_str().to_owned();
    let (stage, _) = split_stage(&target.path);
    let stage = stage.to_owned();
    let (path, domain_name) = (target.path.clone(), target.domain_name.clone());
    let resp = rest_api_call(inner, ctx, api, target, req, logged).await;
    let req = gateway_response::Request {
        headers: &headers,
        query: &query,
        stage: &stage,
        request_id: ctx.request_id.as_str(),
        domain_name: &domain_name,
        http_method: &http_method,
        path: &path,
    };
    gateway_response::apply(resp, api, &req)
}

async fn rest_api_call(
    inner: &Inner,
    ctx: &RequestContext,
    api: &RestApi,
    target: Target,
    req: Request,
    logged: &mut access_log::Route,
) -> Response {
    let (stage_name, path) = split_stage(&target.path);
    if stage_name.is_empty() {
        return rest_missing_token();
    }
    let Some(stage) = api.stages.get(stage_name) else {
        return forbidden();
    };
    let Some(deployment) = api.deployments.get(&stage.deployment_id) else {
        return forbidden();
    };
    let Some((resource, params)) =
        router::pick_resource(deployment.resources.values().map(|r| (r.path.as_str(), r)), &path)
    else {
        return rest_missing_token();
    };
    logged.resource_path.clone_from(&resource.path);
    let method = resource.methods.get(req.method().as_str()).or_else(|| resource.methods.get("ANY"));
    let Some(method) = method else { return rest_missing_token() };
    let Some(integration) = &method.method_integration else { return rest_internal_error() };
    let mut info = request_info(inner, ctx, &target, &req);
    info.account.clone_from(&api.owner.account);
    info.stage.clone_from(&stage.stage_name);
    info.path = path;
    info.binary_media_types = Some(api.binary_media_types.clone());
    let vars = &stage.variables;
    if !rest_throttle(inner, api, stage, &resource.path, method) {
        return throttled(true);
    }
    let v1_target = || V1Target::Rest { resource_id: &resource.id, resource_path: &resource.path };
    let mut authorized = None;
    if method.authorization_type == "AWS_IAM" {
        match iam_caller(ctx) {
            Ok(caller) => info.caller = Some(caller),
            Err(rejected) => return rest_iam_refusal(rejected),
        }
    }
    if method.authorization_type == "CUSTOM" {
        let Some(authorizer) = method.authorizer_id.as_ref().and_then(|id| deployment.authorizers.get(id))
        else {
            return rest_refusal(Refusal::Configuration);
        };
        let arn = auth::method_arn(&info, &api.owner.region);
        match auth::rest(inner, authorizer, &info, v1_target(), &params, vars, &arn).await {
            Ok(result) => authorized = Some(result),
            Err(refusal) => return rest_refusal(refusal),
        }
    }
    if method.api_key_required
        && let Some(resp) =
            check_api_key(inner, api, &stage.stage_name, &resource.path, method, &info, authorized.as_deref())
    {
        return resp;
    }
    if let Err(invalid) = validate::check(deployment, &api.id, method, &info, &params) {
        let resp = message(StatusCode::BAD_REQUEST, Some("BadRequestException"), &invalid.message);
        return gateway_response::tag_validation(resp, invalid);
    }
    match integration.kind.as_str() {
        "AWS_PROXY" => {
            let uri = with_stage_variables(integration.uri.as_deref().unwrap_or_default(), vars);
            let Some(function_arn) = lambda_arn_of_uri(&uri) else { return rest_internal_error() };
            let mut event = event::v1(&info, v1_target(), &params, vars);
            if let Some(result) = &authorized {
                event = with_authorizer(event, result.v1_context());
            }
            let Some(payload) = invoke(inner, ctx, function_arn, &event, integration.timeout_in_millis).await
            else {
                return rest_internal_error();
            };
            match response::v1(&payload) {
                Ok(proxy) => write(proxy),
                Err(e) => {
                    tracing::debug!(reason = e.0, "malformed Lambda proxy response");
                    rest_internal_error()
                }
            }
        }
        // MOCK, AWS (Lambda non-proxy), HTTP and HTTP_PROXY.
        _ => {
            let call = integration::Call {
                integration,
                method,
                resource_id: &resource.id,
                resource_path: &resource.path,
                info: &info,
                params: &params,
                vars,
                authorizer: authorized.as_ref().map(|a| a.v1_context()),
            };
            integration::rest(inner, call).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str, path: &str) -> Request {
        http::Request::builder().uri(path).header("host", host).body(Bytes::new()).expect("valid request")
    }

    #[test]
    fn finds_the_api_in_both_url_forms() {
        let t = target(&req("abc123defg.execute-api.localhost:4566", "/dev/users")).expect("host form");
        assert_eq!((t.api_id.as_str(), t.path.as_str()), ("abc123defg", "/dev/users"));
        assert_eq!(t.domain_name, "abc123defg.execute-api.localhost");
        let t = target(&req("127.0.0.1:4566", "/_aws/execute-api/abc/prod/a/b")).expect("path form");
        assert_eq!((t.api_id.as_str(), t.path.as_str()), ("abc", "/prod/a/b"));
        let t = target(&req("127.0.0.1", "/_aws/execute-api/abc")).expect("path form, root");
        assert_eq!(t.path, "/");
        assert_eq!(target(&req("127.0.0.1:4566", "/restapis")), None);
        assert_eq!(target(&req("x.execute-api.localhost", "/")).map(|t| t.api_id), Some("x".to_owned()));
    }

    #[test]
    fn lambda_arns_in_integration_uris() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
        let uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations");
        assert_eq!(lambda_arn_of_uri(&uri), Some(arn));
        assert_eq!(lambda_arn_of_uri(arn), Some(arn));
        assert_eq!(lambda_arn_of_uri("https://example.com"), None);
        let vars = BTreeMap::from([("fn".to_owned(), "f".to_owned())]);
        assert_eq!(
            with_stage_variables(
                "arn:aws:lambda:us-east-1:000000000000:function:${stageVariables.fn}",
                &vars
            ),
            arn
        );
    }

    #[test]
    fn preflight_from_cors_configuration() {
        let cors = Cors {
            allow_origins: Some(vec!["https://app.example".into()]),
            allow_methods: Some(vec!["GET".into(), "POST".into()]),
            allow_headers: Some(vec!["content-type".into()]),
            max_age: Some(300),
            ..Cors::default()
        };
        let resp = preflight(&cors, "https://app.example");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let h = resp.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "GET,POST");
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "300");
        assert!(preflight(&cors, "https://evil.example").headers().is_empty());
        let mut backend = http::Response::new(Bytes::new());
        backend.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        let resp = with_cors(backend, &cors, "https://app.example");
        assert_eq!(resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
    }
}
