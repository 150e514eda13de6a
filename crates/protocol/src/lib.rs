//! The AWS wire protocols, sans-IO: how an operation name and its input are read from an HTTP
//! request, and how an output or an error is written back, for each of the five protocols AWS
//! services speak. Services parse with these helpers into their own `Operation` enum; the gateway
//! only sees [`AwsService`].
//!
//! Nothing here touches a socket, a file or a runtime: requests and responses are plain
//! `http::Request<Bytes>` / `http::Response<Bytes>` values, or, for [`StreamingService`]s,
//! bodies behind the `http-body` trait.

mod context;
mod error;
pub mod json;
pub mod query;
pub mod rest;
mod service;
mod streaming;
pub mod xml;

pub use context::{Note, RequestContext, SignatureCheck, TraceContext, Unmetered};
pub use error::{ErrorInfo, Fault, ProtocolError, ServiceError, error_response, validation_message};
pub use service::{Answer, AwsService, BoxFuture, Request, Response};
pub use streaming::{BoxError, StreamBody, StreamRequest, StreamResponse, StreamingService};

/// The five AWS protocols. Each one fixes where the operation name travels, how input and output
/// are encoded, and what an error looks like on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `POST /`, `X-Amz-Target: Prefix.Operation`, JSON body (DynamoDB, SQS-JSON).
    AwsJson1_0,
    /// Same as 1.0 with content type `application/x-amz-json-1.1` (EventBridge, Logs).
    AwsJson1_1,
    /// Operation picked by method and path, JSON bodies, error code in `x-amzn-ErrorType`
    /// (Lambda, API Gateway).
    RestJson,
    /// Operation picked by method and path, XML bodies (S3).
    RestXml,
    /// `Action=` and `Version=` form-encoded, XML responses (IAM, STS, SNS, SQS-query,
    /// CloudFormation).
    Query,
}

impl Protocol {
    /// The content type of bodies written in this protocol.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson1_0 => "application/x-amz-json-1.0",
            Protocol::AwsJson1_1 => "application/x-amz-json-1.1",
            Protocol::RestJson => "application/json",
            Protocol::RestXml | Protocol::Query => "text/xml",
        }
    }
}
