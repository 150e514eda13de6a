//! The single HTTP front door. For every request it picks the service (see [`route`]), resolves
//! the tenant (account and region) from the SigV4 credential scope, optionally verifies the
//! signature, reads the body within a limit, assigns the request id, opens the request's tracing
//! span, joins or starts the request's trace (recording those that belong to one), and hands an
//! `http::Request<Bytes>` to the service. It is the only crate that knows the
//! HTTP server framework.

mod auth;
mod gateway;
mod health;
pub mod route;
mod server;
mod trace;

pub use auth::{Credentials, SigV4Mode};
pub use gateway::{Gateway, GatewayBuilder, RequestSink};
pub use server::serve;
pub use trace::SpanSink;

#[cfg(test)]
mod tests;
