//! The trait through which the gateway hands a request over without reading its body: services
//! whose bodies may be larger than memory (S3 objects) read and write them as streams.

use std::pin::Pin;

use bytes::Bytes;

use crate::{BoxFuture, RequestContext};

/// Any error a streamed body can fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A body read or written piece by piece: the request body as it arrives from the client, or a
/// response body produced while it is sent.
pub type StreamBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError> + Send + Sync + 'static>>;

/// A request whose body has not been read.
pub type StreamRequest = http::Request<StreamBody>;
/// A response whose body is produced while it is sent.
pub type StreamResponse = http::Response<StreamBody>;

/// A service that takes its request body as a stream and answers with one. The gateway still
/// routes, resolves the tenant, assigns the request id, opens the span and isolates panics; it
/// neither limits nor buffers the body, and it does not verify signatures (a streaming service
/// verifies its own, since a body's hash is known only once the body has been read).
pub trait StreamingService: Send + Sync {
    /// The SigV4 signing name the gateway routes by (`s3`).
    fn signing_name(&self) -> &'static str;

    /// Handles one request. Must not panic on anything the client sent.
    fn call(&self, ctx: RequestContext, req: StreamRequest) -> BoxFuture<'static, StreamResponse>;
}
