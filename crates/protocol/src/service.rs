//! The one trait through which the gateway reaches a service.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::{Protocol, RequestContext, StreamResponse};

/// A request whose body has been read in full. Streaming services (S3) get their own path in
/// the gateway.
pub type Request = http::Request<Bytes>;
/// A response with its whole body.
pub type Response = http::Response<Bytes>;
/// What a service answers through [`AwsService::answer`]: nearly always a whole body; a
/// response produced while it is sent (Lambda's response streaming) is `Streamed`. One trait
/// with a second, defaulted method keeps every other service as it is, where making Lambda a
/// [`StreamingService`](crate::StreamingService) would give up the gateway's body limit and
/// signature check for all of its API.
pub enum Answer {
    Whole(Response),
    Streamed(StreamResponse),
}

/// A boxed, sendable future: the trait stays object-safe without an async-trait macro.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An AWS service as the gateway sees it: a name to route to, a protocol to render gateway-level
/// errors in, and a function from request to response. Everything else (parsing into an
/// `Operation`, acting, rendering the output or error) is the service's own business.
pub trait AwsService: Send + Sync {
    /// The SigV4 signing name (`sts`, `iam`, `dynamodb`, ...) the gateway routes by.
    fn signing_name(&self) -> &'static str;

    /// The protocol the service answers in.
    fn protocol(&self) -> Protocol;

    /// Handles one request. Must not panic on anything the client sent: every failure becomes a
    /// response in the service's protocol.
    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response>;

    /// What the gateway calls: [`call`](Self::call), unless some of the service's responses
    /// are streamed while they are produced.
    fn answer(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Answer> {
        Box::pin(async move { Answer::Whole(self.call(ctx, req).await) })
    }

    /// Whether requests to `host` (lowercased, without its port) are for this service's public
    /// data plane because a user registered that name with it (API Gateway's custom domain
    /// names). The gateway asks only about hosts it would not route otherwise.
    fn claims_host(&self, host: &str) -> bool {
        let _ = host;
        false
    }
}
