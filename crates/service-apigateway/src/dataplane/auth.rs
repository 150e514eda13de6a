//! Lambda authorizers on the data plane: the identity read from the request (a `TOKEN` header,
//! or the `REQUEST` identity sources), the event API Gateway sends the authorizer function, what
//! it answers (an IAM policy with `principalId` and `context`, or for HTTP APIs with simple
//! responses `{"isAuthorized", "context"}`), results cached by identity for the authorizer's TTL,
//! and the decision for this request's method ARN.
//!
//! A missing identity is refused before any function runs (401); a function that fails with
//! `Unauthorized` is a 401 too; anything else unreadable is the authorizer's configuration error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::Inner;
use crate::model::{HttpAuthorizer, RestApi, RestAuthorizer};
use crate::operation::TestInvokeAuthorizerInput;

use super::event::{self, RequestInfo, V1Target};
use super::policy::{self, Decision};

/// How long API Gateway waits for an authorizer function.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// What an authorizer function said, as cached.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AuthResult {
    pub principal_id: Option<String>,
    pub policy: Option<Value>,
    /// Simple responses (HTTP APIs, format 2.0).
    pub is_authorized: Option<bool>,
    pub context: Map<String, Value>,
    pub usage_identifier_key: Option<String>,
}

/// Why a request did not get past its authorizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No identity, a token that fails validation, or the function said `Unauthorized`.
    Unauthorized,
    ExplicitDeny,
    ImplicitDeny,
    /// The function failed or answered something unreadable.
    Configuration,
}

impl AuthResult {
    /// `requestContext.authorizer` of a 1.0 event: `principalId` and the context, values as
    /// strings.
    pub(crate) fn v1_context(&self) -> Value {
        let mut out = Map::new();
        for (k, v) in &self.context {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(k.clone(), Value::String(text));
        }
        if let Some(p) = &self.principal_id {
            out.insert("principalId".into(), json!(p));
        }
        out.insert("integrationLatency".into(), json!(0));
        Value::Object(out)
    }

    /// `requestContext.authorizer` of a 2.0 event: the context under `lambda`, as returned.
    pub(crate) fn v2_context(&self) -> Value {
        json!({ "lambda": self.context })
    }

    /// The decision for `arn`: a simple response's flag, or the policy's verdict.
    fn decide(&self, arn: &str) -> Result<(), Refusal> {
        if let Some(allowed) = self.is_authorized {
            return if allowed { Ok(()) } else { Err(Refusal::ImplicitDeny) };
        }
        let document = self.policy.as_ref().ok_or(Refusal::Configuration)?;
        match policy::evaluate(document, arn) {
            Ok(Decision::Allow) => Ok(()),
            Ok(Decision::ExplicitDeny) => Err(Refusal::ExplicitDeny),
            Ok(Decision::ImplicitDeny) => Err(Refusal::ImplicitDeny),
            Err(e) => {
                tracing::debug!(reason = e.0, "authorizer returned an unreadable policy");
                Err(Refusal::Configuration)
            }
        }
    }
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}{path}`.
pub(crate) fn method_arn(info: &RequestInfo, region: &str) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{}/{}/{}{}",
        info.account, info.api_id, info.stage, info.method, info.path
    )
}

/// A REST API's `TOKEN` or `REQUEST` authorizer for this request.
pub(crate) async fn rest(
    inner: &Inner,
    authorizer: &RestAuthorizer,
    info: &RequestInfo,
    target: V1Target<'_>,
    params: &BTreeMap<String, String>,
    vars: &BTreeMap<String, String>,
    arn: &str,
) -> Result<Arc<AuthResult>, Refusal> {
    let result = rest_result(inner, authorizer, info, target, params, vars, arn, true).await?;
    result.decide(arn)?;
    Ok(result)
}

/// What the authorizer answers for this request (from the cache when `cached` allows), before
/// the policy is applied.
#[allow(clippy::too_many_arguments)]
async fn rest_result(
    inner: &Inner,
    authorizer: &RestAuthorizer,
    info: &RequestInfo,
    target: V1Target<'_>,
    params: &BTreeMap<String, String>,
    vars: &BTreeMap<String, String>,
    arn: &str,
    cached: bool,
) -> Result<Arc<AuthResult>, Refusal> {
    let sources: Vec<&str> = authorizer
        .identity_source
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let values: Vec<Option<String>> = sources.iter().map(|s| rest_identity(s, info, vars)).collect();
    let ttl = authorizer.authorizer_result_ttl_in_seconds;
    let (event, identity) = if authorizer.kind == "TOKEN" {
        let token =
            values.into_iter().next().flatten().filter(|t| !t.is_empty()).ok_or(Refusal::Unauthorized)?;
        if let Some(expr) = authorizer.identity_validation_expression.as_deref().filter(|e| !e.is_empty())
            && !full_match(expr, &token)
        {
            return Err(Refusal::Unauthorized);
        }
        (json!({ "type": "TOKEN", "authorizationToken": token, "methodArn": arn }), vec![token])
    } else {
        if ttl > 0 && values.iter().any(|v| v.as_deref().is_none_or(str::is_empty)) {
            return Err(Refusal::Unauthorized);
        }
        let mut event = event::v1(info, target, params, vars);
        if let Value::Object(m) = &mut event {
            m.remove("body");
            m.remove("isBase64Encoded");
            m.insert("type".into(), json!("REQUEST"));
            m.insert("methodArn".into(), json!(arn));
        }
        (event, values.into_iter().map(Option::unwrap_or_default).collect())
    };
    let uri = super::with_stage_variables(authorizer.authorizer_uri.as_deref().unwrap_or_default(), vars);
    let function = super::lambda_arn_of_uri(&uri).ok_or(Refusal::Configuration)?;
    let cache = (cached && ttl > 0).then(|| (cache_key(&info.api_id, &authorizer.id, &identity), ttl));
    run(inner, function, &event, cache, policy_output).await
}

/// What TestInvokeAuthorizer reports.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TestInvoke {
    pub client_status: u16,
    pub principal_id: Option<String>,
    pub policy: Option<Value>,
    pub latency_ms: i64,
}

/// Runs a REST authorizer on a request described the way TestInvokeAuthorizer describes it
/// (`GET` on `pathWithQueryString` with the given headers), bypassing the cache.
pub(crate) async fn test_invoke(
    inner: &Inner,
    api: &RestApi,
    authorizer: &RestAuthorizer,
    input: TestInvokeAuthorizerInput,
) -> TestInvoke {
    let started = inner.now_ms();
    let path_and_query = input.path_with_query_string.unwrap_or_else(|| "/".to_owned());
    let (path, query) = path_and_query.split_once('?').unwrap_or((&path_and_query, ""));
    let mut headers: Vec<(String, String)> = input.headers.unwrap_or_default().into_iter().collect();
    for (name, values) in input.multi_value_headers.unwrap_or_default() {
        headers.extend(values.into_iter().map(|v| (name.clone(), v)));
    }
    let info = RequestInfo {
        method: "GET".to_owned(),
        headers,
        raw_query: query.to_owned(),
        body: input.body.unwrap_or_default().into_bytes(),
        full_path: format!("/test-invoke-stage{path}"),
        path: path.to_owned(),
        source_ip: "test-invoke-source-ip".to_owned(),
        domain_name: "testPrefix.testDomainName".to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
        time_epoch_ms: started,
        account: api.owner.account.clone(),
        api_id: api.id.clone(),
        stage: "test-invoke-stage".to_owned(),
        caller: None,
        binary_media_types: None,
    };
    let vars = input.stage_variables.unwrap_or_default();
    let arn = method_arn(&info, &api.owner.region);
    let target = V1Target::Rest { resource_id: "test-invoke-resource", resource_path: path };
    let outcome = rest_result(inner, authorizer, &info, target, &BTreeMap::new(), &vars, &arn, false).await;
    let latency_ms = inner.now_ms() - started;
    match outcome {
        Ok(result) => TestInvoke {
            client_status: 200,
            principal_id: result.principal_id.clone(),
            policy: result.policy.clone(),
            latency_ms,
        },
        Err(refusal) => TestInvoke {
            client_status: if refusal == Refusal::Unauthorized { 401 } else { 500 },
            principal_id: None,
            policy: None,
            latency_ms,
        },
    }
}

/// An HTTP API's Lambda `REQUEST` authorizer for this request.
pub(crate) async fn http(
    inner: &Inner,
    authorizer: &HttpAuthorizer,
    info: &RequestInfo,
    route_key: &str,
    params: &BTreeMap<String, String>,
    vars: &BTreeMap<String, String>,
    arn: &str,
) -> Result<Arc<AuthResult>, Refusal> {
    let mut identity = Vec::with_capacity(authorizer.identity_source.len());
    for source in &authorizer.identity_source {
        let value = http_identity(source, info, route_key, vars).filter(|v| !v.is_empty());
        identity.push(value.ok_or(Refusal::Unauthorized)?);
    }
    let v2 = authorizer.authorizer_payload_format_version.as_deref() == Some("2.0");
    let mut event = if v2 {
        event::v2(info, route_key, params, vars)
    } else {
        event::v1(info, V1Target::Http { route_key }, params, vars)
    };
    if let Value::Object(m) = &mut event {
        m.remove("body");
        m.remove("isBase64Encoded");
        m.insert("type".into(), json!("REQUEST"));
        if v2 {
            m.insert("routeArn".into(), json!(arn));
            m.insert("identitySource".into(), json!(identity));
        } else {
            m.insert("methodArn".into(), json!(arn));
            m.insert("identitySource".into(), json!(identity.join(",")));
        }
    }
    let uri = super::with_stage_variables(authorizer.authorizer_uri.as_deref().unwrap_or_default(), vars);
    let function = super::lambda_arn_of_uri(&uri).ok_or(Refusal::Configuration)?;
    let ttl = authorizer.authorizer_result_ttl_in_seconds;
    let cache = (ttl > 0).then(|| (cache_key(&info.api_id, &authorizer.authorizer_id, &identity), ttl));
    let simple = v2 && authorizer.enable_simple_responses == Some(true);
    let result = run(inner, function, &event, cache, |payload| {
        if simple { simple_output(payload) } else { policy_output(payload) }
    })
    .await?;
    result.decide(arn)?;
    Ok(result)
}

fn cache_key(api: &str, authorizer: &str, identity: &[String]) -> String {
    let mut key = format!("{api}\u{0}{authorizer}");
    for value in identity {
        key.push('\u{0}');
        key.push_str(value);
    }
    key
}

/// The cached result for the identity, or the function's answer (cached when `cache` says so).
async fn run(
    inner: &Inner,
    function: &str,
    event: &Value,
    cache: Option<(String, i64)>,
    parse: impl Fn(&[u8]) -> Result<AuthResult, Refusal>,
) -> Result<Arc<AuthResult>, Refusal> {
    if let Some((key, _)) = &cache
        && let Some(result) = inner.limits.cached(key, inner.now_ms())
    {
        return Ok(result);
    }
    let payload = Bytes::from(event.to_string());
    let resp =
        match tokio::time::timeout(AUTHORIZER_TIMEOUT, inner.invoker.invoke(function, payload, None)).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                tracing::debug!(function, error = %e, "authorizer invoke failed");
                return Err(Refusal::Configuration);
            }
            Err(_) => {
                tracing::debug!(function, "authorizer timed out");
                return Err(Refusal::Configuration);
            }
        };
    if resp.function_error.is_some() {
        let error: Value = serde_json::from_slice(&resp.payload).unwrap_or_default();
        if error.get("errorMessage").and_then(Value::as_str) == Some("Unauthorized") {
            return Err(Refusal::Unauthorized);
        }
        tracing::debug!(function, "authorizer function failed");
        return Err(Refusal::Configuration);
    }
    let result = Arc::new(parse(&resp.payload)?);
    if let Some((key, ttl)) = cache {
        inner.limits.remember(key, ttl, inner.now_ms(), result.clone());
    }
    Ok(result)
}

/// `{principalId, policyDocument, context?, usageIdentifierKey?}`.
fn policy_output(payload: &[u8]) -> Result<AuthResult, Refusal> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| Refusal::Configuration)?;
    let Value::Object(map) = value else { return Err(Refusal::Configuration) };
    let principal_id = match map.get("principalId") {
        Some(Value::String(p)) => p.clone(),
        _ => return Err(Refusal::Configuration),
    };
    let policy = match map.get("policyDocument") {
        Some(doc @ Value::Object(_)) => doc.clone(),
        _ => return Err(Refusal::Configuration),
    };
    let usage_identifier_key = match map.get("usageIdentifierKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(Refusal::Configuration),
    };
    Ok(AuthResult {
        principal_id: Some(principal_id),
        policy: Some(policy),
        is_authorized: None,
        context: context(map.get("context"))?,
        usage_identifier_key,
    })
}

/// `{isAuthorized, context?}`.
fn simple_output(payload: &[u8]) -> Result<AuthResult, Refusal> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| Refusal::Configuration)?;
    let Some(Value::Bool(allowed)) = value.get("isAuthorized") else { return Err(Refusal::Configuration) };
    Ok(AuthResult {
        is_authorized: Some(*allowed),
        context: context(value.get("context"))?,
        ..AuthResult::default()
    })
}

/// The `context` map: strings, numbers and booleans only.
fn context(v: Option<&Value>) -> Result<Map<String, Value>, Refusal> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m))
            if m.values().all(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))) =>
        {
            Ok(m.clone())
        }
        Some(_) => Err(Refusal::Configuration),
    }
}

/// The regex must match the whole token, as Java's `matches` does.
fn full_match(expr: &str, token: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{expr})$")).is_ok_and(|r| r.is_match(token))
}

/// One REST identity source: `method.request.header.X`, `method.request.querystring.X`,
/// `stageVariables.X` or `context.X`.
fn rest_identity(source: &str, info: &RequestInfo, vars: &BTreeMap<String, String>) -> Option<String> {
    if let Some(name) = source.strip_prefix("method.request.header.") {
        return info.header(name).map(str::to_owned);
    }
    if let Some(name) = source.strip_prefix("method.request.querystring.") {
        return info.query_pairs().into_iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    }
    if let Some(name) = source.strip_prefix("stageVariables.") {
        return vars.get(name).cloned();
    }
    source.strip_prefix("context.").and_then(|name| context_value(name, info, None))
}

/// One HTTP API identity source: `$request.header.X`, `$request.querystring.X`, `$context.X` or
/// `$stageVariables.X`.
pub(crate) fn http_identity(
    source: &str,
    info: &RequestInfo,
    route_key: &str,
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    if let Some(name) = source.strip_prefix("$request.header.") {
        let values: Vec<&str> = info
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$request.querystring.") {
        let values: Vec<String> =
            info.query_pairs().into_iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$stageVariables.") {
        return vars.get(name).cloned();
    }
    source.strip_prefix("$context.").and_then(|name| context_value(name, info, Some(route_key)))
}

/// The `$context` variables an identity source may name.
fn context_value(name: &str, info: &RequestInfo, route_key: Option<&str>) -> Option<String> {
    let value = match name {
        "requestId" | "extendedRequestId" => info.request_id.clone(),
        "apiId" => info.api_id.clone(),
        "accountId" => info.account.clone(),
        "stage" => info.stage.clone(),
        "httpMethod" | "http.method" => info.method.clone(),
        "path" | "http.path" => info.full_path.clone(),
        "domainName" => info.domain_name.clone(),
        "identity.sourceIp" | "http.sourceIp" => info.source_ip.clone(),
        "routeKey" => route_key?.to_owned(),
        _ => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_policy_and_simple_outputs() {
        let out = policy_output(
            br#"{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[]},"context":{"n":1,"b":true,"s":"x"}}"#,
        )
        .expect("valid");
        assert_eq!(out.principal_id.as_deref(), Some("u1"));
        assert_eq!(
            out.v1_context(),
            json!({"n": "1", "b": "true", "s": "x", "principalId": "u1", "integrationLatency": 0})
        );
        assert_eq!(out.decide("arn:aws:execute-api:r:a:api/s/GET/"), Err(Refusal::ImplicitDeny));
        for bad in [
            &b"not json"[..],
            br#"{"policyDocument":{}}"#,
            br#"{"principalId":"u","policyDocument":"x"}"#,
            br#"{"principalId":"u","policyDocument":{},"context":{"o":{"a":1}}}"#,
        ] {
            assert_eq!(policy_output(bad), Err(Refusal::Configuration), "{}", String::from_utf8_lossy(bad));
        }
        let out = simple_output(br#"{"isAuthorized":false,"context":{"a":"b"}}"#).expect("valid");
        assert_eq!(out.decide("x"), Err(Refusal::ImplicitDeny));
        assert_eq!(out.v2_context(), json!({"lambda": {"a": "b"}}));
        assert_eq!(simple_output(br#"{"isAuthorized":"yes"}"#), Err(Refusal::Configuration));
    }

    #[test]
    fn identity_sources() {
        let info = RequestInfo {
            headers: vec![("authorization".into(), "tok".into())],
            raw_query: "a=1&a=2".into(),
            stage: "dev".into(),
            caller: None,
            binary_media_types: None,
            ..RequestInfo::default()
        };
        let vars = BTreeMap::from([("v".to_owned(), "x".to_owned())]);
        assert_eq!(
            rest_identity("method.request.header.Authorization", &info, &vars).as_deref(),
            Some("tok")
        );
        assert_eq!(rest_identity("method.request.querystring.a", &info, &vars).as_deref(), Some("2"));
        assert_eq!(rest_identity("stageVariables.v", &info, &vars).as_deref(), Some("x"));
        assert_eq!(rest_identity("context.stage", &info, &vars).as_deref(), Some("dev"));
        assert_eq!(rest_identity("method.request.header.Missing", &info, &vars), None);
        assert_eq!(http_identity("$request.querystring.a", &info, "GET /", &vars).as_deref(), Some("1,2"));
        assert_eq!(http_identity("$context.routeKey", &info, "GET /", &vars).as_deref(), Some("GET /"));
        assert!(full_match("^tok$", "tok") && full_match("t.k", "tok") && !full_match("to", "tok"));
    }
}
