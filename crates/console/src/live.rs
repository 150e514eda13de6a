//! Live updates for the page: `/_nimbus/api/events` is a server-sent event stream that says
//! what changed — an `invocation` (each one, with its function, request id, cold or warm and
//! outcome, as Lambda records it), `traces` (a new trace or hop), `graph` (resources or their
//! wiring changed) and `usage` (metered usage moved) — so the page refreshes only the view a
//! change concerns instead of polling everything. A stream lives at most [`MAX_LIFE`], and
//! ends when the server shuts down; `EventSource` reconnects by itself.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, header};
use protocol::{BoxError, StreamBody, StreamResponse};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use types::Scope;
use types::trace::{Outcome, Span};

use crate::Console;
use crate::api::Reader;

/// How often invocations and traces are looked at.
const TICK: Duration = Duration::from_secs(1);
/// The graph and the usage are compared every this many ticks: each look at the graph is a
/// round of list calls.
const SLOW_TICKS: u32 = 5;
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEPALIVE_TICKS: u32 = 15;
/// A stream ends after this long (the browser reconnects), so none is held forever.
const MAX_LIFE: Duration = Duration::from_secs(600);
/// Events that wait for a slow reader before the stream gives up on it.
const BUFFER: usize = 64;

/// Ends every open stream when the server shuts down, so none holds the drain up.
#[derive(Clone)]
pub struct Closer(Arc<watch::Sender<bool>>);

impl Default for Closer {
    fn default() -> Closer {
        Closer(Arc::new(watch::channel(false).0))
    }
}

impl Closer {
    pub fn close(&self) {
        self.0.send_replace(true);
    }

    fn closed(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// The body of an event stream: what the task following along sends.
struct Events(mpsc::Receiver<Bytes>);

impl http_body::Body for Events {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.0.poll_recv(cx) {
            Poll::Ready(Some(bytes)) => Poll::Ready(Some(Ok(http_body::Frame::data(bytes)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One event in the stream's wire form.
pub fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// An invocation as the stream announces it.
pub fn invocation(span: &Span) -> Value {
    let (request_id, cold) =
        span.execution.as_ref().map_or((None, None), |e| (Some(&e.request_id), Some(e.cold_start)));
    json!({
        "function": span.resource.rsplit(':').next().unwrap_or_default(),
        "arn": span.resource,
        "requestId": request_id,
        "cold": cold,
        "outcome": match &span.outcome { Outcome::Ok => "ok", Outcome::Error(_) => "error" },
        "durationUs": span.duration_us,
        "traceId": span.trace.to_string(),
    })
}

/// Starts following `scope` for one client.
pub fn stream(console: &Console, scope: Scope) -> StreamResponse {
    let (tx, rx) = mpsc::channel(BUFFER);
    let traces = console.traces.clone();
    let usage = console.usage.clone();
    let api = console.api.clone();
    let mut closed = console.closer.closed();
    tokio::spawn(async move {
        // Clients reconnect after a pause this long (milliseconds).
        if tx.send(Bytes::from_static(b"retry: 2000\n\n")).await.is_err() {
            return;
        }
        let (_, mut cursor) = traces.invocations_after(&scope, u64::MAX);
        let mut newest_trace = None;
        let (mut graph, mut metered) = (None, None);
        let mut tick = tokio::time::interval(TICK);
        let deadline = tokio::time::Instant::now() + MAX_LIFE;
        for n in 0u32.. {
            tokio::select! {
                _ = tick.tick() => {}
                _ = closed.changed() => return,
                () = tokio::time::sleep_until(deadline) => return,
            }
            let mut out: Vec<Bytes> = Vec::new();
            let (spans, next) = traces.invocations_after(&scope, cursor);
            cursor = next;
            out.extend(spans.iter().map(|s| event("invocation", &invocation(s))));
            let page = traces.recent(&scope, None, 1);
            let newest = page.traces.first().map(|t| (t.trace, t.spans));
            if newest != newest_trace {
                if newest_trace.is_some() || n > 0 {
                    out.push(event("traces", &json!({ "id": newest.map(|(id, _)| id.to_string()) })));
                }
                newest_trace = newest;
            }
            if n % SLOW_TICKS == 0 {
                let read = crate::graph::collect(Reader::new(api.as_ref(), &scope)).await.graph();
                let now = fingerprint(&serde_json::to_string(&read).unwrap_or_default());
                if graph.is_some_and(|g| g != now) {
                    out.push(event("graph", &json!({})));
                }
                graph = Some(now);
                // Counts and bytes, not byte-milliseconds: those grow by the second.
                let counts: Vec<_> = usage
                    .usage(&scope, 0, None)
                    .into_iter()
                    .map(|u| (u.kind, u.name, u.units, u.bytes))
                    .collect();
                let counted = fingerprint(&counts);
                if metered.is_some_and(|m| m != counted) {
                    out.push(event("usage", &json!({})));
                }
                metered = Some(counted);
            }
            if out.is_empty() && n % KEEPALIVE_TICKS == 0 {
                out.push(Bytes::from_static(b": keepalive\n\n"));
            }
            for bytes in out {
                if tx.send(bytes).await.is_err() {
                    return;
                }
            }
        }
    });
    let body: StreamBody = Box::pin(Events(rx));
    let mut resp = http::Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn fingerprint(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}
