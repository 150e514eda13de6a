//! Function URLs: the control plane (`Create/Get/Update/Delete/ListFunctionUrlConfig(s)`) and
//! the data plane at `http://{url-id}.lambda-url.{region}.localhost:{port}/…`, which turns an
//! HTTP request into the payload-2.0 event, invokes the function synchronously and turns its
//! result back into an HTTP response (a structured `{statusCode, headers, cookies, body,
//! isBase64Encoded}` object, or any other JSON as a 200 `application/json` body). Behind a
//! `RESPONSE_STREAM` URL a streaming function's response is sent as the function writes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, StatusCode};
use protocol::{Answer, Request, RequestContext, Response};
use serde_json::{Map, Value, json};
use types::Scope;

use crate::error::Error;
use crate::functions::{Env, created, last_modified, no_content, ok};
use crate::invoke::{MAX_SYNC_PAYLOAD, Started, Streaming, Traced, resolve, run_streaming, run_throttled};
use crate::model::{FunctionRecord, UrlConfig};
use crate::names::{function_arn, qualified_arn};
use crate::operation::{Page, Target, UrlInput, missing};
use crate::stream::channel_response;
use crate::{Inner, lock};

/// Where a URL id leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTarget {
    pub scope: Scope,
    pub function: String,
    /// `""` for the unqualified function.
    pub qualifier: String,
}

fn url_of(svc: &Inner, url_id: &str, region: &str) -> String {
    let port =
        svc.config.endpoint_url.rsplit_once(':').map(|(_, p)| p.trim_end_matches('/')).unwrap_or("4566");
    format!("http://{url_id}.lambda-url.{region}.localhost:{port}/")
}

/// A qualifier of a function URL: `$LATEST` or an alias, never a version number.
fn url_qualifier(t: &Target) -> Result<String, Error> {
    match t.qualifier.as_deref() {
        None => Ok(String::new()),
        Some(q) if q.bytes().all(|b| b.is_ascii_digit()) => Err(Error::validation(
            "qualifier",
            q,
            "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
        )),
        Some(q) => Ok(q.to_owned()),
    }
}

fn check_auth_type(auth: &str) -> Result<(), Error> {
    if auth == "NONE" || auth == "AWS_IAM" {
        Ok(())
    } else {
        Err(Error::validation("authType", auth, "Member must satisfy enum value set: [NONE, AWS_IAM]"))
    }
}

fn check_invoke_mode(mode: &str) -> Result<(), Error> {
    match mode {
        "BUFFERED" | "RESPONSE_STREAM" => Ok(()),
        other => Err(Error::validation(
            "invokeMode",
            other,
            "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
        )),
    }
}

fn describe(svc: &Inner, scope: &Scope, f: &FunctionRecord, q: &str, c: &UrlConfig) -> Value {
    let arn = if q.is_empty() { function_arn(scope, &f.name) } else { qualified_arn(scope, &f.name, q) };
    let mut v = json!({
        "FunctionUrl": url_of(svc, &c.url_id, scope.region.as_str()),
        "FunctionArn": arn,
        "AuthType": c.auth_type,
        "CreationTime": c.created,
        "LastModifiedTime": c.modified,
        "InvokeMode": c.invoke_mode,
    });
    if let Some(cors) = &c.cors {
        v["Cors"] = cors.clone();
    }
    v
}

fn not_found() -> Error {
    Error::not_found("The resource you requested does not exist.")
}

impl Env<'_> {
    fn url_target_exists(&self, f: &FunctionRecord, q: &str) -> Result<(), Error> {
        if q.is_empty() || q == "$LATEST" || f.aliases.contains_key(q) {
            Ok(())
        } else {
            Err(crate::names::function_not_found(self.scope, &f.name, Some(q)))
        }
    }

    pub fn create_url(&self, t: &Target, input: UrlInput) -> Result<Response, Error> {
        let q = url_qualifier(t)?;
        let auth = input.auth_type.ok_or_else(|| missing("authType"))?;
        check_auth_type(&auth)?;
        let mode = input.invoke_mode.unwrap_or_else(|| "BUFFERED".to_owned());
        check_invoke_mode(&mode)?;
        let now = last_modified(self.svc.now_ms());
        let url_id = types::ids::random_chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 32);
        let (record, config) = self.modify(&t.name, |f| {
            self.url_target_exists(f, &q)?;
            if f.urls.contains_key(&q) {
                let arn = if q.is_empty() { function_arn(self.scope, &f.name) } else { qualified_arn(self.scope, &f.name, &q) };
                return Err(Error::ResourceConflictException(format!(
                    "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
                )));
            }
            let config = UrlConfig {
                url_id: url_id.clone(),
                auth_type: auth,
                cors: input.cors,
                invoke_mode: mode,
                created: now.clone(),
                modified: now,
            };
            f.urls.insert(q.clone(), config.clone());
            Ok((f.clone(), config))
        })?;
        lock(&self.svc.urls).insert(
            url_id,
            UrlTarget { scope: self.scope.clone(), function: record.name.clone(), qualifier: q.clone() },
        );
        let mut body = describe(self.svc, self.scope, &record, &q, &config);
        if let Some(obj) = body.as_object_mut() {
            obj.remove("LastModifiedTime");
        }
        Ok(created(&body, self.ctx))
    }

    pub fn get_url(&self, t: &Target) -> Result<Response, Error> {
        let q = url_qualifier(t)?;
        let f = self.function(&t.name)?;
        let c = f.urls.get(&q).ok_or_else(not_found)?;
        Ok(ok(&describe(self.svc, self.scope, &f, &q, c), self.ctx))
    }

    pub fn update_url(&self, t: &Target, input: UrlInput) -> Result<Response, Error> {
        let q = url_qualifier(t)?;
        if let Some(a) = &input.auth_type {
            check_auth_type(a)?;
        }
        if let Some(m) = &input.invoke_mode {
            check_invoke_mode(m)?;
        }
        let now = last_modified(self.svc.now_ms());
        let (record, config) = self.modify(&t.name, |f| {
            let c = f.urls.get_mut(&q).ok_or_else(not_found)?;
            if let Some(a) = input.auth_type {
                c.auth_type = a;
            }
            if let Some(m) = input.invoke_mode {
                c.invoke_mode = m;
            }
            if input.cors.is_some() {
                c.cors = input.cors;
            }
            c.modified = now;
            let c = c.clone();
            Ok((f.clone(), c))
        })?;
        Ok(ok(&describe(self.svc, self.scope, &record, &q, &config), self.ctx))
    }

    pub fn delete_url(&self, t: &Target) -> Result<Response, Error> {
        let q = url_qualifier(t)?;
        let removed = self.modify(&t.name, |f| f.urls.remove(&q).ok_or_else(not_found))?;
        lock(&self.svc.urls).remove(&removed.url_id);
        Ok(no_content(self.ctx))
    }

    pub fn list_urls(&self, t: &Target, page: &Page) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let all: Vec<Value> = f.urls.iter().map(|(q, c)| describe(self.svc, self.scope, &f, q, c)).collect();
        let start = page.marker.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
        let max = page.max_items.unwrap_or(50).min(50);
        let mut body =
            json!({ "FunctionUrlConfigs": all.iter().skip(start).take(max).cloned().collect::<Vec<_>>() });
        if start + max < all.len() {
            body["NextMarker"] = json!((start + max).to_string());
        }
        Ok(ok(&body, self.ctx))
    }
}

/// The URL id of a `{id}.lambda-url.{region}.localhost` host.
pub fn url_id_of(req: &Request) -> Option<String> {
    let host = req.headers().get(http::header::HOST)?.to_str().ok()?;
    let name = host.split(':').next()?.to_ascii_lowercase();
    let mut labels = name.split('.');
    let id = labels.next()?;
    (labels.next() == Some("lambda-url")).then(|| id.to_owned())
}

fn plain(status: StatusCode, message: &str, ctx: &RequestContext) -> Response {
    let mut resp = ok(&json!({ "Message": message }), ctx);
    *resp.status_mut() = status;
    resp
}

/// The data plane: one HTTP request to a function URL.
pub async fn serve(svc: &Arc<Inner>, ctx: &RequestContext, url_id: &str, req: Request) -> Answer {
    let Some(target) = lock(&svc.urls).get(url_id).cloned() else {
        return Answer::Whole(plain(StatusCode::NOT_FOUND, "Not Found", ctx));
    };
    let Ok(Some(f)) = svc.load(&target.scope, &target.function) else {
        return Answer::Whole(plain(StatusCode::NOT_FOUND, "Not Found", ctx));
    };
    let Some(config) = f.urls.get(&target.qualifier).cloned() else {
        return Answer::Whole(plain(StatusCode::NOT_FOUND, "Not Found", ctx));
    };
    // AWS_IAM: a signed request; under `--enforce-sigv4` the gateway verified the signature
    // against the configured keys, and a bad one is refused with its reason.
    if config.auth_type == "AWS_IAM" {
        match &ctx.signature {
            protocol::SignatureCheck::Accepted => {}
            protocol::SignatureCheck::Unsigned => {
                return Answer::Whole(plain(StatusCode::FORBIDDEN, "Forbidden", ctx));
            }
            protocol::SignatureCheck::Rejected { message, .. } => {
                return Answer::Whole(plain(StatusCode::FORBIDDEN, message, ctx));
            }
        }
    }
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if req.method() == http::Method::OPTIONS && req.headers().contains_key("access-control-request-method") {
        let mut resp = plain(StatusCode::OK, "", ctx);
        *resp.body_mut() = Bytes::new();
        cors_headers(&mut resp, config.cors.as_ref(), origin.as_deref(), true);
        return Answer::Whole(resp);
    }
    if req.body().len() > MAX_SYNC_PAYLOAD {
        return Answer::Whole(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
            ctx,
        ));
    }
    let event = event(&req, ctx, url_id, &target, svc.now_ms());
    let qualifier = (!target.qualifier.is_empty()).then_some(target.qualifier.as_str());
    let resolved = match resolve(&target.scope, &f, qualifier) {
        Ok(r) => r,
        Err(_) => return Answer::Whole(plain(StatusCode::NOT_FOUND, "Not Found", ctx)),
    };
    let mut invocation = runtime::Invocation::new(ctx.request_id.as_str(), Bytes::from(event.to_string()));
    invocation.invoked_function_arn = Some(resolved.invoked_arn.clone());
    if config.invoke_mode == "RESPONSE_STREAM" {
        let cors = Cors { config: config.cors.clone(), origin };
        return serve_streamed(svc, ctx, &target.scope, &f.name, &resolved, invocation, cors).await;
    }
    ctx.trace.note("Invoke", resolved.invoked_arn.clone());
    let traced = Traced::begin(Some(ctx.trace.downstream()), svc.now_ms());
    let outcome = match run_throttled(svc, &target.scope, &f.name, &resolved, invocation, traced).await {
        Ok(o) => o,
        Err(Error::TooManyRequestsException(_)) => {
            return Answer::Whole(plain(StatusCode::TOO_MANY_REQUESTS, "Rate Exceeded.", ctx));
        }
        Err(e) => {
            tracing::warn!(error = %e, "function URL invoke failed");
            return Answer::Whole(plain(StatusCode::BAD_GATEWAY, "Internal Server Error", ctx));
        }
    };
    if outcome.error().is_some() {
        return Answer::Whole(plain(StatusCode::BAD_GATEWAY, "Internal Server Error", ctx));
    }
    let mut resp = response(outcome.payload(), ctx)
        .unwrap_or_else(|| plain(StatusCode::BAD_GATEWAY, "Internal Server Error", ctx));
    cors_headers(&mut resp, config.cors.as_ref(), origin.as_deref(), false);
    Answer::Whole(resp)
}

/// What CORS headers a response gets: the URL's config and the request's `Origin`.
struct Cors {
    config: Option<Value>,
    origin: Option<String>,
}

/// A `RESPONSE_STREAM` URL: the response head once the function has written it (its
/// prelude, for an HTTP-integration stream), then the body chunked as the function writes it.
/// A function that fails before its head is complete is a 502, as in buffered mode; one that
/// fails after cuts the body short (the client sees an incomplete chunked body).
async fn serve_streamed(
    svc: &Arc<Inner>,
    ctx: &RequestContext,
    scope: &Scope,
    name: &str,
    resolved: &crate::invoke::Resolved,
    invocation: runtime::Invocation,
    cors: Cors,
) -> Answer {
    let bad_gateway = || Answer::Whole(plain(StatusCode::BAD_GATEWAY, "Internal Server Error", ctx));
    ctx.trace.note("Invoke", resolved.invoked_arn.clone());
    let traced = Traced::begin(Some(ctx.trace.downstream()), svc.now_ms());
    let mut streaming = match run_streaming(svc, scope, name, resolved, invocation, traced).await {
        Ok(Started::Streaming(s)) => s,
        Ok(Started::Finished(outcome)) => {
            if outcome.error().is_some() {
                return bad_gateway();
            }
            let Some(mut resp) = response(outcome.payload(), ctx) else { return bad_gateway() };
            cors_headers(&mut resp, cors.config.as_ref(), cors.origin.as_deref(), false);
            return Answer::Whole(resp);
        }
        Err(Error::TooManyRequestsException(_)) => {
            return Answer::Whole(plain(StatusCode::TOO_MANY_REQUESTS, "Rate Exceeded.", ctx));
        }
        Err(e) => {
            tracing::warn!(error = %e, "function URL invoke failed");
            return bad_gateway();
        }
    };
    let head = if streaming.stream.content_type.as_deref() == Some(HTTP_INTEGRATION) {
        read_prelude(&mut streaming)
            .await
            .and_then(|(prelude, rest)| Some((prelude_head(&prelude, ctx)?, rest)))
    } else {
        let mut resp = ok(&Value::Null, ctx);
        *resp.body_mut() = Bytes::new();
        let content_type = streaming.stream.content_type.as_deref().unwrap_or("application/octet-stream");
        HeaderValue::from_str(content_type).ok().map(|v| {
            resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
            (resp, Bytes::new())
        })
    };
    let Some((mut head, rest)) = head else {
        streaming.abandon(svc.clone());
        return bad_gateway();
    };
    cors_headers(&mut head, cors.config.as_ref(), cors.origin.as_deref(), false);
    let (parts, _) = head.into_parts();
    let (resp, tx) = channel_response();
    let resp = http::Response::from_parts(parts, resp.into_body());
    let svc = svc.clone();
    tokio::spawn(async move {
        let mut client = Some(tx);
        let mut next = (!rest.is_empty()).then_some(rest);
        loop {
            let chunk = match next.take() {
                Some(c) => c,
                None => match streaming.chunk().await {
                    Some(c) => c,
                    None => break,
                },
            };
            if let Some(c) = &client
                && c.send(Ok(chunk)).await.is_err()
            {
                client = None;
            }
        }
        let failed = !matches!(streaming.finish(&svc).await, Ok(o) if o.error().is_none());
        if failed && let Some(c) = client {
            let _ = c.send(Err("the function failed mid-stream".into())).await;
        }
    });
    Answer::Streamed(resp)
}

const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
const SEPARATOR: [u8; 8] = [0; 8];
/// A prelude is a small JSON document (status, headers, cookies); a stream that has not ended
/// it by then is not a valid HTTP-integration response.
const MAX_PRELUDE_BYTES: usize = 1024 * 1024;

/// Reads an HTTP-integration stream up to the eight NUL bytes that end its prelude: the prelude
/// and what came after it in the same chunk. `None` if the stream ended (or ran on too long)
/// first.
async fn read_prelude(streaming: &mut Streaming) -> Option<(Bytes, Bytes)> {
    let mut seen = BytesMut::new();
    loop {
        let chunk = streaming.chunk().await?;
        // The separator may straddle two chunks: look again from just before the new bytes.
        let from = seen.len().saturating_sub(SEPARATOR.len() - 1);
        seen.extend_from_slice(&chunk);
        if let Some(at) = seen[from..].windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            let mut all = seen.freeze();
            let rest = all.split_off(from + at + SEPARATOR.len());
            all.truncate(from + at);
            return Some((all, rest));
        }
        if seen.len() > MAX_PRELUDE_BYTES {
            return None;
        }
    }
}

/// The payload-2.0 event Lambda sends for a function URL request.
fn event(req: &Request, ctx: &RequestContext, url_id: &str, target: &UrlTarget, now_ms: i64) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let raw_query = req.uri().query().unwrap_or_default().to_owned();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        query
            .entry(k.into_owned())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    let body = req.body();
    let text = std::str::from_utf8(body).ok();
    let is_text = text.is_some()
        && headers.get("content-type").and_then(Value::as_str).is_none_or(|ct| {
            ct.starts_with("text/")
                || ct.contains("json")
                || ct.contains("xml")
                || ct.contains("x-www-form-urlencoded")
                || ct.contains("javascript")
        });
    let host = headers.get("host").and_then(Value::as_str).unwrap_or_default().to_owned();
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let time_text = format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        time.day(),
        MONTHS[usize::from(u8::from(time.month())) - 1],
        time.year(),
        time.hour(),
        time.minute(),
        time.second()
    );
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": req.uri().path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": if ctx.access_key_id.is_empty() { "anonymous".to_owned() } else { target.scope.account.as_str().to_owned() },
            "apiId": url_id,
            "domainName": host.split(':').next().unwrap_or_default(),
            "domainPrefix": url_id,
            "http": {
                "method": req.method().as_str(),
                "path": req.uri().path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": ctx.request_id.as_str(),
            "routeKey": "$default",
            "stage": "$default",
            "time": time_text,
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": !body.is_empty() && !is_text,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !body.is_empty() {
        event["body"] = match (is_text, text) {
            (true, Some(t)) => json!(t),
            _ => json!(base64::engine::general_purpose::STANDARD.encode(body)),
        };
    }
    event
}

/// Turns a function result into the HTTP response; `None` when a structured result is
/// malformed (a 502, as Lambda answers).
fn response(payload: &Bytes, ctx: &RequestContext) -> Option<Response> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let structured = value.as_object().filter(|o| o.contains_key("statusCode"));
    let Some(obj) = structured else {
        let mut resp = ok(&Value::Null, ctx);
        *resp.body_mut() = payload.clone();
        return Some(resp);
    };
    let status = obj.get("statusCode").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok())?;
    let status = StatusCode::from_u16(status).ok()?;
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if obj.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            Bytes::from(base64::engine::general_purpose::STANDARD.decode(s).ok()?)
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut resp = ok(&Value::Null, ctx);
    *resp.status_mut() = status;
    *resp.body_mut() = body;
    let headers = resp.headers_mut();
    if let Some(Value::Object(h)) = obj.get("headers") {
        for (k, v) in h {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&text))
            else {
                return None;
            };
            headers.insert(name, value);
        }
    }
    if let Some(Value::Array(cookies)) = obj.get("cookies") {
        for c in cookies.iter().filter_map(Value::as_str) {
            headers.append(http::header::SET_COOKIE, HeaderValue::from_str(c).ok()?);
        }
    }
    Some(resp)
}

/// The head of a streamed HTTP-integration response from its JSON prelude (`statusCode`,
/// `headers`, `cookies`); `None` when the prelude is malformed (a 502).
fn prelude_head(prelude: &[u8], ctx: &RequestContext) -> Option<Response> {
    let prelude: Value = serde_json::from_slice(prelude).ok()?;
    let mut resp = ok(&Value::Null, ctx);
    *resp.body_mut() = Bytes::new();
    let status = match prelude.get("statusCode") {
        None | Some(Value::Null) => StatusCode::OK,
        Some(v) => StatusCode::from_u16(v.as_u64().and_then(|s| u16::try_from(s).ok())?).ok()?,
    };
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if let Some(Value::Object(h)) = prelude.get("headers") {
        for (k, v) in h {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers.insert(HeaderName::from_bytes(k.as_bytes()).ok()?, HeaderValue::from_str(&text).ok()?);
        }
    }
    if let Some(Value::Array(cookies)) = prelude.get("cookies") {
        for c in cookies.iter().filter_map(Value::as_str) {
            headers.append(http::header::SET_COOKIE, HeaderValue::from_str(c).ok()?);
        }
    }
    Some(resp)
}

/// Adds the CORS headers a URL's `Cors` config allows for `origin`.
fn cors_headers(resp: &mut Response, cors: Option<&Value>, origin: Option<&str>, preflight: bool) {
    let (Some(cors), Some(origin)) = (cors, origin) else { return };
    let list = |k: &str| -> Vec<String> {
        cors.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let origins = list("AllowOrigins");
    if !origins.iter().any(|o| o == "*" || o == origin) {
        return;
    }
    let h = resp.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(
        "access-control-allow-origin",
        if origins.iter().any(|o| o == "*") { "*".to_owned() } else { origin.to_owned() },
    );
    if cors.get("AllowCredentials").and_then(Value::as_bool) == Some(true) {
        set("access-control-allow-credentials", "true".to_owned());
    }
    let expose = list("ExposeHeaders");
    if !expose.is_empty() {
        set("access-control-expose-headers", expose.join(","));
    }
    if preflight {
        let methods = list("AllowMethods");
        if !methods.is_empty() {
            set("access-control-allow-methods", methods.join(","));
        }
        let allow_headers = list("AllowHeaders");
        if !allow_headers.is_empty() {
            set("access-control-allow-headers", allow_headers.join(","));
        }
        if let Some(age) = cors.get("MaxAge").and_then(Value::as_u64) {
            set("access-control-max-age", age.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::new(Scope::default(), "")
    }

    #[test]
    fn structured_results_become_responses() {
        let payload =
            Bytes::from(r#"{"statusCode":201,"headers":{"x-a":"1"},"cookies":["a=1","b=2"],"body":"made"}"#);
        let resp = response(&payload, &ctx()).unwrap_or_else(|| panic!("valid"));
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.body().as_ref(), b"made");
        assert_eq!(resp.headers().get_all("set-cookie").iter().count(), 2);
        let b64 = Bytes::from(r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#);
        assert_eq!(response(&b64, &ctx()).map(|r| r.body().clone()), Some(Bytes::from_static(b"hi")));
        let plain_json = Bytes::from(r#"{"message":"hello"}"#);
        let resp = response(&plain_json, &ctx()).unwrap_or_else(|| panic!("valid"));
        assert_eq!((resp.status(), resp.body().clone()), (StatusCode::OK, plain_json));
        assert!(response(&Bytes::from(r#"{"statusCode":"teapot"}"#), &ctx()).is_none());
    }

    #[test]
    fn requests_become_payload_2_events() {
        let mut req = http::Request::new(Bytes::from_static(b"{\"a\":1}"));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = "/orders/7?x=1&x=2&y=z".parse().unwrap_or_else(|e| panic!("{e}"));
        let h = req.headers_mut();
        h.insert("host", HeaderValue::from_static("abc.lambda-url.us-east-1.localhost:4566"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("cookie", HeaderValue::from_static("s=1; t=2"));
        let target = UrlTarget { scope: Scope::default(), function: "f".into(), qualifier: String::new() };
        let e = event(&req, &ctx(), "abc", &target, 1_583_348_638_390);
        assert_eq!(e["rawPath"], "/orders/7");
        assert_eq!(e["rawQueryString"], "x=1&x=2&y=z");
        assert_eq!(e["queryStringParameters"]["x"], "1,2");
        assert_eq!(e["cookies"], json!(["s=1", "t=2"]));
        assert_eq!(e["body"], "{\"a\":1}");
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["domainName"], "abc.lambda-url.us-east-1.localhost");
        assert_eq!(e["requestContext"]["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(e["requestContext"]["accountId"], "anonymous");
    }
}
