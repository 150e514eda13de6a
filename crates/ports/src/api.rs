//! Calling another service's public API in-process, with the request an SDK would send. The
//! CloudFormation engine provisions resources this way: it needs every service's whole API,
//! and going through the same front door as a client keeps one definition of each operation's
//! validation and effects.

use bytes::Bytes;
use types::Scope;

use crate::BoxFuture;

/// The AWS API of every service, as the gateway serves it.
pub trait ServiceApi: Send + Sync {
    /// Sends `request` (method, path, target headers and body, as an SDK writes them) as a
    /// caller in `scope`, for the service whose SigV4 signing name is `service`, and returns the
    /// whole answer. Errors come back as the service's error responses, never as a panic.
    fn call(
        &self,
        scope: &Scope,
        service: &str,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, http::Response<Bytes>>;
}
