//! The Lambda Runtime API (`2018-06-01`) of one execution environment, served by hyper on its
//! own `127.0.0.1:<ephemeral>` (some runtime clients cannot use a path prefix, so every
//! environment gets a host:port of its own).
//!
//! The server only translates HTTP into [`RuntimeMsg`]s for the environment and hands out the
//! [`Event`]s it is given; the environment decides what they mean. Routes:
//! `GET /runtime/invocation/next` (long poll), `POST /runtime/invocation/{id}/response`,
//! `POST /runtime/invocation/{id}/error`, `POST /runtime/init/error`. Error bodies are
//! accepted whatever their content type. A streamed response
//! (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked, error trailers) is forwarded
//! chunk by chunk to the invoker when the invocation came with a [`Piece`] sink (a bounded
//! channel: a slow reader slows the function's writes, a reader gone makes them go nowhere),
//! and buffered whole otherwise.
//!
//! Loopback ports are open to every local process: when functions run under users of their
//! own, a connection from any user but the function's is closed at once
//! (see [`crate::peer::tcp_peer_uid`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::outcome::{MAX_RESPONSE_BYTES, MAX_STREAMED_RESPONSE_BYTES};

/// A streamed response nobody reads as a stream (the Invoke API) is held in memory: 20 MB.
const MAX_BUFFERED_STREAM_BYTES: usize = 20 * 1024 * 1024;
/// Lambda streams the first 6 MB of a response uncapped, the rest at up to 2 MB/s.
const UNCAPPED_STREAM_BYTES: usize = 6 * 1024 * 1024;
const CAPPED_BYTES_PER_SEC: f64 = 2.0 * 1024.0 * 1024.0;
/// Error documents are small; anything longer is cut.
const MAX_ERROR_BYTES: usize = 1024 * 1024;
/// How much of an oversized body we read (and drop) so the client's connection stays usable.
const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;

const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
const ERROR_BODY: &str = "lambda-runtime-function-error-body";
const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";

/// An invocation as `/next` delivers it.
pub(crate) struct Event {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: i64,
    pub invoked_function_arn: String,
    pub trace_id: String,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    /// Where a streamed response goes as it is written; `None` buffers it.
    pub sink: Option<mpsc::Sender<Piece>>,
}

/// A streamed response on its way to the invoker: its head once, then its bytes as written.
#[derive(Debug)]
pub(crate) enum Piece {
    Head { content_type: Option<String> },
    Data(Bytes),
}

/// What the runtime told us.
#[derive(Debug)]
pub(crate) enum RuntimeMsg {
    /// The runtime called `/next`: it is ready for work (the first call ends the init phase).
    Next,
    /// `/next` returned this invocation to the runtime.
    Delivered {
        request_id: String,
        at: Instant,
    },
    Response {
        request_id: String,
        body: Bytes,
        content_type: Option<String>,
        streamed: bool,
    },
    /// A streamed response that failed midway (error trailers).
    StreamError {
        request_id: String,
        error_type: String,
        body: Bytes,
        /// What the function streamed before it failed.
        streamed: Bytes,
    },
    /// The response was larger than Lambda accepts (`limit` bytes); the runtime got a 413.
    TooLarge {
        request_id: String,
        limit: usize,
    },
    Error {
        request_id: String,
        error_type: Option<String>,
        body: Bytes,
    },
    InitError {
        error_type: Option<String>,
        body: Bytes,
    },
}

struct Shared {
    /// The function's own uid, when functions have users of their own: a connection from any
    /// other user (another function probing loopback ports) is closed unanswered.
    owner: Option<u32>,
    local: SocketAddr,
    events: tokio::sync::Mutex<mpsc::Receiver<Event>>,
    /// The invocation delivered and not yet answered.
    current: Mutex<Option<String>>,
    /// Where the current invocation's streamed response goes, if the invoker reads it as a stream.
    sink: Mutex<Option<mpsc::Sender<Piece>>>,
    msgs: mpsc::UnboundedSender<RuntimeMsg>,
}

/// A running Runtime API server. Dropping it stops the server and closes its connections.
pub(crate) struct ApiServer {
    pub addr: SocketAddr,
    pub events: mpsc::Sender<Event>,
    pub msgs: mpsc::UnboundedReceiver<RuntimeMsg>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiServer {
    /// Serves on a new loopback port; with `owner`, only that uid's processes are answered.
    pub(crate) async fn start(owner: Option<u32>) -> std::io::Result<ApiServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::channel(1);
        let (msgs_tx, msgs_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            owner,
            local: addr,
            events: tokio::sync::Mutex::new(events_rx),
            current: Mutex::new(None),
            sink: Mutex::new(None),
            msgs: msgs_tx,
        });
        let task = tokio::spawn(accept_loop(listener, shared));
        Ok(ApiServer { addr, events: events_tx, msgs: msgs_rx, task })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Connection tasks live in this set: aborting the accept loop drops it, which aborts them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                };
                if let Some(owner) = shared.owner {
                    match crate::peer::tcp_peer_uid(shared.local, peer) {
                        Ok(Some(uid)) if uid == owner => {}
                        found => {
                            tracing::warn!(
                                port = shared.local.port(), ?found, owner,
                                "refused a Runtime API connection from another user"
                            );
                            continue;
                        }
                    }
                }
                // Every exchange is a small request answered at once: Nagle's algorithm with the
                // client's delayed ACK would add ~40-90 ms to each.
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type Resp = http::Response<Full<Bytes>>;

async fn handle(shared: &Shared, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_owned();
    let Some(route) = path.strip_prefix("/2018-06-01/runtime/") else {
        return error(StatusCode::NOT_FOUND, "NotFound", "unknown path");
    };
    match (req.method(), route) {
        (&Method::GET, "invocation/next") => next(shared).await,
        (&Method::POST, "init/error") => {
            let error_type = header(req.headers(), ERROR_TYPE);
            let (body, _) = read_body(req.into_body(), MAX_ERROR_BYTES).await;
            let _ = shared.msgs.send(RuntimeMsg::InitError { error_type, body: body.unwrap_or_default() });
            accepted()
        }
        (&Method::POST, route) => {
            let Some(rest) = route.strip_prefix("invocation/") else {
                return error(StatusCode::NOT_FOUND, "NotFound", "unknown path");
            };
            if let Some(id) = rest.strip_suffix("/response") {
                let id = id.to_owned();
                response(shared, &id, req).await
            } else if let Some(id) = rest.strip_suffix("/error") {
                let id = id.to_owned();
                invocation_error(shared, &id, req).await
            } else {
                error(StatusCode::NOT_FOUND, "NotFound", "unknown path")
            }
        }
        _ => error(StatusCode::NOT_FOUND, "NotFound", "unknown path"),
    }
}

async fn next(shared: &Shared) -> Resp {
    let _ = shared.msgs.send(RuntimeMsg::Next);
    // One runtime asks at a time; a second concurrent poll waits its turn.
    let event = shared.events.lock().await.recv().await;
    let Some(event) = event else {
        // The environment is shutting down: tell the runtime to exit.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Shutdown",
            "the environment is shutting down",
        );
    };
    *shared.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(event.request_id.clone());
    *shared.sink.lock().unwrap_or_else(|e| e.into_inner()) = event.sink;
    let _ =
        shared.msgs.send(RuntimeMsg::Delivered { request_id: event.request_id.clone(), at: Instant::now() });
    let mut resp = http::Response::new(Full::new(event.payload));
    let h = resp.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    put(h, "lambda-runtime-aws-request-id", &event.request_id);
    put(h, "lambda-runtime-deadline-ms", &event.deadline_ms.to_string());
    put(h, "lambda-runtime-invoked-function-arn", &event.invoked_function_arn);
    put(h, "lambda-runtime-trace-id", &event.trace_id);
    if let Some(cc) = &event.client_context {
        put(h, "lambda-runtime-client-context", cc);
    }
    if let Some(ci) = &event.cognito_identity {
        put(h, "lambda-runtime-cognito-identity", ci);
    }
    resp
}

/// Takes the current invocation if `id` is it (so a second answer is refused).
fn take_current(shared: &Shared, id: &str) -> bool {
    let mut cur = shared.current.lock().unwrap_or_else(|e| e.into_inner());
    if cur.as_deref() == Some(id) {
        *cur = None;
        shared.sink.lock().unwrap_or_else(|e| e.into_inner()).take();
        true
    } else {
        false
    }
}

fn is_current(shared: &Shared, id: &str) -> bool {
    shared.current.lock().unwrap_or_else(|e| e.into_inner()).as_deref() == Some(id)
}

async fn response(shared: &Shared, id: &str, req: Request<Incoming>) -> Resp {
    if !is_current(shared, id) {
        return invalid_request_id();
    }
    let streamed = match header(req.headers(), RESPONSE_MODE).as_deref() {
        None => false,
        Some(m) if m.eq_ignore_ascii_case("streaming") => true,
        Some(_) => {
            take_current(shared, id);
            let body = Bytes::from_static(
                br#"{"errorType":"Runtime.InvalidResponseModeHeader","errorMessage":"Invalid Lambda-Runtime-Function-Response-Mode header"}"#,
            );
            let _ = shared.msgs.send(RuntimeMsg::Error {
                request_id: id.to_owned(),
                error_type: Some("Runtime.InvalidResponseModeHeader".to_owned()),
                body,
            });
            return error(StatusCode::BAD_REQUEST, "InvalidResponseModeHeader", "invalid response mode");
        }
    };
    let content_type = header(req.headers(), "content-type");
    let sink = if streamed { shared.sink.lock().unwrap_or_else(|e| e.into_inner()).take() } else { None };
    let (limit, body, trailers) = match sink {
        Some(sink) => {
            let limit = MAX_STREAMED_RESPONSE_BYTES;
            match forward(req.into_body(), sink, content_type.clone(), limit).await {
                Forwarded::Done(trailers) => (limit, Some(Bytes::new()), trailers),
                Forwarded::TooLarge => (limit, None, None),
                // The runtime is gone (killed at its deadline, crashed): the environment
                // sees that on its own and ends the invocation.
                Forwarded::Broken => {
                    return error(StatusCode::BAD_REQUEST, "InvalidRequest", "incomplete body");
                }
            }
        }
        None => {
            let limit = if streamed { MAX_BUFFERED_STREAM_BYTES } else { MAX_RESPONSE_BYTES };
            let (body, trailers) = read_body(req.into_body(), limit).await;
            (limit, body, trailers)
        }
    };
    if !take_current(shared, id) {
        return invalid_request_id();
    }
    let Some(body) = body else {
        let _ = shared.msgs.send(RuntimeMsg::TooLarge { request_id: id.to_owned(), limit });
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
        );
    };
    if let Some(error_type) = trailers.as_ref().and_then(|t| header(t, ERROR_TYPE)) {
        let encoded = trailers.as_ref().and_then(|t| header(t, ERROR_BODY)).unwrap_or_default();
        let error_body = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map(Bytes::from)
            .unwrap_or_else(|_| Bytes::from(encoded));
        let _ = shared.msgs.send(RuntimeMsg::StreamError {
            request_id: id.to_owned(),
            error_type,
            body: error_body,
            streamed: body,
        });
        return accepted();
    }
    let _ =
        shared.msgs.send(RuntimeMsg::Response { request_id: id.to_owned(), body, content_type, streamed });
    accepted()
}

async fn invocation_error(shared: &Shared, id: &str, req: Request<Incoming>) -> Resp {
    if !is_current(shared, id) {
        return invalid_request_id();
    }
    let error_type = header(req.headers(), ERROR_TYPE);
    let (body, _) = read_body(req.into_body(), MAX_ERROR_BYTES).await;
    if !take_current(shared, id) {
        return invalid_request_id();
    }
    let _ = shared.msgs.send(RuntimeMsg::Error {
        request_id: id.to_owned(),
        error_type,
        body: body.unwrap_or_default(),
    });
    accepted()
}

enum Forwarded {
    /// The whole body went (or, its reader gone, was dropped); the trailers, if any.
    Done(Option<HeaderMap>),
    TooLarge,
    /// The connection broke before the body ended.
    Broken,
}

/// Passes a streamed body on as it arrives, at Lambda's pace (uncapped, then capped), up to
/// `limit` bytes. When the reader is gone the rest is read and dropped, so the function's
/// writes never wait on a client that left.
async fn forward(
    mut body: Incoming,
    sink: mpsc::Sender<Piece>,
    content_type: Option<String>,
    limit: usize,
) -> Forwarded {
    let mut sink = sink.send(Piece::Head { content_type }).await.is_ok().then_some(sink);
    let mut size = 0usize;
    let mut capped_since: Option<Instant> = None;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Forwarded::Broken };
        match frame.into_data() {
            Ok(data) => {
                size += data.len();
                if size > limit {
                    return Forwarded::TooLarge;
                }
                if let Some(wait) = pace(size, &mut capped_since) {
                    tokio::time::sleep(wait).await;
                }
                if let Some(s) = &sink
                    && s.send(Piece::Data(data)).await.is_err()
                {
                    sink = None;
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    Forwarded::Done(trailers)
}

/// How long to hold a chunk back so that, past the uncapped first bytes, the stream keeps
/// under the capped rate; `capped_since` is when the stream went past them.
fn pace(sent: usize, capped_since: &mut Option<Instant>) -> Option<std::time::Duration> {
    let over = sent.checked_sub(UNCAPPED_STREAM_BYTES).filter(|o| *o > 0)?;
    let since = *capped_since.get_or_insert_with(Instant::now);
    let due = std::time::Duration::from_secs_f64(over as f64 / CAPPED_BYTES_PER_SEC);
    due.checked_sub(since.elapsed())
}

/// Reads a body up to `limit` bytes. Over the limit the rest is read and dropped (up to a bound)
/// so the connection stays usable, and the body is `None`. Trailers are returned when present.
async fn read_body(mut body: Incoming, limit: usize) -> (Option<Bytes>, Option<HeaderMap>) {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut size = 0usize;
    let mut over = false;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        match frame.into_data() {
            Ok(data) => {
                size += data.len();
                if size > limit {
                    over = true;
                    chunks.clear();
                    if size > limit + MAX_DRAIN_BYTES {
                        break;
                    }
                } else {
                    chunks.push(data);
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    if over {
        return (None, trailers);
    }
    let body = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut all = BytesMut::with_capacity(size);
            for c in chunks {
                all.extend_from_slice(&c);
            }
            all.freeze()
        }
    };
    (Some(body), trailers)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn accepted() -> Resp {
    json(StatusCode::ACCEPTED, Bytes::from_static(br#"{"status":"OK"}"#))
}

fn invalid_request_id() -> Resp {
    error(StatusCode::BAD_REQUEST, "InvalidRequestID", "Invalid request ID")
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Resp {
    let body = format!(
        r#"{{"errorMessage":{},"errorType":{}}}"#,
        crate::outcome::json_string(message),
        crate::outcome::json_string(error_type)
    );
    json(status, Bytes::from(body))
}

fn json(status: StatusCode, body: Bytes) -> Resp {
    let mut resp = http::Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_paced_only_past_the_uncapped_bytes() {
        let mut since = None;
        assert_eq!(pace(UNCAPPED_STREAM_BYTES, &mut since), None);
        assert!(since.is_none());
        // 2 MB past the uncapped part, all at once: about a second's wait at 2 MB/s.
        let wait = pace(UNCAPPED_STREAM_BYTES + 2 * 1024 * 1024, &mut since).expect("a wait");
        assert!(wait > std::time::Duration::from_millis(900) && wait <= std::time::Duration::from_secs(1));
        // Once that much time has passed, no more wait for the same bytes.
        since = since.map(|s| s - std::time::Duration::from_secs(1));
        assert_eq!(pace(UNCAPPED_STREAM_BYTES + 2 * 1024 * 1024, &mut since), None);
    }
}
