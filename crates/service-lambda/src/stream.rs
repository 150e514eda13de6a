//! InvokeWithResponseStream: the same synchronous invocation as Invoke, answered as an
//! `application/vnd.amazon.eventstream` body — `PayloadChunk` events carrying the response
//! bytes, then one `InvokeComplete` with the error (if any) and the log tail. A function that
//! streams (`awslambda.streamifyResponse`) has each chunk it writes sent as a `PayloadChunk`
//! while it runs (the body is a [`ChannelBody`] fed by a task that outlives a client who
//! leaves, so the invocation is always finished and accounted for); a buffered function's
//! response goes out in pieces once it has finished, as on Lambda.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, StatusCode};
use protocol::{Answer, BoxError, RequestContext, Response, StreamBody, StreamResponse, rest::json_response};
use runtime::{InvokeOutcome, InvokeResult};
use tokio::sync::mpsc;

use crate::Inner;
use crate::error::Error;
use crate::invoke::{MAX_SYNC_PAYLOAD, Started, Traced, check_payload, resolve, run_streaming};
use crate::names::function_not_found;
use crate::operation::{InvocationType, InvokeInput, Target};

/// The largest `PayloadChunk` sent; bigger responses are split.
const CHUNK: usize = 64 * 1024;

/// `X-Amz-Log-Result` / `LogResult` carry the last 4 KB of the invocation's log.
const LOG_TAIL_BYTES: usize = 4096;

/// Header value type 7 of the event-stream encoding: a UTF-8 string.
const STRING_VALUE: u8 = 7;

/// One event-stream message: prelude (total and header lengths, their CRC), headers, payload,
/// and the CRC of all of it.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut encoded_headers = Vec::new();
    for (name, value) in headers {
        // Names and values here are short constants of this module.
        encoded_headers.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        encoded_headers.extend_from_slice(name.as_bytes());
        encoded_headers.push(STRING_VALUE);
        encoded_headers.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        encoded_headers.extend_from_slice(value.as_bytes());
    }
    let total = 12 + encoded_headers.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(encoded_headers.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&encoded_headers);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Vec<u8> {
    frame(
        &[(":event-type", event_type), (":content-type", content_type), (":message-type", "event")],
        payload,
    )
}

/// `PayloadChunk` events carrying `bytes`.
fn payload_chunks(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in bytes.chunks(CHUNK) {
        out.extend(event("PayloadChunk", "application/octet-stream", piece));
    }
    out
}

/// The `InvokeComplete` event: the error, if any, and the log tail.
fn complete_event(outcome: &InvokeOutcome, tail: bool) -> Vec<u8> {
    let mut complete = serde_json::Map::new();
    if let InvokeResult::Error(e) = &outcome.result {
        complete.insert("ErrorCode".into(), e.error_type.clone().into());
        let details = e.message().unwrap_or_else(|| String::from_utf8_lossy(&e.payload).into_owned());
        complete.insert("ErrorDetails".into(), details.into());
    }
    if tail {
        let text = outcome.log_tail(LOG_TAIL_BYTES);
        complete.insert("LogResult".into(), base64::engine::general_purpose::STANDARD.encode(text).into());
    }
    let complete = serde_json::Value::Object(complete).to_string();
    event("InvokeComplete", "application/json", complete.as_bytes())
}

/// The event stream of a finished invocation.
pub fn body_of(outcome: &InvokeOutcome, tail: bool) -> Vec<u8> {
    let mut out = match &outcome.result {
        InvokeResult::Response(r) => payload_chunks(&r.payload),
        InvokeResult::Error(e) => payload_chunks(&e.streamed),
    };
    out.extend(complete_event(outcome, tail));
    out
}

/// A response body fed by a task as it produces it; an `Err` cuts the response short.
pub(crate) struct ChannelBody(pub mpsc::Receiver<Result<Bytes, BoxError>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        self.get_mut().0.poll_recv(cx).map(|item| item.map(|r| r.map(http_body::Frame::data)))
    }
}

/// How many pieces wait for a slow client before the function's writes wait too.
pub(crate) const BODY_BUFFER: usize = 4;

/// A streamed response whose body is what `tx`'s other end is sent.
pub(crate) fn channel_response() -> (StreamResponse, mpsc::Sender<Result<Bytes, BoxError>>) {
    let (tx, rx) = mpsc::channel(BODY_BUFFER);
    let body: StreamBody = Box::pin(ChannelBody(rx));
    (http::Response::new(body), tx)
}

/// A streamed answer read whole, for callers of [`protocol::AwsService::call`].
pub(crate) async fn collect(resp: StreamResponse) -> Response {
    let (parts, mut body) = resp.into_parts();
    let mut out = BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Response::from_parts(parts, out.freeze())
}

pub async fn invoke_with_response_stream(
    svc: &Arc<Inner>,
    ctx: &RequestContext,
    t: Target,
    input: InvokeInput,
) -> Result<Answer, Error> {
    let scope = &ctx.scope;
    let f = svc
        .load(scope, &t.name)?
        .ok_or_else(|| function_not_found(scope, &t.name, t.qualifier.as_deref()))?;
    let resolved = resolve(scope, &f, t.qualifier.as_deref())?;
    let payload = check_payload(input.payload, MAX_SYNC_PAYLOAD)?;
    if input.invocation_type == InvocationType::DryRun {
        let mut resp =
            json_response(StatusCode::NO_CONTENT, &serde_json::Value::Null, ctx.request_id.as_str());
        *resp.body_mut() = Bytes::new();
        return Ok(Answer::Whole(resp));
    }
    let invocation = runtime::Invocation {
        request_id: ctx.request_id.as_str().to_owned(),
        payload,
        invoked_function_arn: Some(resolved.invoked_arn.clone()),
        client_context: input.client_context,
        cognito_identity: None,
        trace_id: None,
        tail_logs: input.tail,
    };
    ctx.trace.note("InvokeWithResponseStream", resolved.invoked_arn.clone());
    let traced = Traced::begin(Some(ctx.trace.downstream()), svc.now_ms());
    let tail = input.tail;
    let version = resolved.config.version.clone();
    let mut streaming = match run_streaming(svc, scope, &f.name, &resolved, invocation, traced).await? {
        Started::Finished(outcome) => {
            let mut resp = json_response(StatusCode::OK, &serde_json::Value::Null, ctx.request_id.as_str());
            *resp.body_mut() = Bytes::from(body_of(&outcome, tail));
            let content_type = match &outcome.result {
                InvokeResult::Response(r) => r.content_type.clone(),
                InvokeResult::Error(_) => None,
            };
            set_headers(resp.headers_mut(), content_type.as_deref(), &version);
            return Ok(Answer::Whole(resp));
        }
        Started::Streaming(s) => s,
    };
    let (mut resp, tx) = channel_response();
    set_headers(resp.headers_mut(), streaming.stream.content_type.as_deref(), &version);
    let svc = svc.clone();
    tokio::spawn(async move {
        let mut client = Some(tx);
        while let Some(chunk) = streaming.chunk().await {
            if let Some(c) = &client
                && c.send(Ok(Bytes::from(payload_chunks(&chunk)))).await.is_err()
            {
                // The client left: the function runs on, its writes dropped.
                client = None;
            }
        }
        let complete = match streaming.finish(&svc).await {
            Ok(outcome) => complete_event(&outcome, tail),
            Err(e) => {
                let doc =
                    serde_json::json!({ "ErrorCode": "ServiceException", "ErrorDetails": e.to_string() });
                event("InvokeComplete", "application/json", doc.to_string().as_bytes())
            }
        };
        if let Some(c) = client {
            let _ = c.send(Ok(Bytes::from(complete))).await;
        }
    });
    Ok(Answer::Streamed(resp))
}

fn set_headers(headers: &mut http::HeaderMap, content_type: Option<&str>, version: &str) {
    headers.insert(
        http::header::CONTENT_TYPE,
        content_type
            .and_then(|c| HeaderValue::from_str(c).ok())
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert("x-amz-executed-version", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one frame back: its headers and payload, checking lengths and both CRCs.
    fn unframe(bytes: &[u8]) -> (Vec<(String, String)>, Vec<u8>, usize) {
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let total = be32(&bytes[0..4]);
        let headers_len = be32(&bytes[4..8]);
        assert_eq!(be32(&bytes[8..12]) as u32, crc32fast::hash(&bytes[0..8]));
        assert_eq!(be32(&bytes[total - 4..total]) as u32, crc32fast::hash(&bytes[0..total - 4]));
        let mut headers = Vec::new();
        let mut at = 12;
        while at < 12 + headers_len {
            let n = bytes[at] as usize;
            let name = String::from_utf8(bytes[at + 1..at + 1 + n].to_vec()).unwrap_or_default();
            at += 1 + n;
            assert_eq!(bytes[at], STRING_VALUE);
            let len = u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]) as usize;
            let value = String::from_utf8(bytes[at + 3..at + 3 + len].to_vec()).unwrap_or_default();
            at += 3 + len;
            headers.push((name, value));
        }
        (headers, bytes[12 + headers_len..total - 4].to_vec(), total)
    }

    #[test]
    fn frames_carry_headers_payload_and_crcs() {
        let bytes = event("PayloadChunk", "application/octet-stream", b"hello");
        let (headers, payload, total) = unframe(&bytes);
        assert_eq!(total, bytes.len());
        assert_eq!(payload, b"hello");
        assert!(headers.contains(&(":event-type".to_owned(), "PayloadChunk".to_owned())));
        assert!(headers.contains(&(":message-type".to_owned(), "event".to_owned())));
    }
}
