//! The Nimbus web console at `/_nimbus/`: a single page (hand-written HTML, CSS and JS, embedded
//! in the binary) and its JSON API under `/_nimbus/api/` — the architecture graph, invocations
//! per function and what the traffic would cost on AWS. It reads resources and logs through
//! the services' public APIs ([`ports::ServiceApi`]) as the tenant it is asked about, so it
//! shows exactly what an SDK would see and depends on no service; invocations, traces and
//! usage, which no AWS API serves, through the `ports` readers `server` wires to its stores.
//!
//! Start at [`Console`], then `graph.rs` and `invocations.rs`.

pub mod api;
pub mod coldstarts;
pub mod cost;
mod error;
pub mod graph;
pub mod invocations;
pub mod live;
pub mod traces;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use ports::{
    FunctionSummary, InvocationReader, NoInvocations, NoTraces, NoUsage, ServiceApi, TraceReader, UsageReader,
};
use protocol::{Answer, AwsService, BoxFuture, Protocol, RequestContext};
use serde_json::{Value, json};
use types::trace::TraceId;
use types::{AccountId, Region, Scope};

pub use error::Error;

use crate::api::Reader;
use crate::cost::Prices;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// Invocations listed per page at most.
const MAX_LIMIT: usize = 1000;
/// Traces listed per page at most.
const MAX_TRACES: usize = 200;

/// One console request, parsed.
#[derive(Debug, Clone, PartialEq)]
enum Operation {
    /// `/_nimbus` without the slash: relative asset URLs need it.
    Redirect,
    Asset {
        body: &'static str,
        content_type: &'static str,
    },
    Graph(Scope),
    Functions {
        scope: Scope,
        window: Window,
    },
    Invocations {
        scope: Scope,
        function: String,
        window: Window,
        after: Option<invocations::Cursor>,
        limit: usize,
    },
    ColdStarts {
        scope: Scope,
        window: Window,
    },
    Cost {
        scope: Scope,
        window: Window,
    },
    Traces {
        scope: Scope,
        after: Option<u64>,
        limit: usize,
    },
    Trace {
        scope: Scope,
        id: TraceId,
    },
    /// The live event stream (see `live.rs`).
    Events(Scope),
}

/// A time window in epoch milliseconds: `since` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    since: i64,
    until: Option<i64>,
}

/// The console, served by the gateway for `/_nimbus/...` (except its health endpoint).
pub struct Console {
    api: Arc<dyn ServiceApi>,
    traces: Arc<dyn TraceReader>,
    usage: Arc<dyn UsageReader>,
    invocations: Arc<dyn InvocationReader>,
    closer: live::Closer,
}

impl Console {
    pub fn new(api: Arc<dyn ServiceApi>) -> Console {
        Console {
            api,
            traces: Arc::new(NoTraces),
            usage: Arc::new(NoUsage),
            invocations: Arc::new(NoInvocations),
            closer: live::Closer::default(),
        }
    }

    /// What ends the open event streams (at shutdown, before requests are drained).
    pub fn closer(&self) -> live::Closer {
        self.closer.clone()
    }

    /// Prices what the usage meter counted (requests, request units, events, stored bytes).
    pub fn with_usage(mut self, usage: Arc<dyn UsageReader>) -> Console {
        self.usage = usage;
        self
    }

    /// Lists, analyses and prices the invocations Lambda recorded.
    pub fn with_invocations(mut self, invocations: Arc<dyn InvocationReader>) -> Console {
        self.invocations = invocations;
        self
    }

    /// Shows the traces Nimbus recorded (they are not behind any service's API).
    pub fn with_traces(mut self, traces: Arc<dyn TraceReader>) -> Console {
        self.traces = traces;
        self
    }

    async fn act(&self, op: Operation) -> Result<http::Response<Bytes>, Error> {
        match op {
            Operation::Redirect => {
                let mut resp = http::Response::new(Bytes::new());
                *resp.status_mut() = StatusCode::FOUND;
                resp.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/_nimbus/"));
                Ok(resp)
            }
            Operation::Asset { body, content_type } => {
                let mut resp = http::Response::new(Bytes::from_static(body.as_bytes()));
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                Ok(resp)
            }
            Operation::Graph(scope) => {
                let mut inventory = graph::collect(Reader::new(self.api.as_ref(), &scope)).await;
                traces::observed_writes(self.traces.as_ref(), &scope, &mut inventory);
                json_ok(&inventory.graph())
            }
            Operation::Functions { scope, window } => self.functions(&scope, window).await,
            Operation::Invocations { scope, function, window, after, limit } => {
                let page = self.invocations.page(
                    &scope,
                    &function,
                    window.since,
                    window.until,
                    after.as_ref().map(invocations::Cursor::to_port).as_ref(),
                    limit,
                );
                let total =
                    self.invocations.summary(&scope, &function, window.since, window.until).invocations;
                let lines =
                    invocations::read_page_logs(Reader::new(self.api.as_ref(), &scope), &page.invocations)
                        .await?;
                let mut list: Vec<invocations::Invocation> =
                    page.invocations.iter().map(invocations::Invocation::of_record).collect();
                invocations::attach_logs(&mut list, &lines);
                let next = page.next.as_ref().map(invocations::Cursor::of);
                json_ok(&json!({ "function": function, "total": total, "invocations": list, "next": next }))
            }
            Operation::ColdStarts { scope, window } => self.cold_starts(&scope, window).await,
            Operation::Cost { scope, window } => self.cost(&scope, window).await,
            Operation::Traces { scope, after, limit } => {
                json_ok(&traces::page(&self.traces.recent(&scope, after, limit)))
            }
            Operation::Trace { scope, id } => match self.traces.spans(&scope, id) {
                Some(spans) => json_ok(&traces::waterfall(&spans)),
                None => Err(Error::NotFound(format!("trace {id} (it may have been dropped to make room)"))),
            },
            Operation::Events(_) => {
                Err(Error::BadRequest("the event stream is only served to streaming clients".to_owned()))
            }
        }
    }

    /// Every function of the tenant with its configuration: (name, architecture, raw entry).
    async fn list_functions(&self, scope: &Scope) -> Result<Vec<(String, String, Value)>, Error> {
        let reader = Reader::new(self.api.as_ref(), scope);
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let path = match &marker {
                Some(m) => format!("/2015-03-31/functions/?Marker={}", api::enc(m)),
                None => "/2015-03-31/functions/".to_owned(),
            };
            let page = reader.get_json("lambda", &path).await?;
            for f in page["Functions"].as_array().into_iter().flatten() {
                if let Some(name) = f["FunctionName"].as_str() {
                    let arch = f["Architectures"][0].as_str().unwrap_or("x86_64").to_owned();
                    out.push((name.to_owned(), arch, f.clone()));
                }
            }
            marker = page["NextMarker"].as_str().filter(|m| !m.is_empty()).map(str::to_owned);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every function of the tenant with the summary of its invocations in the window (empty
    /// for one that has none), and whether the summaries are complete.
    async fn with_summaries(
        &self,
        scope: &Scope,
        window: Window,
    ) -> Result<(Vec<(String, String, Value, FunctionSummary)>, bool), Error> {
        let functions = self.list_functions(scope).await?;
        let summaries = self.invocations.summaries(scope, window.since, window.until);
        let mut by_name: std::collections::HashMap<String, FunctionSummary> =
            summaries.functions.into_iter().collect();
        let out = functions
            .into_iter()
            .map(|(name, arch, raw)| {
                let summary = by_name.remove(&name).unwrap_or_default();
                (name, arch, raw, summary)
            })
            .collect();
        Ok((out, summaries.complete))
    }

    async fn functions(&self, scope: &Scope, window: Window) -> Result<http::Response<Bytes>, Error> {
        let (all, complete) = self.with_summaries(scope, window).await?;
        let functions: Vec<Value> = all
            .into_iter()
            .map(|(name, arch, raw, s)| {
                let avg = |sum_x100: u64, n: u64| {
                    if n == 0 { Value::Null } else { json!(sum_x100 as f64 / 100.0 / n as f64) }
                };
                json!({
                    "name": name,
                    "arn": raw["FunctionArn"],
                    "runtime": raw["Runtime"],
                    "memorySize": raw["MemorySize"],
                    "architecture": arch,
                    "invocations": s.invocations,
                    "coldStarts": s.cold_starts,
                    "errors": s.errors,
                    "timeouts": s.timeouts,
                    "avgDurationMs": avg(s.duration_ms_x100, s.invocations),
                    "avgInitDurationMs": avg(s.init_ms_x100, s.cold_starts),
                    "lastInvokedMs": s.last_started_ms,
                })
            })
            .collect();
        json_ok(&json!({
            "since": window.since,
            "until": window.until,
            "complete": complete,
            "functions": functions,
        }))
    }

    async fn cold_starts(&self, scope: &Scope, window: Window) -> Result<http::Response<Bytes>, Error> {
        let prices = Prices::for_region(scope.region.as_str()).map_err(Error::Internal)?;
        let (all, complete) = self.with_summaries(scope, window).await?;
        let now = now_ms();
        let functions: Vec<coldstarts::ColdStarts> = all
            .iter()
            .map(|(name, arch, raw, summary)| {
                // "All recorded" spans from the first invocation seen.
                let start =
                    if window.since > 0 { window.since } else { summary.first_started_ms.unwrap_or(now) };
                let window_ms = window.until.unwrap_or(now).min(now) - start;
                let memory = raw["MemorySize"].as_u64().and_then(|m| u32::try_from(m).ok()).unwrap_or(128);
                coldstarts::analyse(&prices, name, arch, memory, summary, window_ms)
            })
            .collect();
        json_ok(&json!({
            "since": window.since,
            "until": window.until,
            "complete": complete,
            "prices": prices.lambda,
            "functions": functions,
        }))
    }

    async fn cost(&self, scope: &Scope, window: Window) -> Result<http::Response<Bytes>, Error> {
        let prices = Prices::for_region(scope.region.as_str()).map_err(Error::Internal)?;
        let (all, complete) = self.with_summaries(scope, window).await?;
        let functions = all
            .iter()
            .map(|(name, arch, _, summary)| cost::function_cost(&prices, name, arch, summary))
            .collect();
        let usage = self.usage.usage(scope, window.since, window.until);
        let mut bill =
            serde_json::to_value(cost::report(prices, window.since, window.until, functions, &usage))
                .map_err(Error::internal)?;
        bill["complete"] = json!(complete);
        json_ok(&bill)
    }
}

impl AwsService for Console {
    fn signing_name(&self) -> &'static str {
        "console"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn answer(&self, ctx: RequestContext, req: protocol::Request) -> BoxFuture<'_, Answer> {
        Box::pin(async move {
            match parse(req.method(), req.uri()) {
                Ok(Operation::Events(scope)) => Answer::Streamed(live::stream(self, scope)),
                _ => Answer::Whole(self.call(ctx, req).await),
            }
        })
    }

    fn call(&self, ctx: RequestContext, req: protocol::Request) -> BoxFuture<'_, protocol::Response> {
        Box::pin(async move {
            let result = match parse(req.method(), req.uri()) {
                Ok(op) => self.act(op).await,
                Err(e) => Err(e),
            };
            let mut resp = result.unwrap_or_else(|e| {
                let mut resp = http::Response::new(Bytes::from(e.body().to_string()));
                *resp.status_mut() = e.status();
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                resp
            });
            let headers = resp.headers_mut();
            // Live data: the page polls, and must never see a cached answer.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            if let Ok(v) = HeaderValue::from_str(ctx.request_id.as_str()) {
                headers.insert("x-amzn-requestid", v);
            }
            resp
        })
    }
}

fn json_ok(value: &impl serde::Serialize) -> Result<http::Response<Bytes>, Error> {
    let body = serde_json::to_vec(value).map_err(Error::internal)?;
    let mut resp = http::Response::new(Bytes::from(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// Reads the path and query into an [`Operation`].
fn parse(method: &Method, uri: &http::Uri) -> Result<Operation, Error> {
    let path = uri.path();
    if method != Method::GET && method != Method::HEAD {
        return Err(Error::BadRequest(format!("the console only answers GET, not {method}")));
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let asset = |body, content_type| Ok(Operation::Asset { body, content_type });
    match path {
        "/_nimbus" => return Ok(Operation::Redirect),
        "/_nimbus/" | "/_nimbus/index.html" => return asset(INDEX_HTML, "text/html; charset=utf-8"),
        "/_nimbus/app.js" => return asset(APP_JS, "text/javascript; charset=utf-8"),
        "/_nimbus/app.css" => return asset(APP_CSS, "text/css; charset=utf-8"),
        _ => {}
    }
    let Some(api) = path.strip_prefix("/_nimbus/api/") else {
        return Err(Error::NotFound(path.to_owned()));
    };
    let scope = scope(param("account"), param("region"))?;
    let window = || -> Result<Window, Error> {
        let since = millis(param("since"), "since")?.unwrap_or(0);
        let until = millis(param("until"), "until")?;
        Ok(Window { since, until })
    };
    match api {
        "graph" => Ok(Operation::Graph(scope)),
        "functions" => Ok(Operation::Functions { scope, window: window()? }),
        "cost" => Ok(Operation::Cost { scope, window: window()? }),
        "coldstarts" => Ok(Operation::ColdStarts { scope, window: window()? }),
        "events" => Ok(Operation::Events(scope)),
        "invocations" => {
            let function = param("function")
                .filter(|f| !f.is_empty() && f.len() <= 140)
                .ok_or_else(|| Error::BadRequest("invocations needs ?function=NAME".to_owned()))?
                .to_owned();
            let limit = limit(param("limit"), 100, MAX_LIMIT)?;
            let after = match param("after").filter(|a| !a.is_empty()) {
                None => None,
                Some(a) => Some(
                    invocations::Cursor::parse(a)
                        .ok_or_else(|| Error::BadRequest("after must be a page's next".to_owned()))?,
                ),
            };
            Ok(Operation::Invocations { scope, function, window: window()?, after, limit })
        }
        "traces" => {
            let after = match param("after").filter(|a| !a.is_empty()) {
                None => None,
                Some(a) => Some(
                    a.parse::<u64>()
                        .map_err(|_| Error::BadRequest("after must be a page's next".to_owned()))?,
                ),
            };
            let limit = limit(param("limit"), 50, MAX_TRACES)?;
            Ok(Operation::Traces { scope, after, limit })
        }
        _ => match api.strip_prefix("traces/") {
            Some(id) => {
                let id = TraceId::parse(id)
                    .ok_or_else(|| Error::BadRequest(format!("'{id}' is not a trace id")))?;
                Ok(Operation::Trace { scope, id })
            }
            None => Err(Error::NotFound(path.to_owned())),
        },
    }
}

/// A `limit` parameter: `default` when absent, else 1 to `max`.
fn limit(v: Option<&str>, default: usize, max: usize) -> Result<usize, Error> {
    match v {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| Error::BadRequest(format!("limit must be 1 to {max}"))),
    }
}

fn scope(account: Option<&str>, region: Option<&str>) -> Result<Scope, Error> {
    let account = match account {
        None | Some("") => AccountId::default(),
        Some(a) => AccountId::parse(a)
            .ok_or_else(|| Error::BadRequest(format!("account must be a 12-digit account id, not '{a}'")))?,
    };
    let region = match region {
        None | Some("") => Region::default(),
        Some(r) => {
            Region::parse(r).ok_or_else(|| Error::BadRequest(format!("'{r}' is not a region name")))?
        }
    };
    Ok(Scope { account, region })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(v: Option<&str>, name: &str) -> Result<Option<i64>, Error> {
    v.filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::BadRequest(format!("{name} must be epoch milliseconds")))
        })
        .transpose()
}

#[cfg(test)]
mod tests;
