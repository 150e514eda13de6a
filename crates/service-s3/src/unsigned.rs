//! Accepting any credentials (the default, without `--enforce-sigv4`): the request's signature
//! is removed before s3s sees it, since s3s verifies every signature it is shown and a local
//! client's secret is unknown. What the signature carried that S3 still needs survives: an
//! aws-chunked body (`STREAMING-…` payloads) is decoded here, chunk signatures ignored, and its
//! trailing headers (the SDKs' `x-amz-checksum-crc32`) are kept in a [`Trailers`] slot for the
//! operation to check.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures::Stream;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use protocol::{BoxError, StreamBody};

/// Query parameters of presigned URLs (SigV4 and SigV2).
const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Trailing headers of an aws-chunked body, filled in when the body has been read to its end.
#[derive(Clone, Debug, Default)]
pub struct Trailers(Arc<Mutex<Option<HeaderMap>>>);

impl Trailers {
    pub fn get(&self, name: &str) -> Option<String> {
        let guard = self.0.lock().ok()?;
        guard.as_ref()?.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    fn set(&self, map: HeaderMap) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some(map);
        }
    }
}

/// Removes the signature from `parts` and, for an aws-chunked body, wraps `body` in a decoder.
/// Returns the body to use and the slot its trailers will land in.
pub fn strip(parts: &mut http::request::Parts, body: StreamBody) -> (StreamBody, Option<Trailers>) {
    parts.headers.remove(http::header::AUTHORIZATION);
    if let Some(query) = parts.uri.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or_default();
                !PRESIGN_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
            })
            .collect();
        if kept.len() != query.split('&').count() {
            let path = parts.uri.path();
            let pq = if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) };
            let mut uri = http::uri::Parts::from(parts.uri.clone());
            if let Ok(pq) = pq.parse() {
                uri.path_and_query = Some(pq);
                if let Ok(u) = Uri::from_parts(uri) {
                    parts.uri = u;
                }
            }
        }
    }
    let sha = header(&parts.headers, "x-amz-content-sha256").unwrap_or_default();
    let encoding = header(&parts.headers, "content-encoding").unwrap_or_default();
    let chunked = sha.starts_with("STREAMING-") || encoding.split(',').any(|e| e.trim() == "aws-chunked");
    if !chunked {
        return (body, None);
    }
    // The body s3s sees is the decoded one: its length is the decoded length, and it is no
    // longer aws-chunked.
    if let Some(len) = parts.headers.get("x-amz-decoded-content-length").cloned() {
        parts.headers.insert(http::header::CONTENT_LENGTH, len);
    } else {
        parts.headers.remove(http::header::CONTENT_LENGTH);
    }
    let rest: Vec<&str> =
        encoding.split(',').map(str::trim).filter(|e| !e.is_empty() && *e != "aws-chunked").collect();
    if rest.is_empty() {
        parts.headers.remove(http::header::CONTENT_ENCODING);
    } else if let Ok(v) = HeaderValue::from_str(&rest.join(",")) {
        parts.headers.insert(http::header::CONTENT_ENCODING, v);
    }
    parts.headers.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    let trailers = Trailers::default();
    let decoded =
        Dechunk { inner: body, decoder: Decoder::default(), trailers: trailers.clone(), done: false };
    let body: StreamBody = Box::pin(http_body_util::StreamBody::new(decoded));
    (body, Some(trailers))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[derive(Debug, thiserror::Error)]
#[error("malformed aws-chunked body: {0}")]
pub struct ChunkError(&'static str);

#[derive(Debug, Default, PartialEq, Eq)]
enum State {
    /// Reading a `{hex-size}[;chunk-signature=…]\r\n` line.
    #[default]
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(u64),
    /// The `\r\n` after a chunk's data.
    DataEnd,
    /// After the zero-size chunk: trailer lines until an empty line.
    Trailers,
    Done,
}

/// The aws-chunked framing, sans-IO: bytes in with [`Decoder::push`], data out with
/// [`Decoder::next_data`], trailers collected on the way.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
    state: State,
    trailers: HeaderMap,
}

/// The longest chunk-size or trailer line accepted (a 64-hex signature fits many times over).
const MAX_LINE: usize = 4096;

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next piece of decoded data, `Ok(None)` when more input is needed (or the body is
    /// complete, see [`Decoder::is_done`]).
    pub fn next_data(&mut self) -> Result<Option<Bytes>, ChunkError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Data(left) => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let n = (left as usize).min(self.buf.len());
                    let data = self.buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = if left == 0 { State::DataEnd } else { State::Data(left) };
                    return Ok(Some(data));
                }
                State::DataEnd => {
                    if self.buf.len() < 2 {
                        return Ok(None);
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err(ChunkError("chunk data not followed by CRLF"));
                    }
                    self.buf.advance(2);
                    self.state = State::Size;
                }
                State::Size => {
                    let Some(line) = self.line()? else { return Ok(None) };
                    let size = line.split(|b| *b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(size)
                        .ok()
                        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                        .ok_or(ChunkError("bad chunk size"))?;
                    self.state = if size == 0 { State::Trailers } else { State::Data(size) };
                }
                State::Trailers => {
                    let Some(line) = self.line()? else { return Ok(None) };
                    if line.is_empty() {
                        self.state = State::Done;
                        continue;
                    }
                    let text = std::str::from_utf8(&line).map_err(|_| ChunkError("trailer is not UTF-8"))?;
                    let (name, value) = text.split_once(':').ok_or(ChunkError("trailer without ':'"))?;
                    let name = HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())
                        .map_err(|_| ChunkError("bad trailer name"))?;
                    let value =
                        HeaderValue::from_str(value.trim()).map_err(|_| ChunkError("bad trailer value"))?;
                    self.trailers.insert(name, value);
                }
            }
        }
    }

    /// Takes one CRLF-terminated line off the buffer.
    fn line(&mut self) -> Result<Option<Vec<u8>>, ChunkError> {
        match self.buf.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                let line = self.buf.split_to(i).to_vec();
                self.buf.advance(2);
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(ChunkError("line too long")),
            None => Ok(None),
        }
    }

    /// Whether the input ended at a point where the body is complete. Some clients stop right
    /// after the zero-size chunk's line, without the final empty line.
    pub fn is_done(&self) -> bool {
        self.state == State::Done || (self.state == State::Trailers && self.buf.is_empty())
    }

    pub fn take_trailers(&mut self) -> HeaderMap {
        std::mem::take(&mut self.trailers)
    }
}

/// A body decoded from aws-chunked as it streams in.
struct Dechunk {
    inner: StreamBody,
    decoder: Decoder,
    trailers: Trailers,
    done: bool,
}

impl Stream for Dechunk {
    type Item = Result<http_body::Frame<Bytes>, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.decoder.next_data() {
                Ok(Some(data)) => return Poll::Ready(Some(Ok(http_body::Frame::data(data)))),
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            }
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.decoder.push(&data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    if !this.decoder.is_done() {
                        return Poll::Ready(Some(Err(Box::new(ChunkError("body ended inside a chunk")))));
                    }
                    this.trailers.set(this.decoder.take_trailers());
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], step: usize) -> (Vec<u8>, HeaderMap, bool) {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for piece in input.chunks(step) {
            d.push(piece);
            while let Some(data) = d.next_data().expect("valid") {
                out.extend_from_slice(&data);
            }
        }
        let done = d.is_done();
        (out, d.take_trailers(), done)
    }

    #[test]
    fn decodes_signed_and_unsigned_framing_in_any_split() {
        let signed = format!(
            "5;chunk-signature={sig}\r\nhello\r\n6;chunk-signature={sig}\r\n world\r\n0;chunk-signature={sig}\r\n\r\n",
            sig = "a".repeat(64)
        );
        let unsigned = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        for step in [1, 2, 7, 1000] {
            let (out, _, done) = decode_all(signed.as_bytes(), step);
            assert_eq!(out, b"hello world");
            assert!(done);
            let (out, trailers, done) = decode_all(unsigned, step);
            assert_eq!(out, b"hello world");
            assert!(done);
            assert_eq!(trailers.get("x-amz-checksum-crc32").map(|v| v.as_bytes()), Some(&b"DUoRhQ=="[..]));
        }
    }

    #[test]
    fn truncated_and_malformed_bodies_are_refused() {
        let (_, _, done) = decode_all(b"5\r\nhel", 100);
        assert!(!done);
        let mut d = Decoder::default();
        d.push(b"zz\r\n");
        assert!(d.next_data().is_err());
        let mut d = Decoder::default();
        d.push(b"2\r\nabXY");
        assert_eq!(d.next_data().expect("data").as_deref(), Some(&b"ab"[..]));
        assert!(d.next_data().is_err());
    }

    #[test]
    fn strip_removes_signatures_and_unwraps_aws_chunked() {
        let req =
            http::Request::put("/b/k?X-Amz-Signature=abc&partNumber=2&X-Amz-Credential=x%2Fy&uploadId=u")
                .header("authorization", "AWS4-HMAC-SHA256 Credential=...")
                .header("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
                .header("content-encoding", "aws-chunked")
                .header("x-amz-decoded-content-length", "11")
                .header("content-length", "70")
                .body(())
                .expect("request");
        let (mut parts, ()) = req.into_parts();
        let body: StreamBody = Box::pin(http_body_util::StreamBody::new(futures::stream::empty::<
            Result<http_body::Frame<Bytes>, BoxError>,
        >()));
        let (_, trailers) = strip(&mut parts, body);
        assert!(trailers.is_some());
        assert_eq!(parts.uri.query(), Some("partNumber=2&uploadId=u"));
        assert!(!parts.headers.contains_key("authorization"));
        assert!(!parts.headers.contains_key("content-encoding"));
        assert_eq!(parts.headers["content-length"], "11");
    }
}
