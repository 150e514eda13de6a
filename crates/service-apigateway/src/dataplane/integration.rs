//! REST API integrations other than Lambda proxy: `MOCK`, `AWS` (Lambda non-proxy, SQS, and
//! any other service's action or path through `ports::ServiceApi`), `HTTP` and `HTTP_PROXY`. A non-proxy integration maps the method request into an integration
//! request (parameter mappings, a request template picked by Content-Type under the
//! passthrough behaviour), calls the backend, picks an integration response (its
//! `selectionPattern` against the Lambda `errorMessage` or the backend status code, else the
//! default one) and maps the result back (response template, `responseParameters`,
//! `$context.responseOverride`). Templates are Velocity, rendered by the `vtl` crate.
//! `HTTP_PROXY` passes method, path, query, headers and body through, both ways.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use protocol::Response;
use serde_json::Value as Json;
use vtl::Template;
use vtl::apigw::{self, ContextVars, Overrides, Params};

use super::event::RequestInfo;
use super::mapping;
use super::{lambda_arn_of_uri, message, with_stage_variables};
use crate::Inner;
use crate::model::{Method, RestIntegration};

/// The most a backend may answer (API Gateway's payload limit).
const MAX_BACKEND_BODY: usize = 10 * 1024 * 1024;

/// Everything about one request an integration needs.
pub(super) struct Call<'a> {
    pub integration: &'a RestIntegration,
    pub method: &'a Method,
    pub resource_id: &'a str,
    pub resource_path: &'a str,
    pub info: &'a RequestInfo,
    pub params: &'a BTreeMap<String, String>,
    pub vars: &'a BTreeMap<String, String>,
    /// `$context.authorizer`: what the method's authorizer returned.
    pub authorizer: Option<Json>,
}

/// What the backend answered, before the integration response maps it.
struct Backend {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// What selection patterns match: the status code, or for Lambda the `errorMessage` of
    /// a failed invocation (and nothing for a successful one, which takes the default).
    selection: Option<String>,
}

/// Why an integration produced no response of its own; each is one of API Gateway's.
#[derive(Debug)]
enum Fail {
    /// A template or configuration error, or an unreachable backend.
    Internal,
    /// The backend did not answer within the integration timeout.
    Timeout,
    /// No request template for the content type, and the passthrough behaviour forbids it.
    UnsupportedMediaType,
    /// A template read a body that is not JSON.
    BadJson(String),
}

impl Fail {
    fn response(self) -> Response {
        match self {
            Fail::Internal => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("InternalServerErrorException"),
                "Internal server error",
            ),
            Fail::Timeout => message(
                StatusCode::GATEWAY_TIMEOUT,
                Some("InternalServerErrorException"),
                "Endpoint request timed out",
            ),
            Fail::UnsupportedMediaType => message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("UnsupportedMediaTypeException"),
                "Unsupported Media Type",
            ),
            Fail::BadJson(text) => message(StatusCode::BAD_REQUEST, Some("BadRequestException"), &text),
        }
    }
}

/// Runs the integration of a REST method that is not `AWS_PROXY`.
pub(super) async fn rest(inner: &Inner, call: Call<'_>) -> Response {
    run(inner, &call).await.unwrap_or_else(Fail::response)
}

async fn run(inner: &Inner, call: &Call<'_>) -> Result<Response, Fail> {
    let integration = call.integration;
    let base = template_request(call);
    if integration.kind == "HTTP_PROXY" {
        return http_proxy(call, &base).await;
    }

    // The integration request: a template for the request's content type, or the body as is.
    let content_type =
        media_type(call.info.header("content-type")).unwrap_or_else(|| "application/json".into());
    let template = request_template(
        integration.request_templates.as_ref(),
        &integration.passthrough_behavior,
        &content_type,
    )?;
    let (payload, overrides) = match template {
        Some(source) => {
            let out = render(source, &base)?;
            (out.body.into_bytes(), out.overrides)
        }
        None => (call.info.body.clone(), Overrides::default()),
    };
    let mut mapped = map_request_parameters(call, &base);
    apply_overrides(&mut mapped, &overrides);

    let timeout = Duration::from_millis(
        u64::try_from(integration.timeout_in_millis.clamp(50, 29_000)).unwrap_or(29_000),
    );
    let uri = with_stage_variables(integration.uri.as_deref().unwrap_or_default(), call.vars);
    let backend = match integration.kind.as_str() {
        "MOCK" => {
            // The request template's `statusCode` is the mock backend's status.
            let status = serde_json::from_slice::<Json>(&payload)
                .ok()
                .and_then(|v| v.get("statusCode").and_then(Json::as_u64))
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(200);
            Backend { status, headers: Vec::new(), body: Vec::new(), selection: Some(status.to_string()) }
        }
        "AWS" => match (lambda_arn_of_uri(&uri), sqs_queue_arn(&uri)) {
            // `X-Amz-Invocation-Type: Event` mapped onto the integration request: queue it.
            (Some(function_arn), _)
                if mapped
                    .headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("x-amz-invocation-type") && v == "Event") =>
            {
                inner.invoker.invoke_async(function_arn, Bytes::from(payload), None).map_err(|e| {
                    tracing::debug!(function_arn, error = %e, "asynchronous integration invoke failed");
                    Fail::Internal
                })?;
                Backend { status: 200, headers: Vec::new(), body: Vec::new(), selection: None }
            }
            (Some(function_arn), _) => lambda(inner, function_arn, payload, timeout).await?,
            (None, Some(queue_arn)) => sqs_send(inner, &queue_arn, &payload, &mapped, &call.info.request_id)?,
            (None, None) => {
                let Some(target) = ServiceTarget::parse(&uri) else {
                    tracing::warn!(uri, "not an AWS service integration URI");
                    return Err(Fail::Internal);
                };
                let verb = integration.http_method.as_deref().unwrap_or("POST");
                let verb = if verb == "ANY" { call.info.method.as_str() } else { verb };
                let request = target.request(verb, &mapped, &content_type, payload)?;
                aws_service(inner, &call.info.account, &target, request, timeout).await?
            }
        },
        "HTTP" => {
            let url = with_path_params(&uri, &mapped.path, &BTreeMap::new());
            let url = with_query(&url, &mapped.querystring);
            let mut headers = mapped.headers.clone();
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                headers.push(("Content-Type".into(), content_type.clone()));
            }
            let verb = integration.http_method.as_deref().unwrap_or("POST");
            let verb = if verb == "ANY" { call.info.method.as_str() } else { verb };
            send(verb, &url, &headers, Bytes::from(payload), timeout).await?
        }
        kind => {
            tracing::warn!(kind, "REST API integration type not supported by the Nimbus data plane");
            return Err(Fail::Internal);
        }
    };
    integration_response(call, &base, backend)
}

/// The request template for `content_type`, or `None` to pass the body through, as the
/// passthrough behaviour allows: `WHEN_NO_MATCH` always, `WHEN_NO_TEMPLATES` only when the
/// integration has no template at all, `NEVER` not at all.
fn request_template<'a>(
    templates: Option<&'a BTreeMap<String, String>>,
    passthrough: &str,
    content_type: &str,
) -> Result<Option<&'a str>, Fail> {
    let templates = templates.filter(|t| !t.is_empty());
    let found = templates.and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(content_type)));
    match (found, passthrough) {
        (Some((_, source)), _) => Ok(Some(source.as_str())),
        (None, "NEVER") => Err(Fail::UnsupportedMediaType),
        (None, "WHEN_NO_TEMPLATES") if templates.is_some() => Err(Fail::UnsupportedMediaType),
        (None, _) => Ok(None),
    }
}

/// The mapping-template view of the method request.
fn template_request(call: &Call<'_>) -> apigw::Request {
    let info = call.info;
    let mut vars = ContextVars {
        account_id: info.account.clone(),
        api_id: info.api_id.clone(),
        domain_name: info.domain_name.clone(),
        http_method: info.method.clone(),
        path: info.full_path.clone(),
        protocol: "HTTP/1.1".into(),
        request_id: info.request_id.clone(),
        request_time: super::event::clf_time(info.time_epoch_ms),
        request_time_epoch: info.time_epoch_ms,
        resource_id: call.resource_id.to_owned(),
        resource_path: call.resource_path.to_owned(),
        stage: info.stage.clone(),
        source_ip: info.source_ip.clone(),
        user_agent: info.header("user-agent").unwrap_or_default().to_owned(),
        authorizer: vtl::Map::new(),
    };
    if let Some(vtl::Value::Map(m)) =
        call.authorizer.as_ref().and_then(|a| vtl::Value::parse_json(&a.to_string()).ok())
    {
        vars.authorizer = m;
    }
    apigw::Request {
        body: String::from_utf8_lossy(&info.body).into_owned(),
        params: Params {
            path: call.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            querystring: info.query_pairs(),
            header: info.headers.clone(),
        },
        context: vars.to_map(),
        stage_variables: call.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}

fn render(source: &str, request: &apigw::Request) -> Result<apigw::Output, Fail> {
    let template = Template::parse(source).map_err(|e| {
        tracing::debug!(error = %e, "mapping template does not parse");
        Fail::Internal
    })?;
    apigw::render(&template, request).map_err(|e| match e {
        apigw::Error::InvalidJson(_) => Fail::BadJson(e.to_string()),
        apigw::Error::Template(e) => {
            tracing::debug!(error = %e, "mapping template failed");
            Fail::Internal
        }
    })
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type(value: Option<&str>) -> Option<String> {
    let v = value?.split(';').next()?.trim().to_ascii_lowercase();
    (!v.is_empty()).then_some(v)
}

/// The integration request's parameters, from `requestParameters` mappings.
#[derive(Debug, Default)]
struct Mapped {
    headers: Vec<(String, String)>,
    querystring: Vec<(String, String)>,
    path: Vec<(String, String)>,
}

fn upsert(list: &mut Vec<(String, String)>, name: &str, value: String, case_insensitive: bool) {
    list.retain(|(k, _)| if case_insensitive { !k.eq_ignore_ascii_case(name) } else { k != name });
    list.push((name.to_owned(), value));
}

fn map_request_parameters(call: &Call<'_>, base: &apigw::Request) -> Mapped {
    let mut mapped = Mapped::default();
    let Some(mappings) = &call.integration.request_parameters else { return mapped };
    for (target, source) in mappings {
        let Some(value) = request_source(source, base) else { continue };
        let Some(target) = target.strip_prefix("integration.request.") else { continue };
        if let Some(name) = target.strip_prefix("header.") {
            upsert(&mut mapped.headers, name, value, true);
        } else if let Some(name) =
            target.strip_prefix("querystring.").or_else(|| target.strip_prefix("multivaluequerystring."))
        {
            upsert(&mut mapped.querystring, name, value, false);
        } else if let Some(name) = target.strip_prefix("path.") {
            upsert(&mut mapped.path, name, value, false);
        }
    }
    mapped
}

fn apply_overrides(mapped: &mut Mapped, overrides: &Overrides) {
    for (k, v) in &overrides.request_headers {
        upsert(&mut mapped.headers, k, v.clone(), true);
    }
    for (k, v) in &overrides.request_querystring {
        upsert(&mut mapped.querystring, k, v.clone(), false);
    }
    for (k, v) in &overrides.request_path {
        upsert(&mut mapped.path, k, v.clone(), false);
    }
}

/// A quoted literal (`'text'`), a stage variable or a `$context` value.
fn common_source(source: &str, base: &apigw::Request) -> Option<Option<String>> {
    if let Some(lit) = source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(Some(lit.to_owned()));
    }
    if let Some(name) = source.strip_prefix("stageVariables.") {
        return Some(base.stage_variables.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
    }
    if let Some(path) = source.strip_prefix("context.") {
        let mut cur = base.context.get(path.split('.').next().unwrap_or_default());
        for part in path.split('.').skip(1) {
            cur = match cur {
                Some(vtl::Value::Map(m)) => m.get(part),
                _ => None,
            };
        }
        return Some(cur.filter(|v| !v.is_null()).map(vtl::Value::to_java_string));
    }
    None
}

/// JSON text of the node a `body.JSONPath` names (strings unquoted), or the whole body.
fn body_source(rest: &str, body: &str) -> Option<String> {
    if rest.is_empty() {
        return Some(body.to_owned());
    }
    let path = vtl::jsonpath::JsonPath::parse(&format!("${rest}")).ok()?;
    let doc = vtl::Value::parse_json(body).ok()?;
    match path.select(&doc)? {
        vtl::Value::String(s) => Some(s),
        vtl::Value::Null => None,
        other => Some(other.to_json_text()),
    }
}

fn request_source(source: &str, base: &apigw::Request) -> Option<String> {
    if let Some(found) = common_source(source, base) {
        return found;
    }
    let rest = source.strip_prefix("method.request.")?;
    let find = |list: &[(String, String)], name: &str, ci: bool| {
        list.iter()
            .filter(|(k, _)| if ci { k.eq_ignore_ascii_case(name) } else { k == name })
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    if let Some(name) = rest.strip_prefix("path.") {
        return find(&base.params.path, name, false).pop();
    }
    if let Some(name) = rest.strip_prefix("querystring.") {
        return find(&base.params.querystring, name, false).pop();
    }
    if let Some(name) = rest.strip_prefix("multivaluequerystring.") {
        let all = find(&base.params.querystring, name, false);
        return (!all.is_empty()).then(|| all.join(","));
    }
    if let Some(name) = rest.strip_prefix("header.") {
        return find(&base.params.header, name, true).pop();
    }
    if let Some(name) = rest.strip_prefix("multivalueheader.") {
        let all = find(&base.params.header, name, true);
        return (!all.is_empty()).then(|| all.join(","));
    }
    rest.strip_prefix("body").and_then(|r| body_source(r, &base.body))
}

/// Picks the integration response: the first whose `selectionPattern` matches all of `key`
/// (Java's `String.matches`), else the one without a pattern.
fn select_response<'a>(responses: &'a BTreeMap<String, Json>, key: Option<&str>) -> Option<&'a Json> {
    fn pattern(r: &Json) -> Option<&str> {
        r.get("selectionPattern").and_then(Json::as_str).filter(|p| !p.is_empty())
    }
    if let Some(key) = key {
        let found = responses.values().find(|r| {
            pattern(r).is_some_and(|p| {
                regex_lite::Regex::new(&format!("^(?:{p})$")).is_ok_and(|re| re.is_match(key))
            })
        });
        if found.is_some() {
            return found;
        }
    }
    responses.values().find(|r| pattern(r).is_none())
}

fn integration_response(call: &Call<'_>, base: &apigw::Request, backend: Backend) -> Result<Response, Fail> {
    let Some(chosen) = select_response(&call.integration.integration_responses, backend.selection.as_deref())
    else {
        tracing::debug!("no integration response matches and none is the default");
        return Err(Fail::Internal);
    };
    let status_code = chosen.get("statusCode").and_then(Json::as_str).unwrap_or("200");
    if !call.method.method_responses.is_empty() && !call.method.method_responses.contains_key(status_code) {
        tracing::debug!(status_code, "integration response maps to a status the method does not declare");
        return Err(Fail::Internal);
    }
    let mut status = status_code.parse::<u16>().unwrap_or(200);
    let body_text = String::from_utf8_lossy(&backend.body).into_owned();

    // The response template for what the client accepts, else JSON's, else the first.
    let templates: Vec<(&str, &str)> = chosen
        .get("responseTemplates")
        .and_then(Json::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    let accept = media_type(call.info.header("accept")).filter(|a| a != "*/*");
    let template = accept
        .as_deref()
        .and_then(|a| templates.iter().find(|(k, _)| k.eq_ignore_ascii_case(a)))
        .or_else(|| templates.iter().find(|(k, _)| k.eq_ignore_ascii_case("application/json")))
        .or_else(|| templates.first());
    let backend_type =
        backend.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.clone());
    let mut overrides = Overrides::default();
    let (body, content_type) = match template {
        Some((ct, source)) if !source.trim().is_empty() => {
            let request = apigw::Request { body: body_text.clone(), ..base.clone() };
            let out = render(source, &request)?;
            overrides = out.overrides;
            (out.body.into_bytes(), (*ct).to_owned())
        }
        Some((ct, _)) => (backend.body.clone(), (*ct).to_owned()),
        None => (backend.body.clone(), backend_type.unwrap_or_else(|| "application/json".into())),
    };

    let mut headers: Vec<(String, String)> = vec![("Content-Type".into(), content_type)];
    if let Some(params) = chosen.get("responseParameters").and_then(Json::as_object) {
        for (target, source) in params {
            let (Some(name), Some(source)) =
                (target.strip_prefix("method.response.header."), source.as_str())
            else {
                continue;
            };
            let value = match common_source(source, base) {
                Some(v) => v,
                None => match source.strip_prefix("integration.response.") {
                    Some(rest) => {
                        match rest.strip_prefix("header.").or_else(|| rest.strip_prefix("multivalueheader."))
                        {
                            Some(h) => backend
                                .headers
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(h))
                                .map(|(_, v)| v.clone()),
                            None => rest.strip_prefix("body").and_then(|r| body_source(r, &body_text)),
                        }
                    }
                    None => None,
                },
            };
            if let Some(value) = value {
                upsert(&mut headers, name, value, true);
            }
        }
    }
    for (k, v) in &overrides.response_headers {
        upsert(&mut headers, k, v.clone(), true);
    }
    if let Some(s) = overrides.response_status {
        status = s;
    }
    Ok(respond(status, &headers, body))
}

pub(super) fn respond(status: u16, headers: &[(String, String)], body: Vec<u8>) -> Response {
    let mut resp = http::Response::new(Bytes::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    for (name, value) in headers {
        if ["content-length", "transfer-encoding", "connection", "keep-alive"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

/// A Lambda non-proxy invocation: the mapped payload in, the function's result out.
async fn lambda(
    inner: &Inner,
    function_arn: &str,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<Backend, Fail> {
    let call = inner.invoker.invoke(function_arn, Bytes::from(payload), None);
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err(Fail::Timeout),
        Ok(Err(e)) => {
            tracing::debug!(function_arn, error = %e, "integration invoke failed");
            Err(Fail::Internal)
        }
        Ok(Ok(resp)) => {
            let selection = resp.function_error.as_ref().map(|_| {
                serde_json::from_slice::<Json>(&resp.payload)
                    .ok()
                    .and_then(|v| v.get("errorMessage").and_then(Json::as_str).map(str::to_owned))
                    .unwrap_or_default()
            });
            Ok(Backend { status: 200, headers: Vec::new(), body: resp.payload.to_vec(), selection })
        }
    }
}

/// The queue of `arn:aws:apigateway:{region}:sqs:path/{account}/{queue}`.
fn sqs_queue_arn(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("arn:aws:apigateway:")?;
    let (region, rest) = rest.split_once(':')?;
    let path = rest.strip_prefix("sqs:path/")?;
    let path = path.split('?').next().unwrap_or_default();
    let (account, queue) = path.split_once('/')?;
    let valid = |s: &str| !s.is_empty() && !s.contains('/');
    (valid(region) && valid(account) && valid(queue))
        .then(|| format!("arn:aws:sqs:{region}:{account}:{queue}"))
}

/// SQS's query API as an integration backend: `Action=SendMessage` with `MessageBody` (and
/// `MessageGroupId`) from the form body the request template rendered and the mapped query
/// string; answered in SQS's JSON shape, which response templates read with `$input.path`.
fn sqs_send(
    inner: &Inner,
    queue_arn: &str,
    payload: &[u8],
    mapped: &Mapped,
    request_id: &str,
) -> Result<Backend, Fail> {
    let Some(queues) = inner.queues.get() else {
        tracing::warn!("SQS integration called but no queue sender is wired");
        return Err(Fail::Internal);
    };
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(payload).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    params.extend(mapped.querystring.iter().cloned());
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let sqs_error = |code: &str, text: &str| Backend {
        status: 400,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: serde_json::json!({
            "Error": { "Code": code, "Message": text, "Type": "Sender" },
            "RequestId": request_id,
        })
        .to_string()
        .into_bytes(),
        selection: Some("400".into()),
    };
    match param("Action") {
        Some("SendMessage") => {}
        Some(other) => {
            tracing::warn!(action = other, "only SendMessage is supported in SQS integrations");
            return Ok(sqs_error(
                "InvalidAction",
                &format!("The action {other} is not valid for this endpoint."),
            ));
        }
        None => return Ok(sqs_error("MissingAction", "MissingAction; see the SQS docs.")),
    }
    let Some(body) = param("MessageBody") else {
        return Ok(sqs_error("MissingParameter", "The request must contain the parameter MessageBody."));
    };
    let sent = queues.send_message(queue_arn, body, &[], param("MessageGroupId"), None);
    let id = match sent {
        Ok(id) => id,
        Err(ports::PortError::NotFound(_)) => {
            return Ok(sqs_error(
                "AWS.SimpleQueueService.NonExistentQueue",
                "The specified queue does not exist for this wsdl version.",
            ));
        }
        Err(ports::PortError::Invalid(m)) => return Ok(sqs_error("InvalidParameterValue", &m)),
        Err(ports::PortError::Unavailable(m)) => {
            tracing::debug!(error = m, "SQS integration: queue unavailable");
            return Err(Fail::Internal);
        }
    };
    let md5: String = {
        use md5::Digest as _;
        md5::Md5::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let answer = serde_json::json!({
        "SendMessageResponse": {
            "ResponseMetadata": { "RequestId": request_id },
            "SendMessageResult": {
                "MD5OfMessageAttributes": null,
                "MD5OfMessageBody": md5,
                "MD5OfMessageSystemAttributes": null,
                "MessageId": id,
                "SequenceNumber": null,
            },
        }
    });
    Ok(Backend {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: answer.to_string().into_bytes(),
        selection: Some("200".into()),
    })
}

/// The awsJson services an `action/` URI can name: their target prefix and JSON version.
const JSON_SERVICES: [(&str, &str, &str); 3] = [
    ("dynamodb", "DynamoDB_20120810", "1.0"),
    ("events", "AWSEvents", "1.1"),
    ("logs", "Logs_20140328", "1.1"),
];

/// An `AWS` integration URI naming another service:
/// `arn:aws:apigateway:{region}:{service}:action/{Action}[&p=v...]` or `...:path/{path}`.
#[derive(Debug, PartialEq, Eq)]
struct ServiceTarget {
    region: String,
    service: String,
    kind: TargetKind,
}

#[derive(Debug, PartialEq, Eq)]
enum TargetKind {
    /// The action and the parameters written after it in the URI.
    Action(String, Vec<(String, String)>),
    /// A request path (with `{param}`s for the mapped path parameters) and query string.
    Path(String),
}

impl ServiceTarget {
    fn parse(uri: &str) -> Option<ServiceTarget> {
        let rest = uri.strip_prefix("arn:aws:apigateway:")?;
        let (region, rest) = rest.split_once(':')?;
        let (service, rest) = rest.split_once(':')?;
        // `{subdomain}.{service}` addresses a host of the service (an S3 bucket); the
        // path-style form reaches the same resource here.
        let service = service.rsplit('.').next().unwrap_or(service);
        if region.is_empty() || service.is_empty() {
            return None;
        }
        let kind = if let Some(action) = rest.strip_prefix("action/") {
            let mut parts = action.split('&');
            let name = parts.next().filter(|a| !a.is_empty())?.to_owned();
            let params =
                parts.filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect();
            TargetKind::Action(name, params)
        } else {
            TargetKind::Path(rest.strip_prefix("path/")?.to_owned())
        };
        Some(ServiceTarget { region: region.to_owned(), service: service.to_owned(), kind })
    }

    /// The request an SDK would send for this target: an awsJson call (`X-Amz-Target`) for
    /// a JSON service's action, a query call (`Action=` with the URI's and the mapped query
    /// parameters) for the others, or the path as given.
    fn request(
        &self,
        verb: &str,
        mapped: &Mapped,
        content_type: &str,
        payload: Vec<u8>,
    ) -> Result<http::Request<Bytes>, Fail> {
        let mut headers = mapped.headers.clone();
        let (method, path) = match &self.kind {
            TargetKind::Action(action, params) => {
                match JSON_SERVICES.iter().find(|(s, _, _)| *s == self.service) {
                    Some((_, prefix, version)) => {
                        upsert(&mut headers, "X-Amz-Target", format!("{prefix}.{action}"), true);
                        upsert(
                            &mut headers,
                            "Content-Type",
                            format!("application/x-amz-json-{version}"),
                            true,
                        );
                        ("POST".to_owned(), with_query("/", &mapped.querystring))
                    }
                    None => {
                        let mut query = vec![("Action".to_owned(), action.clone())];
                        query.extend(params.iter().cloned());
                        query.extend(mapped.querystring.iter().cloned());
                        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                            headers.push(("Content-Type".into(), content_type.to_owned()));
                        }
                        (verb.to_owned(), with_query("/", &query))
                    }
                }
            }
            TargetKind::Path(path) => {
                let path = with_path_params(&format!("/{path}"), &mapped.path, &BTreeMap::new());
                if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) && !payload.is_empty()
                {
                    headers.push(("Content-Type".into(), content_type.to_owned()));
                }
                (verb.to_owned(), with_query(&path, &mapped.querystring))
            }
        };
        let mut request = http::Request::builder().method(method.as_str()).uri(path.as_str());
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request.body(Bytes::from(payload)).map_err(|e| {
            tracing::debug!(error = %e, "AWS integration request is not valid HTTP");
            Fail::Internal
        })
    }
}

fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Another service as the backend, called in-process as the API's own account (API Gateway
/// calls it with the integration's role; Nimbus does not evaluate roles). Its answer, errors
/// included, is the integration response's input, selected by status code.
async fn aws_service(
    inner: &Inner,
    account: &str,
    target: &ServiceTarget,
    request: http::Request<Bytes>,
    timeout: Duration,
) -> Result<Backend, Fail> {
    let Some(services) = inner.services.get() else {
        tracing::warn!("AWS service integration called but no service API is wired");
        return Err(Fail::Internal);
    };
    let (Some(account), Some(region)) =
        (types::AccountId::parse(account), types::Region::parse(&target.region))
    else {
        return Err(Fail::Internal);
    };
    let scope = types::Scope { account, region };
    let answer = match tokio::time::timeout(timeout, services.call(&scope, &target.service, request)).await {
        Ok(answer) => answer,
        Err(_) => return Err(Fail::Timeout),
    };
    let status = answer.status().as_u16();
    let headers = answer
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    Ok(Backend { status, headers, body: answer.into_body().to_vec(), selection: Some(status.to_string()) })
}

/// `{name}` and `{name+}` in an integration URI, from the mapped path parameters, else (for
/// HTTP_PROXY) the method's own path parameter of that name.
fn with_path_params(uri: &str, mapped: &[(String, String)], method: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        let bare = name.strip_suffix('+').unwrap_or(name);
        let value = mapped
            .iter()
            .rev()
            .find(|(k, _)| k == bare)
            .map(|(_, v)| v.as_str())
            .or_else(|| method.get(bare).map(String::as_str));
        match value {
            // Slashes stay: `{proxy}` usually carries a greedy parameter's whole path.
            Some(v) => out.push_str(&percent_encoding::utf8_percent_encode(v, PATH).to_string()),
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

const PATH: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

fn with_query(url: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return url.to_owned();
    }
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", q.finish())
}

/// HTTP_PROXY: the method request, as it came, to the URI; the answer, as it came, back.
async fn http_proxy(call: &Call<'_>, base: &apigw::Request) -> Result<Response, Fail> {
    let integration = call.integration;
    let mapped = map_request_parameters(call, base);
    let uri = with_stage_variables(integration.uri.as_deref().unwrap_or_default(), call.vars);
    let url = with_path_params(&uri, &mapped.path, call.params);
    let url = with_query(&with_raw_query(url, &call.info.raw_query), &mapped.querystring);
    pass_through(
        call.info,
        &url,
        integration.http_method.as_deref(),
        mapped.headers,
        integration.timeout_in_millis,
    )
    .await
}

/// An HTTP API `HTTP_PROXY` integration: the request to the integration URL (its `{name}`
/// path variables filled from the route's, `{proxy}` with a greedy one's whole path, the
/// query string appended), changed by the integration's request parameter mappings; the
/// backend's answer back as it came, changed by the response mappings for its status. A
/// backend that cannot be reached answers `500`, one that outlasts the integration's timeout
/// `503`, in HTTP APIs' words.
pub(super) async fn http_api_proxy(call: HttpApiCall<'_>) -> Response {
    let HttpApiCall { info, uri, method, params, vars, integration } = call;
    let lookup = |name: &str| request_value(info, params, vars, name);
    let url = with_path_params(uri, &[], params);
    let (url, headers) = match &integration.request_parameters {
        Some(map) if !map.is_empty() => {
            let mut out = mapping::Outgoing {
                headers: forwarded_headers(info),
                query: form_urlencoded::parse(info.raw_query.as_bytes()).into_owned().collect(),
                path: None,
            };
            mapping::apply_request(map, &mut out, &lookup);
            let mut url = match &out.path {
                Some(path) => with_path(&url, path),
                None => url,
            };
            if !out.query.is_empty() {
                let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&out.query).finish();
                url = with_raw_query(url, &query);
            }
            (url, out.headers)
        }
        _ => (with_raw_query(url, &info.raw_query), forwarded_headers(info)),
    };
    let timeout = Duration::from_millis(
        u64::try_from(integration.timeout_in_millis.clamp(50, 29_000)).unwrap_or(29_000),
    );
    let verb = match method {
        Some("ANY") | None => info.method.as_str(),
        Some(m) => m,
    };
    match send(verb, &url, &headers, Bytes::from(info.body.clone()), timeout).await {
        Ok(mut backend) => {
            if let Some(maps) = &integration.response_parameters {
                let (status, answer_headers, body) = (backend.status, backend.headers.clone(), &backend.body);
                let answer =
                    |name: &str| response_value(&answer_headers, body, name).or_else(|| lookup(name));
                backend.status = mapping::apply_response(maps, status, &mut backend.headers, &answer);
            }
            respond(backend.status, &backend.headers, backend.body)
        }
        Err(Fail::Timeout) => message(StatusCode::SERVICE_UNAVAILABLE, None, "Service Unavailable"),
        Err(_) => message(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal Server Error"),
    }
}

/// What an HTTP API `HTTP_PROXY` call needs: the request, the resolved integration URI and
/// method, the route's path parameters, the stage's variables and the integration (its maps).
pub(super) struct HttpApiCall<'a> {
    pub info: &'a RequestInfo,
    pub uri: &'a str,
    pub method: Option<&'a str>,
    pub params: &'a BTreeMap<String, String>,
    pub vars: &'a BTreeMap<String, String>,
    pub integration: &'a crate::model::Integration,
}

/// A request mapping value: `request.header.X` (values joined with commas), `request.querystring.X`,
/// `request.body[.path]` (JSONPath into the first 100 KB), `request.path[.X]`, `context.X`,
/// `stageVariables.X`.
pub(super) fn request_value(
    info: &RequestInfo,
    params: &BTreeMap<String, String>,
    vars: &BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    if let Some(h) = name.strip_prefix("request.header.") {
        let values: Vec<&str> =
            info.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(q) = name.strip_prefix("request.querystring.") {
        let values: Vec<String> = form_urlencoded::parse(info.raw_query.as_bytes())
            .filter(|(k, _)| k == q)
            .map(|(_, v)| v.into_owned())
            .collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if name == "request.body" {
        return Some(String::from_utf8_lossy(&info.body).into_owned());
    }
    if let Some(path) = name.strip_prefix("request.body.") {
        let body = &info.body[..info.body.len().min(100 << 10)];
        return json_select(body, path);
    }
    if name == "request.path" {
        return Some(info.path.clone());
    }
    if let Some(p) = name.strip_prefix("request.path.") {
        return params.get(p).cloned();
    }
    if let Some(v) = name.strip_prefix("stageVariables.") {
        return vars.get(v).cloned();
    }
    let value = match name.strip_prefix("context.")? {
        "requestId" | "extendedRequestId" => info.request_id.clone(),
        "apiId" => info.api_id.clone(),
        "accountId" => info.account.clone(),
        "stage" => info.stage.clone(),
        "httpMethod" => info.method.clone(),
        "path" => info.full_path.clone(),
        "domainName" => info.domain_name.clone(),
        "identity.sourceIp" => info.source_ip.clone(),
        "requestTimeEpoch" => info.time_epoch_ms.to_string(),
        _ => return None,
    };
    Some(value)
}

/// A response mapping value: `response.header.X`, `response.body[.path]`.
pub(super) fn response_value(headers: &[(String, String)], body: &[u8], name: &str) -> Option<String> {
    if let Some(h) = name.strip_prefix("response.header.") {
        let values: Vec<&str> =
            headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if name == "response.body" {
        return Some(String::from_utf8_lossy(body).into_owned());
    }
    json_select(body, name.strip_prefix("response.body.")?)
}

/// `path` (a JSONPath without its leading `$.`) in a JSON body: strings as they are, anything
/// else as JSON text.
fn json_select(body: &[u8], path: &str) -> Option<String> {
    let doc = vtl::Value::parse_json(std::str::from_utf8(body).ok()?).ok()?;
    let path = vtl::jsonpath::JsonPath::parse(&format!("$.{path}")).ok()?;
    match path.select(&doc)? {
        vtl::Value::String(s) => Some(s),
        other => Some(other.to_json_text()),
    }
}

/// `url` with its path (after the authority, before the query) replaced by `path`.
fn with_path(url: &str, path: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let path_at = url[start..].find('/').map_or(url.len(), |i| start + i);
    let query_at = url[path_at..].find('?').map_or(url.len(), |i| path_at + i);
    let slash = if path.starts_with('/') { "" } else { "/" };
    format!("{}{slash}{path}{}", &url[..path_at], &url[query_at..])
}

fn with_raw_query(mut url: String, raw_query: &str) -> String {
    if !raw_query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(raw_query);
    }
    url
}

/// The request's headers as a backend gets them: hop-by-hop ones left out.
fn forwarded_headers(info: &RequestInfo) -> Vec<(String, String)> {
    info.headers
        .iter()
        .filter(|(k, _)| {
            !["host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"]
                .iter()
                .any(|h| k.eq_ignore_ascii_case(h))
        })
        .cloned()
        .collect()
}

/// The request's headers (hop-by-hop ones left out, `extra` set over them), its body, and its
/// method unless the integration names one, to `url`; the answer as it came back.
async fn pass_through(
    info: &RequestInfo,
    url: &str,
    method: Option<&str>,
    extra: Vec<(String, String)>,
    timeout_ms: i64,
) -> Result<Response, Fail> {
    let mut headers = forwarded_headers(info);
    for (k, v) in extra {
        upsert(&mut headers, &k, v, true);
    }
    let verb = match method {
        Some("ANY") | None => info.method.as_str(),
        Some(m) => m,
    };
    let timeout = Duration::from_millis(u64::try_from(timeout_ms.clamp(50, 29_000)).unwrap_or(29_000));
    let backend = send(verb, url, &headers, Bytes::from(info.body.clone()), timeout).await?;
    Ok(respond(backend.status, &backend.headers, backend.body))
}

/// One HTTP/1.1 exchange with an `http://` or `https://` backend on a fresh connection.
async fn send(
    verb: &str,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Backend, Fail> {
    let method = http::Method::from_bytes(verb.as_bytes()).unwrap_or(http::Method::POST);
    let mut req = outbound::Request::new(method, url);
    for (k, v) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            req.headers.append(n, v);
        }
    }
    req.body = body;
    let limits = outbound::Limits { timeout, max_body: MAX_BACKEND_BODY };
    match outbound::Client::system().send(req, limits).await {
        Ok(answer) => {
            let status = answer.status.as_u16();
            let headers = answer
                .headers
                .iter()
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
                .collect();
            Ok(Backend { status, headers, body: answer.body.to_vec(), selection: Some(status.to_string()) })
        }
        Err(outbound::Error::TimedOut(_)) => Err(Fail::Timeout),
        Err(e) => {
            tracing::debug!(url, error = %e, "integration endpoint failed");
            Err(Fail::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn responses(list: &[(&str, Option<&str>)]) -> BTreeMap<String, Json> {
        list.iter()
            .map(|(s, p)| {
                let mut v = serde_json::json!({ "statusCode": s });
                if let Some(p) = p {
                    v["selectionPattern"] = Json::from(*p);
                }
                ((*s).to_owned(), v)
            })
            .collect()
    }

    #[test]
    fn selection_patterns_match_the_whole_key() {
        let r = responses(&[
            ("200", None),
            ("400", Some(".*Bad.*")),
            ("404", Some("Not found")),
            ("500", Some("5\\d\\d")),
        ]);
        let pick = |k: Option<&str>| {
            select_response(&r, k).and_then(|v| v["statusCode"].as_str()).map(str::to_owned)
        };
        assert_eq!(pick(Some("[Bad] input")).as_deref(), Some("400"));
        assert_eq!(pick(Some("Not found")).as_deref(), Some("404"));
        assert_eq!(pick(Some("Not found at all")).as_deref(), Some("200"));
        assert_eq!(pick(Some("503")).as_deref(), Some("500"));
        assert_eq!(pick(None).as_deref(), Some("200"));
        let no_default = responses(&[("400", Some("x"))]);
        assert!(select_response(&no_default, Some("y")).is_none());
    }

    #[test]
    fn path_parameters_fill_the_uri() {
        let method =
            BTreeMap::from([("proxy".to_owned(), "a/b c".to_owned()), ("id".to_owned(), "7".to_owned())]);
        let mapped = vec![("id".to_owned(), "x/y".to_owned())];
        assert_eq!(
            with_path_params("http://h:1/base/{proxy+}/{id}/{none}", &mapped, &method),
            "http://h:1/base/a/b%20c/x/y/{none}"
        );
        assert_eq!(with_query("http://h/p?a=1", &[("b".into(), "x y".into())]), "http://h/p?a=1&b=x+y");
    }

    #[test]
    fn request_parameter_sources() {
        let base = apigw::Request {
            body: r#"{"user": {"id": 42, "name": "Ann"}}"#.into(),
            params: Params {
                path: vec![("id".into(), "7".into())],
                querystring: vec![("q".into(), "1".into()), ("q".into(), "2".into())],
                header: vec![("X-Trace".into(), "t".into())],
            },
            context: ContextVars { request_id: "r-1".into(), ..Default::default() }.to_map(),
            stage_variables: vec![("env".into(), "dev".into())],
        };
        let get = |s: &str| request_source(s, &base);
        assert_eq!(get("method.request.path.id").as_deref(), Some("7"));
        assert_eq!(get("method.request.querystring.q").as_deref(), Some("2"));
        assert_eq!(get("method.request.multivaluequerystring.q").as_deref(), Some("1,2"));
        assert_eq!(get("method.request.header.x-trace").as_deref(), Some("t"));
        assert_eq!(get("'static'").as_deref(), Some("static"));
        assert_eq!(get("stageVariables.env").as_deref(), Some("dev"));
        assert_eq!(get("context.requestId").as_deref(), Some("r-1"));
        assert_eq!(get("method.request.body.user.name").as_deref(), Some("Ann"));
        assert_eq!(get("method.request.body.user").as_deref(), Some(r#"{"id":42,"name":"Ann"}"#));
        assert_eq!(get("method.request.path.nope"), None);
    }

    #[test]
    fn aws_service_uris_become_the_requests_an_sdk_sends() {
        let mapped = Mapped {
            headers: vec![],
            querystring: vec![("Message".into(), "hi there".into())],
            path: vec![("key".into(), "a/b.txt".into())],
        };
        let put = ServiceTarget::parse("arn:aws:apigateway:eu-west-1:dynamodb:action/PutItem").expect("uri");
        assert_eq!(put.region, "eu-west-1");
        let req =
            put.request("POST", &Mapped::default(), "application/json", b"{}".to_vec()).expect("request");
        assert_eq!(req.headers()["x-amz-target"], "DynamoDB_20120810.PutItem");
        assert_eq!(req.headers()["content-type"], "application/x-amz-json-1.0");
        assert_eq!(req.uri(), "/");

        let events =
            ServiceTarget::parse("arn:aws:apigateway:us-east-1:events:action/PutEvents").expect("uri");
        let req =
            events.request("POST", &Mapped::default(), "application/json", Vec::new()).expect("request");
        assert_eq!(req.headers()["x-amz-target"], "AWSEvents.PutEvents");
        assert_eq!(req.headers()["content-type"], "application/x-amz-json-1.1");

        // A query service: the action, the URI's own parameters and the mapped query string.
        let publish = ServiceTarget::parse(
            "arn:aws:apigateway:us-east-1:sns:action/Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At",
        )
        .expect("uri");
        let req = publish.request("POST", &mapped, "application/json", Vec::new()).expect("request");
        let query: Vec<(String, String)> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            query,
            [
                ("Action".to_owned(), "Publish".to_owned()),
                ("TopicArn".to_owned(), "arn:aws:sns:us-east-1:1:t".to_owned()),
                ("Message".to_owned(), "hi there".to_owned()),
            ]
        );

        // A path: S3 objects, with the mapped path parameters, and a bucket host form.
        let object = ServiceTarget::parse("arn:aws:apigateway:us-east-1:s3:path/bucket/{key}").expect("uri");
        let req = object.request("GET", &mapped, "application/json", Vec::new()).expect("request");
        assert_eq!(req.method(), "GET");
        assert!(req.uri().path().starts_with("/bucket/a"), "{}", req.uri());
        let hosted = ServiceTarget::parse("arn:aws:apigateway:us-east-1:bucket.s3:path/k").expect("uri");
        assert_eq!((hosted.service.as_str(), &hosted.kind), ("s3", &TargetKind::Path("k".into())));

        assert_eq!(ServiceTarget::parse("arn:aws:apigateway:us-east-1:dynamodb:action/"), None);
        assert_eq!(ServiceTarget::parse("arn:aws:apigateway:us-east-1:dynamodb:other/x"), None);
        assert_eq!(ServiceTarget::parse("arn:aws:lambda:us-east-1:1:function:f"), None);
    }

    #[test]
    fn sqs_integration_uris_name_a_queue() {
        assert_eq!(
            sqs_queue_arn("arn:aws:apigateway:eu-west-1:sqs:path/123456789012/orders").as_deref(),
            Some("arn:aws:sqs:eu-west-1:123456789012:orders")
        );
        assert_eq!(sqs_queue_arn("arn:aws:apigateway:eu-west-1:sqs:action/SendMessage"), None);
        assert_eq!(sqs_queue_arn("arn:aws:apigateway:eu-west-1:sqs:path/123456789012"), None);
        assert_eq!(sqs_queue_arn("arn:aws:apigateway:eu-west-1:dynamodb:action/PutItem"), None);
    }

    #[test]
    fn passthrough_behaviours() {
        let json = BTreeMap::from([("application/json".to_owned(), "{}".to_owned())]);
        let none = BTreeMap::new();
        let pick = |t: Option<&BTreeMap<String, String>>, p: &str, ct: &str| match request_template(t, p, ct)
        {
            Ok(Some(_)) => "template",
            Ok(None) => "passthrough",
            Err(_) => "415",
        };
        assert_eq!(pick(Some(&json), "WHEN_NO_MATCH", "Application/JSON"), "template");
        assert_eq!(pick(Some(&json), "WHEN_NO_MATCH", "text/plain"), "passthrough");
        assert_eq!(pick(Some(&json), "WHEN_NO_TEMPLATES", "text/plain"), "415");
        assert_eq!(pick(Some(&none), "WHEN_NO_TEMPLATES", "text/plain"), "passthrough");
        assert_eq!(pick(None, "WHEN_NO_TEMPLATES", "text/plain"), "passthrough");
        assert_eq!(pick(Some(&json), "NEVER", "text/plain"), "415");
        assert_eq!(pick(None, "NEVER", "application/json"), "415");
        assert_eq!(pick(Some(&json), "NEVER", "application/json"), "template");
    }

    #[test]
    fn media_types_drop_parameters() {
        assert_eq!(media_type(Some("Application/JSON; charset=utf-8")).as_deref(), Some("application/json"));
        assert_eq!(media_type(Some("")), None);
        assert_eq!(media_type(None), None);
    }
}
