//! Delivery to API destinations: the HTTP request one event becomes, sent through
//! [`outbound::Client`], the rate limit of each destination, and the OAuth tokens of connections.
//!
//! What the user guide ("API destinations", "Authorization methods for connections",
//! "De-authorizing connections") says, and what follows from it here:
//! - every request carries `User-Agent: Amazon/EventBridge/ApiDestinations`,
//!   `Content-Type: application/json; charset=utf-8` (a Content-Type header parameter replaces
//!   it, as AWS allows since 2024-02), `Range: bytes=0-1048575`, `Accept-Encoding: gzip,deflate`
//!   and `Connection: close`;
//! - the endpoint has 5 seconds to answer;
//! - 401, 407, 409, 429 and 5xx answers (and timeouts, refused connections) are retried under the
//!   target's RetryPolicy, a `Retry-After` longer than the backoff is honoured and a negative one
//!   ends the retries; other answers outside 2xx are not retried;
//! - the target's HttpParameters are merged with the connection's InvocationHttpParameters, the
//!   connection's values taking precedence (the `HttpParameters` API reference);
//! - OAuth tokens are fetched with the client credentials, cached, refreshed when they are
//!   within 60 seconds of expiring and after a 401 or 407; a Basic or API key connection that
//!   gets a 401 or 407 is de-authorized.
//!
//! Choices where AWS documents nothing: `PathParameterValues` replace the `*`s of the endpoint's
//! path in order (each value percent-encoded as one path segment; missing values leave the `*`);
//! the connection's BodyParameters become members of a JSON object body (other bodies are sent
//! as they are); GET, HEAD and OPTIONS requests have no body; the token request follows RFC 6749
//! §4.4 (HTTP Basic client authentication, the OAuthHttpParameters' body parameters
//! form-encoded, `access_token` and `expires_in` read from a JSON answer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::model::{
    self, CONNECTIONS, ConnectionHttpParameters, ConnectionRecord, DESTINATIONS, Delivery, DestinationRecord,
    HttpParameters, Parameter,
};
use crate::{Inner, lock};

/// How long an endpoint (or an authorization endpoint) has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Nothing of the answer is read but its status and headers; more than this is cut off.
const MAX_ANSWER: usize = 1 << 20;
/// A token this close to its expiry is refreshed before it is used.
const REFRESH_BEFORE_MS: i64 = 60_000;

/// Characters kept as they are in a path segment (RFC 3986 `pchar` without `%`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');
/// Characters kept as they are in a query key or value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// How an attempt ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Worth another attempt, not before `after_ms` when the endpoint said so (`Retry-After`).
    Retry {
        code: &'static str,
        message: String,
        after_ms: Option<i64>,
    },
    /// Not worth another attempt.
    Fail {
        code: &'static str,
        message: String,
    },
}

/// What an answer's status means for the delivery: 2xx delivered, 401/407/409/429/5xx retried,
/// anything else not.
pub fn classify(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Delivered,
        401 | 407 | 409 | 429 | 500..=599 => StatusClass::Retried,
        _ => StatusClass::Final,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    Delivered,
    Retried,
    Final,
}

/// The request an event becomes, before any IO.
#[derive(Debug, PartialEq)]
pub struct Prepared {
    pub method: String,
    pub url: String,
    /// In sending order; names as given.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// The endpoint with the path's `*`s replaced, in order, by `values`.
pub fn fill_wildcards(endpoint: &str, values: &[String]) -> String {
    let (path, query) = match endpoint.find('?') {
        Some(i) => endpoint.split_at(i),
        None => (endpoint, ""),
    };
    // The scheme and authority are never templated.
    let start = path.find("://").map_or(0, |i| path[i + 3..].find('/').map_or(path.len(), |j| i + 3 + j));
    let mut out = String::with_capacity(endpoint.len());
    out.push_str(&path[..start]);
    let mut values = values.iter().peekable();
    for c in path[start..].chars() {
        match (c, values.next_if(|_| c == '*')) {
            (_, Some(v)) => out.extend(utf8_percent_encode(v, SEGMENT)),
            (c, None) => out.push(c),
        }
    }
    out.push_str(query);
    out
}

/// Merges the target's pairs with the connection's: a key the connection also has takes the
/// connection's value. Target keys come first (in their map's order), then the connection's others.
pub fn merge(
    target: Option<&std::collections::BTreeMap<String, String>>,
    connection: &[Parameter],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        target.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    for p in connection {
        match out.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&p.key)) {
            Some(existing) => existing.1 = p.value.clone(),
            None => out.push((p.key.clone(), p.value.clone())),
        }
    }
    out
}

fn params(list: &Option<Vec<Parameter>>) -> &[Parameter] {
    list.as_deref().unwrap_or_default()
}

/// The headers every API destination request carries; header parameters may replace
/// Content-Type only.
const FIXED: [(&str, &str); 4] = [
    ("User-Agent", "Amazon/EventBridge/ApiDestinations"),
    ("Range", "bytes=0-1048575"),
    ("Accept-Encoding", "gzip,deflate"),
    ("Connection", "close"),
];

/// Header parameters that would break the framing of the request or replace one of the fixed
/// headers; they are left out.
fn reserved(name: &str) -> bool {
    ["host", "content-length", "transfer-encoding", "connection", "user-agent", "range", "accept-encoding"]
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r))
}

/// Builds the request for `payload` to `dest` through `conn`; `bearer` is the OAuth token of an
/// OAuth connection.
pub fn prepare(
    dest: &DestinationRecord,
    conn: &ConnectionRecord,
    http: Option<&HttpParameters>,
    payload: &str,
    bearer: Option<&str>,
) -> Prepared {
    let empty = ConnectionHttpParameters::default();
    let invocation = conn.auth.invocation_http_parameters.as_ref().unwrap_or(&empty);
    let path_values = http.and_then(|h| h.path_parameter_values.as_deref()).unwrap_or_default();
    let mut url = fill_wildcards(&dest.endpoint, path_values);
    let query = merge(
        http.and_then(|h| h.query_string_parameters.as_ref()),
        params(&invocation.query_string_parameters),
    );
    for (i, (k, v)) in query.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') { '?' } else { '&' };
        url.push(sep);
        url.extend(utf8_percent_encode(k, QUERY));
        url.push('=');
        url.extend(utf8_percent_encode(v, QUERY));
    }
    let mut headers: Vec<(String, String)> =
        FIXED.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let mut content_type = "application/json; charset=utf-8".to_owned();
    for (k, v) in
        merge(http.and_then(|h| h.header_parameters.as_ref()), params(&invocation.header_parameters))
    {
        if k.eq_ignore_ascii_case("content-type") {
            content_type = v;
        } else if !reserved(&k) {
            headers.push((k, v));
        }
    }
    headers.push(("Content-Type".to_owned(), content_type));
    match conn.authorization_type.as_str() {
        "BASIC" => {
            let b = conn.auth.basic_auth_parameters.clone().unwrap_or_default();
            let pair = format!("{}:{}", b.username.unwrap_or_default(), b.password.unwrap_or_default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            set(&mut headers, "Authorization", format!("Basic {encoded}"));
        }
        "API_KEY" => {
            let k = conn.auth.api_key_auth_parameters.clone().unwrap_or_default();
            set(&mut headers, &k.api_key_name.unwrap_or_default(), k.api_key_value.unwrap_or_default());
        }
        _ => {
            if let Some(token) = bearer {
                set(&mut headers, "Authorization", format!("Bearer {token}"));
            }
        }
    }
    let method = dest.http_method.clone();
    let body = (!matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS"))
        .then(|| with_body_parameters(payload, params(&invocation.body_parameters)));
    Prepared { method, url, headers, body }
}

/// Replaces (case-insensitively) or adds a header.
fn set(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value));
}

/// The payload with the connection's body parameters as members, when it is a JSON object.
fn with_body_parameters(payload: &str, body: &[Parameter]) -> String {
    if body.is_empty() {
        return payload.to_owned();
    }
    match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(mut map)) => {
            for p in body {
                map.insert(p.key.clone(), Value::String(p.value.clone()));
            }
            Value::Object(map).to_string()
        }
        _ => payload.to_owned(),
    }
}

/// `Retry-After` in seconds; a negative value means "stop retrying" (`Some(None)`).
fn retry_after(headers: &http::HeaderMap) -> Option<Option<i64>> {
    let text = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: i64 = text.parse().ok()?;
    Some((seconds >= 0).then(|| seconds.saturating_mul(1000)))
}

/// A generic cell rate limiter per destination: `rate` a second with a burst of `rate`. It
/// hands out send times and never refuses, so a busy destination delays its events, never
/// drops them.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Per destination ARN: the theoretical arrival time of the next request, in microseconds.
    tat_us: Mutex<HashMap<String, i64>>,
}

impl Limiter {
    /// Reserves the next send time (Unix ms) for one request to `arn`.
    pub fn reserve(&self, arn: &str, rate: u32, now_ms: i64) -> i64 {
        let rate = i64::from(rate.max(1));
        let interval = 1_000_000 / rate;
        let tolerance = interval * (rate - 1);
        let now_us = now_ms.saturating_mul(1000);
        let mut all = lock(&self.tat_us);
        let tat = all.entry(arn.to_owned()).or_insert(now_us);
        let due = (*tat).max(now_us);
        let send = now_us.max(due - tolerance);
        *tat = due + interval;
        // Rounded up: never early.
        (send + 999) / 1000
    }

    pub fn forget(&self, arn: &str) {
        lock(&self.tat_us).remove(arn);
    }
}

/// OAuth access tokens, by connection ARN, with their expiry (Unix ms) when the server gave one.
#[derive(Debug, Default)]
pub struct Tokens(Mutex<HashMap<String, (String, Option<i64>)>>);

impl Tokens {
    fn fresh(&self, arn: &str, now_ms: i64) -> Option<String> {
        let all = lock(&self.0);
        let (token, expires) = all.get(arn)?;
        expires.is_none_or(|e| e - REFRESH_BEFORE_MS > now_ms).then(|| token.clone())
    }

    pub fn forget(&self, arn: &str) {
        lock(&self.0).remove(arn);
    }
}

/// The connection of `conn_arn` as stored, if it is still the one the ARN names.
pub fn load_connection(svc: &Inner, conn_arn: &str) -> Option<ConnectionRecord> {
    let (scope, name, uuid) = model::parse_connection_arn(conn_arn)?;
    let raw = svc.kv.get(CONNECTIONS, &model::named_key(&scope, &name)).ok()??;
    model::decode::<ConnectionRecord>(&raw).ok().filter(|c| c.uuid == uuid)
}

pub fn load_destination(svc: &Inner, arn: &str) -> Option<DestinationRecord> {
    let (scope, name, uuid) = model::parse_destination_arn(arn)?;
    let raw = svc.kv.get(DESTINATIONS, &model::named_key(&scope, &name)).ok()??;
    model::decode::<DestinationRecord>(&raw).ok().filter(|d| d.uuid == uuid)
}

/// Sends one request and reads the answer.
async fn exchange(client: &outbound::Client, p: &Prepared) -> Result<outbound::Response, outbound::Error> {
    let method = Method::from_bytes(p.method.as_bytes()).unwrap_or(Method::POST);
    let mut req = outbound::Request::new(method, &p.url);
    for (k, v) in &p.headers {
        // Names and values were checked against the model's patterns when they were put.
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            req.headers.append(name, value);
        }
    }
    if let Some(body) = &p.body {
        req.body = Bytes::from(body.clone());
    }
    client.send(req, outbound::Limits { timeout: TIMEOUT, max_body: MAX_ANSWER }).await
}

fn transport_failure(e: &outbound::Error) -> Outcome {
    let code = match e {
        outbound::Error::TimedOut(_) => "TIMEOUT",
        _ => "CONNECTION_FAILURE",
    };
    match e {
        outbound::Error::InvalidUrl(_) | outbound::Error::UnsupportedScheme(_) => {
            Outcome::Fail { code: "INVALID_PARAMETER", message: e.to_string() }
        }
        _ => Outcome::Retry { code, message: e.to_string(), after_ms: None },
    }
}

/// One attempt at delivering `d` to its API destination.
pub async fn deliver(svc: &Arc<Inner>, d: &Delivery) -> Outcome {
    let Some(dest) = load_destination(svc, &d.target_arn) else {
        return Outcome::Fail {
            code: "NO_RESOURCE",
            message: format!("API destination {} does not exist.", d.target_arn),
        };
    };
    let Some(conn) = load_connection(svc, &dest.connection_arn) else {
        return Outcome::Fail {
            code: "NO_RESOURCE",
            message: format!("Connection {} does not exist.", dest.connection_arn),
        };
    };
    if conn.state == "DEAUTHORIZED" {
        return Outcome::Retry {
            code: "NO_PERMISSIONS",
            message: format!(
                "Connection {} is not authorized: {}",
                dest.connection_arn,
                conn.state_reason.as_deref().unwrap_or("it was deauthorized")
            ),
            after_ms: None,
        };
    }
    let oauth = conn.authorization_type == "OAUTH_CLIENT_CREDENTIALS";
    let bearer = if oauth {
        match token(svc, &dest.connection_arn, &conn).await {
            Ok(t) => Some(t),
            Err(why) => return Outcome::Retry { code: "NO_PERMISSIONS", message: why, after_ms: None },
        }
    } else {
        None
    };
    let prepared = prepare(&dest, &conn, d.http.as_ref(), &d.payload, bearer.as_deref());
    let answer = match exchange(svc.http_client(), &prepared).await {
        Ok(a) => a,
        Err(e) => return transport_failure(&e),
    };
    let status = answer.status.as_u16();
    if matches!(status, 401 | 407) {
        if oauth {
            svc.api_destinations.tokens.forget(&dest.connection_arn);
        } else {
            let reason = format!("The endpoint answered {status} to the connection's credentials.");
            deauthorize_after_refusal(svc, &dest.connection_arn, &reason);
        }
    }
    let message = || {
        format!(
            "{} answered {} {}",
            prepared.url.split('?').next().unwrap_or_default(),
            status,
            answer.status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_owned()
    };
    match classify(status) {
        StatusClass::Delivered => Outcome::Delivered,
        StatusClass::Final => Outcome::Fail { code: "ERROR_FROM_TARGET", message: message() },
        StatusClass::Retried => {
            let code = if status == 429 { "THROTTLING" } else { "ERROR_FROM_TARGET" };
            match retry_after(&answer.headers) {
                Some(None) => Outcome::Fail { code, message: message() },
                after => Outcome::Retry { code, message: message(), after_ms: after.flatten() },
            }
        }
    }
}

/// The connection's access token: the cached one while it is fresh, else a new one from its
/// authorization endpoint (which also moves the connection to AUTHORIZED or DEAUTHORIZED).
async fn token(svc: &Arc<Inner>, arn: &str, conn: &ConnectionRecord) -> Result<String, String> {
    let now = svc.now_ms();
    if let Some(t) = svc.api_destinations.tokens.fresh(arn, now) {
        return Ok(t);
    }
    let fetched = fetch_token(svc.http_client(), conn).await;
    record_authorization(svc, arn, conn, &fetched);
    fetched.map(|(t, _)| t)
}

/// Asks the connection's authorization endpoint for a token; returns it with its lifetime (ms).
pub async fn fetch_token(
    client: &outbound::Client,
    conn: &ConnectionRecord,
) -> Result<(String, Option<i64>), String> {
    let oauth = conn.auth.oauth_parameters.clone().unwrap_or_default();
    let endpoint = oauth.authorization_endpoint.unwrap_or_default();
    let credentials = oauth.client_parameters.unwrap_or_default();
    let extra = oauth.o_auth_http_parameters.unwrap_or_default();
    let mut url = endpoint.clone();
    for (i, p) in params(&extra.query_string_parameters).iter().enumerate() {
        url.push(if i == 0 && !url.contains('?') { '?' } else { '&' });
        url.extend(utf8_percent_encode(&p.key, QUERY));
        url.push('=');
        url.extend(utf8_percent_encode(&p.value, QUERY));
    }
    let method =
        Method::from_bytes(oauth.http_method.as_deref().unwrap_or("POST").as_bytes()).unwrap_or(Method::POST);
    let mut req = outbound::Request::new(method.clone(), &url);
    let pair = format!(
        "{}:{}",
        credentials.client_id.unwrap_or_default(),
        credentials.client_secret.unwrap_or_default()
    );
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
    for (k, v) in params(&extra.header_parameters).iter().map(|p| (p.key.as_str(), p.value.as_str())) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            req.headers.insert(name, value);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&basic) {
        req.headers.insert(http::header::AUTHORIZATION, v);
    }
    req.headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
    if method != Method::GET {
        let form: Vec<String> = params(&extra.body_parameters)
            .iter()
            .map(|p| {
                format!("{}={}", utf8_percent_encode(&p.key, QUERY), utf8_percent_encode(&p.value, QUERY))
            })
            .collect();
        req.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        req.body = Bytes::from(form.join("&"));
    }
    let limits = outbound::Limits { timeout: TIMEOUT, max_body: MAX_ANSWER };
    let answer = client.send(req, limits).await.map_err(|e| e.to_string())?;
    if !answer.status.is_success() {
        return Err(format!("The authorization endpoint {endpoint} answered {}.", answer.status.as_u16()));
    }
    let doc: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| format!("The authorization endpoint {endpoint} did not answer with JSON."))?;
    let token = doc["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("The authorization endpoint {endpoint} answered without an access_token."))?;
    let lifetime =
        doc["expires_in"].as_i64().or_else(|| doc["expires_in"].as_str()?.parse().ok()).map(|s| s * 1000);
    Ok((token.to_owned(), lifetime))
}

/// Saves what a token request says about the connection (if it is still the same incarnation
/// and has not been changed since): AUTHORIZED, or DEAUTHORIZED with the reason.
pub fn record_authorization(
    svc: &Inner,
    arn: &str,
    seen: &ConnectionRecord,
    fetched: &Result<(String, Option<i64>), String>,
) {
    let now = svc.now_ms();
    if let Ok((token, lifetime)) = fetched {
        lock(&svc.api_destinations.tokens.0)
            .insert(arn.to_owned(), (token.clone(), lifetime.map(|l| now + l)));
    }
    let _w = lock(&svc.writes);
    let Some(mut current) = load_connection(svc, arn) else { return };
    if current.modified_ms != seen.modified_ms
        || (current.state == "DEAUTHORIZED" && seen.state != "DEAUTHORIZED")
    {
        return;
    }
    match fetched {
        Ok(_) if current.state == "AUTHORIZED" => return,
        Ok(_) => {
            current.state = "AUTHORIZED".to_owned();
            current.state_reason = None;
            current.authorized_ms = Some(now);
        }
        Err(why) => {
            current.state = "DEAUTHORIZED".to_owned();
            current.state_reason = Some(why.clone());
        }
    }
    save_connection(svc, arn, &current);
}

fn save_connection(svc: &Inner, arn: &str, record: &ConnectionRecord) {
    let Some((scope, name, _)) = model::parse_connection_arn(arn) else { return };
    if let Err(e) = svc.kv.put(CONNECTIONS, &model::named_key(&scope, &name), &model::encode(record)) {
        tracing::warn!(error = %e, connection = arn, "connection state not saved");
    }
}

/// A Basic or API key connection whose credentials an endpoint refused is de-authorized, as
/// EventBridge does; UpdateConnection with new credentials authorizes it again.
fn deauthorize_after_refusal(svc: &Inner, arn: &str, reason: &str) {
    let _w = lock(&svc.writes);
    let Some(mut current) = load_connection(svc, arn) else { return };
    if current.state != "AUTHORIZED" {
        return;
    }
    current.state = "DEAUTHORIZED".to_owned();
    current.state_reason = Some(reason.to_owned());
    save_connection(svc, arn, &current);
}

/// Fetches a token for a connection that was just created or re-authorized (AUTHORIZING), in
/// the background; without a runtime the first delivery does it instead.
pub fn authorize_in_background(svc: &Arc<Inner>, arn: String, record: ConnectionRecord) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    let svc = svc.clone();
    handle.spawn(async move {
        let fetched = fetch_token(svc.http_client(), &record).await;
        record_authorization(&svc, &arn, &record, &fetched);
    });
}

/// The per-process state of API destination deliveries.
#[derive(Debug, Default)]
pub struct Shared {
    pub limiter: Limiter,
    pub tokens: Tokens,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApiKeyAuth, AuthParameters, BasicAuth, SCHEMA_VERSION};
    use std::collections::BTreeMap;

    fn dest(endpoint: &str, method: &str) -> DestinationRecord {
        DestinationRecord {
            v: SCHEMA_VERSION,
            name: "d".into(),
            uuid: "u".into(),
            description: None,
            connection_arn: "arn:aws:events:us-east-1:000000000000:connection/c/u".into(),
            endpoint: endpoint.into(),
            http_method: method.into(),
            rate_per_second: 300,
            created_ms: 0,
            modified_ms: 0,
        }
    }

    fn param(k: &str, v: &str) -> Parameter {
        Parameter { key: k.into(), value: v.into(), is_value_secret: None }
    }

    fn conn(kind: &str, auth: AuthParameters) -> ConnectionRecord {
        ConnectionRecord {
            v: SCHEMA_VERSION,
            name: "c".into(),
            uuid: "u".into(),
            description: None,
            authorization_type: kind.into(),
            auth,
            state: "AUTHORIZED".into(),
            state_reason: None,
            created_ms: 0,
            modified_ms: 0,
            authorized_ms: None,
            secret: None,
        }
    }

    fn header<'a>(p: &'a Prepared, name: &str) -> Vec<&'a str> {
        p.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    #[test]
    fn wildcards_take_the_path_values_in_order() {
        let v = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            fill_wildcards("https://h.example/orders/*/items/*", &v(&["o-1", "a b/c"])),
            "https://h.example/orders/o-1/items/a%20b%2Fc"
        );
        assert_eq!(fill_wildcards("https://h.example/*/x?q=*", &v(&["1"])), "https://h.example/1/x?q=*");
        assert_eq!(fill_wildcards("https://h.example/*/*", &v(&["1"])), "https://h.example/1/*");
        assert_eq!(fill_wildcards("https://*.example/*", &v(&["p"])), "https://*.example/p");
    }

    #[test]
    fn connection_values_take_precedence_over_the_targets() {
        let target = BTreeMap::from([("a".to_owned(), "t".to_owned()), ("B".to_owned(), "t".to_owned())]);
        let merged = merge(Some(&target), &[param("b", "c"), param("z", "c")]);
        assert_eq!(
            merged,
            vec![("B".into(), "c".into()), ("a".into(), "t".into()), ("z".into(), "c".into())]
        );
    }

    #[test]
    fn a_request_has_the_fixed_headers_the_auth_and_the_merged_parameters() {
        let auth = AuthParameters {
            api_key_auth_parameters: Some(ApiKeyAuth {
                api_key_name: Some("x-api-key".into()),
                api_key_value: Some("s3cret".into()),
            }),
            invocation_http_parameters: Some(ConnectionHttpParameters {
                header_parameters: Some(vec![param("x-team", "conn"), param("Content-Type", "text/plain")]),
                query_string_parameters: Some(vec![param("v", "2")]),
                body_parameters: Some(vec![param("source", "conn")]),
            }),
            ..AuthParameters::default()
        };
        let http = HttpParameters {
            path_parameter_values: Some(vec!["o-1".into()]),
            header_parameters: Some(BTreeMap::from([
                ("x-team".to_owned(), "target".to_owned()),
                ("x-trace".to_owned(), "t1".to_owned()),
            ])),
            query_string_parameters: Some(BTreeMap::from([
                ("v".to_owned(), "1".to_owned()),
                ("q".to_owned(), "a&b".to_owned()),
            ])),
        };
        let p = prepare(
            &dest("https://h.example/orders/*", "PUT"),
            &conn("API_KEY", auth),
            Some(&http),
            r#"{"id":1}"#,
            None,
        );
        assert_eq!(p.method, "PUT");
        assert_eq!(p.url, "https://h.example/orders/o-1?q=a%26b&v=2");
        assert_eq!(header(&p, "x-api-key"), ["s3cret"]);
        assert_eq!(header(&p, "x-team"), ["conn"]);
        assert_eq!(header(&p, "x-trace"), ["t1"]);
        assert_eq!(header(&p, "content-type"), ["text/plain"]);
        assert_eq!(header(&p, "user-agent"), ["Amazon/EventBridge/ApiDestinations"]);
        assert_eq!(header(&p, "range"), ["bytes=0-1048575"]);
        let body: Value = serde_json::from_str(p.body.as_deref().unwrap_or_default()).expect("json");
        assert_eq!(body, serde_json::json!({"id": 1, "source": "conn"}));
    }

    #[test]
    fn basic_and_oauth_authorization_headers_and_bodyless_methods() {
        let basic = AuthParameters {
            basic_auth_parameters: Some(BasicAuth { username: Some("u".into()), password: Some("p".into()) }),
            ..AuthParameters::default()
        };
        let p = prepare(&dest("https://h.example/", "GET"), &conn("BASIC", basic), None, "[1]", None);
        assert_eq!(header(&p, "authorization"), ["Basic dTpw"]);
        assert_eq!(header(&p, "content-type"), ["application/json; charset=utf-8"]);
        assert_eq!(p.body, None);
        let p = prepare(
            &dest("https://h.example/", "POST"),
            &conn("OAUTH_CLIENT_CREDENTIALS", AuthParameters::default()),
            None,
            "plain text",
            Some("tok"),
        );
        assert_eq!(header(&p, "authorization"), ["Bearer tok"]);
        assert_eq!(p.body.as_deref(), Some("plain text"));
    }

    #[test]
    fn statuses_are_classified_as_aws_retries_them() {
        for s in [200, 201, 204, 299] {
            assert_eq!(classify(s), StatusClass::Delivered, "{s}");
        }
        for s in [401, 407, 409, 429, 500, 502, 503, 504, 599] {
            assert_eq!(classify(s), StatusClass::Retried, "{s}");
        }
        for s in [100, 301, 302, 304, 400, 403, 404, 405, 408, 410, 413, 422] {
            assert_eq!(classify(s), StatusClass::Final, "{s}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Some(7000)));
        h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&h), Some(None));
    }

    #[test]
    fn the_limiter_allows_a_burst_then_spaces_requests() {
        let l = Limiter::default();
        let sends: Vec<i64> = (0..5).map(|_| l.reserve("a", 2, 10_000)).collect();
        assert_eq!(sends, vec![10_000, 10_000, 10_500, 11_000, 11_500]);
        // Another destination has its own bucket; time passing refills.
        assert_eq!(l.reserve("b", 1, 10_000), 10_000);
        assert_eq!(l.reserve("b", 1, 10_000), 11_000);
        assert_eq!(l.reserve("b", 1, 20_000), 20_000);
    }
}
