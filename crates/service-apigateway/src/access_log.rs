//! Access logs: a stage with `accessLogSettings` writes one line per data-plane request — its
//! format with the `$context` variables substituted (unknown or empty ones as `-`, as API
//! Gateway writes them) — to its CloudWatch Logs group, shipped in batches in the background
//! through `ports::ServiceApi` (`CreateLogStream`, `PutLogEvents`), never on the request's path.
//! Execution logs: a REST stage whose method settings log at `INFO` or `ERROR` writes what each
//! request did to `API-Gateway-Execution-Logs_{apiId}/{stage}` (made when missing, as API Gateway
//! does), through the same shipper.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::{Request, RequestContext, Response};
use tokio::sync::mpsc;
use types::{AccountId, Region, Scope};

use crate::error::Error;
use crate::model::{AccessLogSettings, RestApi};
use crate::{Api, Inner};

/// The most lines one `PutLogEvents` carries, and how long lines wait to be batched.
const BATCH: usize = 1_000;
const LINGER: Duration = Duration::from_millis(200);

/// Checks settings as `UpdateStage` does: a format must name the request id.
pub(crate) fn check(settings: &AccessLogSettings) -> Result<(), Error> {
    if let Some(format) = &settings.format
        && !format.contains("$context.requestId")
        && !format.contains("$context.extendedRequestId")
    {
        return Err(Error::bad(
            "Access Log format must contain at least one of $context.requestId or $context.extendedRequestId",
        ));
    }
    if let Some(arn) = &settings.destination_arn
        && log_group(arn).is_none()
        && !arn.starts_with("arn:aws:firehose:")
    {
        return Err(Error::bad(format!("Invalid ARN specified in the request: {arn}")));
    }
    Ok(())
}

/// `(region, account, group)` of `arn:aws:logs:{region}:{account}:log-group:{group}[:*]`.
fn log_group(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:logs:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let group = rest.strip_prefix("log-group:")?;
    let group = group.strip_suffix(":*").unwrap_or(group);
    (!group.is_empty()).then_some((region, account, group))
}

/// What the data plane learned about the request on its way: the matched route or resource.
#[derive(Default)]
pub(crate) struct Route {
    pub route_key: String,
    pub resource_path: String,
}

/// A request being served on a stage that logs access.
pub(crate) struct Pending {
    settings: AccessLogSettings,
    stage: String,
    api_id: String,
    account: String,
    request_id: String,
    method: String,
    path: String,
    protocol: String,
    source_ip: String,
    user_agent: String,
    domain_name: String,
    started: Instant,
    epoch_ms: i64,
}

impl Pending {
    /// `Some` when the stage the request addresses logs access.
    pub fn start(
        inner: &Inner,
        ctx: &RequestContext,
        api: &Api,
        target: &crate::dataplane::Target,
        req: &Request,
    ) -> Option<Pending> {
        let first = target.path.trim_start_matches('/').split('/').next().unwrap_or_default();
        let (stage, settings, owner) = match api {
            Api::Http(api) => {
                let stage = api
                    .stages
                    .get(first)
                    .filter(|_| first != "$default")
                    .or_else(|| api.stages.get("$default"))?;
                (stage.stage_name.clone(), stage.access_log_settings.clone()?, &api.owner)
            }
            Api::Rest(api) => {
                let stage = api.stages.get(first)?;
                (stage.stage_name.clone(), stage.access_log_settings.clone()?, &api.owner)
            }
        };
        settings.destination_arn.as_ref().and(settings.format.as_ref())?;
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Some(Pending {
            settings,
            stage,
            api_id: target.api_id.clone(),
            account: owner.account.clone(),
            request_id: ctx.request_id.as_str().to_owned(),
            method: req.method().as_str().to_owned(),
            path: target.path.clone(),
            protocol: format!("{:?}", req.version()),
            source_ip: header("x-forwarded-for")
                .and_then(|v| v.split(',').next().map(|ip| ip.trim().to_owned()))
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            user_agent: header("user-agent").unwrap_or_default(),
            domain_name: target.domain_name.clone(),
            started: Instant::now(),
            epoch_ms: inner.now_ms(),
        })
    }

    /// Renders the line for `resp` and hands it to the shipper.
    pub fn finish(self, inner: &Inner, route: &Route, resp: &Response) {
        let status = resp.status().as_u16().to_string();
        let length = resp.body().len().to_string();
        let latency = self.started.elapsed().as_millis().to_string();
        let time = crate::dataplane::clf_time(self.epoch_ms);
        let epoch = self.epoch_ms.to_string();
        let (error_type, error_message) = crate::dataplane::error_of(resp).unwrap_or_default();
        let line =
            crate::dataplane::render_context(self.settings.format.as_deref().unwrap_or_default(), &|name| {
                let value = match name.strip_prefix("context.")? {
                    "requestId" | "extendedRequestId" => self.request_id.clone(),
                    "apiId" => self.api_id.clone(),
                    "accountId" => self.account.clone(),
                    "stage" => self.stage.clone(),
                    "httpMethod" => self.method.clone(),
                    "path" => self.path.clone(),
                    "resourcePath" => route.resource_path.clone(),
                    "routeKey" => route.route_key.clone(),
                    "protocol" => self.protocol.clone(),
                    "status" => status.clone(),
                    "responseLength" => length.clone(),
                    "responseLatency" | "integrationLatency" => latency.clone(),
                    "requestTime" => time.clone(),
                    "requestTimeEpoch" => epoch.clone(),
                    "identity.sourceIp" => self.source_ip.clone(),
                    "identity.userAgent" => self.user_agent.clone(),
                    "domainName" => self.domain_name.clone(),
                    "error.responseType" => error_type.to_owned(),
                    "error.message" => error_message.to_owned(),
                    _ => String::new(),
                };
                Some(if value.is_empty() { "-".to_owned() } else { value })
            });
        let Some((region, account, group)) = self.settings.destination_arn.as_deref().and_then(log_group)
        else {
            // Firehose destinations: nothing here reads them.
            return;
        };
        let (Some(account), Some(region)) = (AccountId::parse(account), Region::parse(region)) else {
            return;
        };
        inner.access_logs.send(
            inner,
            Line {
                scope: Scope { account, region },
                group: group.to_owned(),
                stream: format!("{}_{}", self.api_id, self.stage.trim_start_matches('$')),
                message: line,
                epoch_ms: self.epoch_ms,
                make_group: false,
            },
        );
    }
}

/// A REST API request on a stage that may write execution logs: what its lines need from the
/// request before it is consumed.
pub(crate) struct Execution {
    api_id: String,
    scope: Scope,
    stage: String,
    request_id: String,
    method: String,
    query: String,
    headers: Vec<(String, String)>,
    epoch_ms: i64,
}

impl Execution {
    /// `Some` when the REST stage the request addresses logs executions for some method.
    pub fn start(
        inner: &Inner,
        ctx: &RequestContext,
        api: &RestApi,
        target: &crate::dataplane::Target,
        req: &Request,
    ) -> Option<Execution> {
        let first = target.path.trim_start_matches('/').split('/').next().unwrap_or_default();
        let stage = api.stages.get(first)?;
        if stage.method_settings.values().all(|m| m.logging_level == "OFF") {
            return None;
        }
        let region = Region::parse(&api.owner.region)?;
        let account = AccountId::parse(&api.owner.account)?;
        Some(Execution {
            api_id: api.id.clone(),
            scope: Scope { account, region },
            stage: stage.stage_name.clone(),
            request_id: ctx.request_id.as_str().to_owned(),
            method: req.method().as_str().to_owned(),
            query: req.uri().query().unwrap_or_default().to_owned(),
            headers: req
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            epoch_ms: inner.now_ms(),
        })
    }

    /// Writes the request's lines at the level its method's setting (else the stage's `*/*`)
    /// asks: `INFO` every request's course, `ERROR` only failed ones; `dataTraceEnabled` adds
    /// the request's query string and headers and the response body.
    pub fn finish(self, inner: &Inner, api: &RestApi, route: &Route, resp: &Response) {
        let Some(stage) = api.stages.get(&self.stage) else { return };
        let key = crate::dataplane::method_setting_key(&route.resource_path, &self.method);
        let Some(setting) = stage.method_settings.get(&key).or_else(|| stage.method_settings.get("*/*"))
        else {
            return;
        };
        let status = resp.status().as_u16();
        let failed = status >= 400;
        let info = setting.logging_level == "INFO";
        let wanted = info || (setting.logging_level == "ERROR" && failed);
        if !wanted {
            return;
        }
        let mut lines = Vec::new();
        if info {
            lines.push(format!("Extended Request Id: {}", self.request_id));
            lines.push(format!("Starting execution for request: {}", self.request_id));
            lines.push(format!("HTTP Method: {}, Resource Path: {}", self.method, route.resource_path));
            if setting.data_trace_enabled {
                let query: BTreeMap<String, String> =
                    form_urlencoded::parse(self.query.as_bytes()).into_owned().collect();
                lines.push(format!("Method request query string: {}", brace(&query)));
                let headers: BTreeMap<String, String> = self.headers.iter().cloned().collect();
                lines.push(format!("Method request headers: {}", brace(&headers)));
            }
        }
        if let Some((kind, message)) = crate::dataplane::error_of(resp).filter(|_| failed) {
            lines.push(format!("Execution failed: {kind}: {message}"));
        }
        if info && setting.data_trace_enabled {
            lines.push(format!(
                "Method response body after transformations: {}",
                String::from_utf8_lossy(&resp.body()[..resp.body().len().min(1 << 10)])
            ));
        }
        if info && !failed {
            lines.push("Successfully completed execution".to_owned());
        }
        lines.push(format!("Method completed with status: {status}"));
        let group = format!("API-Gateway-Execution-Logs_{}/{}", self.api_id, self.stage);
        for line in lines {
            inner.access_logs.send(
                inner,
                Line {
                    scope: self.scope.clone(),
                    group: group.clone(),
                    stream: format!("{}-nimbus", self.stage),
                    message: format!("({}) {line}", self.request_id),
                    epoch_ms: self.epoch_ms,
                    make_group: true,
                },
            );
        }
    }
}

/// A map as API Gateway prints one in execution logs: `{a=1, b=2}`.
fn brace(map: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

struct Line {
    scope: Scope,
    group: String,
    stream: String,
    message: String,
    epoch_ms: i64,
    /// Execution logs' group is API Gateway's to make; an access log group is the user's.
    make_group: bool,
}

/// The background task that ships lines, started with the first one.
#[derive(Default)]
pub(crate) struct Shipper {
    tx: OnceLock<mpsc::UnboundedSender<Line>>,
}

impl Shipper {
    fn send(&self, inner: &Inner, line: Line) {
        let Some(api) = inner.services.get().cloned() else {
            tracing::debug!("access log line dropped: no service API is wired");
            return;
        };
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(ship(api, rx));
            tx
        });
        let _ = tx.send(line);
    }
}

async fn ship(api: Arc<dyn ports::ServiceApi>, mut rx: mpsc::UnboundedReceiver<Line>) {
    // The streams this task has made (account, group, stream); only this task touches them.
    let mut streams: HashSet<(String, String, String)> = HashSet::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(line)) => batch.push(line),
                _ => break,
            }
        }
        let mut by_stream: BTreeMap<(String, String, String, String), Vec<Line>> = BTreeMap::new();
        for line in batch {
            let key = (
                line.scope.account.as_str().to_owned(),
                line.scope.region.as_str().to_owned(),
                line.group.clone(),
                line.stream.clone(),
            );
            by_stream.entry(key).or_default().push(line);
        }
        for ((_, _, group, stream), lines) in by_stream {
            let scope = lines[0].scope.clone();
            let known = (scope.account.as_str().to_owned(), group.clone(), stream.clone());
            let events: Vec<serde_json::Value> = lines
                .iter()
                .map(|l| serde_json::json!({"timestamp": l.epoch_ms, "message": l.message}))
                .collect();
            let body =
                serde_json::json!({"logGroupName": group, "logStreamName": stream, "logEvents": events});
            // A stream made earlier may have gone with its group (deleted and created again
            // since): then it is made anew and the lines sent once more.
            let make_group = lines[0].make_group;
            for attempt in 0..2 {
                if !streams.contains(&known) {
                    if !create_stream(api.as_ref(), &scope, &group, &stream, make_group).await {
                        break;
                    }
                    streams.insert(known.clone());
                }
                let answer = api.call(&scope, "logs", logs_request("PutLogEvents", &body)).await;
                if answer.status().is_success() {
                    break;
                }
                let gone = String::from_utf8_lossy(answer.body()).contains("ResourceNotFoundException");
                if gone && attempt == 0 {
                    streams.remove(&known);
                    continue;
                }
                tracing::warn!(group, status = %answer.status(), "access log lines dropped");
                break;
            }
        }
    }
}

/// Makes the stream (or finds it made), and its group first when `make_group` and it is missing;
/// false when the group cannot take lines.
async fn create_stream(
    api: &dyn ports::ServiceApi,
    scope: &Scope,
    group: &str,
    stream: &str,
    make_group: bool,
) -> bool {
    let body = serde_json::json!({"logGroupName": group, "logStreamName": stream});
    let mut answer = api.call(scope, "logs", logs_request("CreateLogStream", &body)).await;
    if make_group && String::from_utf8_lossy(answer.body()).contains("ResourceNotFoundException") {
        let group_body = serde_json::json!({"logGroupName": group});
        api.call(scope, "logs", logs_request("CreateLogGroup", &group_body)).await;
        answer = api.call(scope, "logs", logs_request("CreateLogStream", &body)).await;
    }
    let exists = String::from_utf8_lossy(answer.body()).contains("ResourceAlreadyExistsException");
    if !answer.status().is_success() && !exists {
        tracing::warn!(group, status = %answer.status(), "access log group unusable; lines dropped");
        return false;
    }
    true
}

fn logs_request(action: &str, body: &serde_json::Value) -> http::Request<Bytes> {
    let mut request = http::Request::new(Bytes::from(body.to_string()));
    *request.method_mut() = http::Method::POST;
    let headers = request.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(target) = http::HeaderValue::from_str(&format!("Logs_20140328.{action}")) {
        headers.insert("x-amz-target", target);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_a_log_group_and_the_request_id() {
        let ok = |arn: &str, format: &str| {
            check(&AccessLogSettings { destination_arn: Some(arn.into()), format: Some(format.into()) })
        };
        assert!(
            ok(
                "arn:aws:logs:us-east-1:000000000000:log-group:api-access",
                "$context.requestId $context.status"
            )
            .is_ok()
        );
        assert!(
            ok(
                "arn:aws:logs:us-east-1:000000000000:log-group:api-access:*",
                "{\"id\":\"$context.extendedRequestId\"}"
            )
            .is_ok()
        );
        assert!(ok("arn:aws:logs:us-east-1:000000000000:log-group:api-access", "$context.status").is_err());
        assert!(ok("arn:aws:s3:::bucket", "$context.requestId").is_err());
        assert_eq!(
            log_group("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigw/access:*"),
            Some(("eu-west-1", "123456789012", "/aws/apigw/access"))
        );
    }
}
