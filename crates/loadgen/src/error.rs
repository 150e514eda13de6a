//! What can stop a run before it has figures to report. A run that completed with failed
//! requests is not an error here: it is a [`crate::Report`] whose figures [`crate::Refused`].

use std::net::SocketAddr;

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("endpoint {0:?} is not of the form http://host:port")]
    Endpoint(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP handshake with {addr} failed: {source}")]
    Handshake {
        addr: SocketAddr,
        #[source]
        source: hyper::Error,
    },
    #[error("request failed: {0}")]
    Transport(#[source] hyper::Error),
    #[error("setup of {scenario} failed: {detail}")]
    Setup { scenario: &'static str, detail: String },
    #[error("self-test server: {0}")]
    SelfTestServer(#[source] std::io::Error),
}
