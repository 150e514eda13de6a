//! The other services' APIs in-process ([`ports::ServiceApi`]): a request is signed as the
//! caller's tenant and answered by the same gateway pipeline a network client reaches, so
//! routing, signature checks, request ids and every service's validation are the ones clients
//! get. CloudFormation provisions stacks through it.

use std::sync::{Mutex, Weak};

use bytes::Bytes;
use gateway::{Credentials, Gateway, SigV4Mode};
use http_body_util::BodyExt;
use ports::{BoxFuture, ServiceApi};
use sigv4::{Signer, Signing};
use time::OffsetDateTime;
use types::Scope;

pub struct Loopback {
    gateway: Mutex<Weak<Gateway>>,
    mode: SigV4Mode,
    credentials: Credentials,
    /// The server's own `host:port`: services that answer with URLs (SQS queue URLs) build
    /// them from the Host header, and clients must be able to use those URLs.
    host: http::HeaderValue,
}

impl Loopback {
    pub fn new(mode: SigV4Mode, credentials: Credentials, host: &str) -> Loopback {
        let host =
            http::HeaderValue::from_str(host).unwrap_or_else(|_| http::HeaderValue::from_static("localhost"));
        Loopback { gateway: Mutex::new(Weak::new()), mode, credentials, host }
    }

    /// The gateway the requests go through, once it exists (it holds the services that hold
    /// this, so the link is weak).
    pub fn attach(&self, gateway: Weak<Gateway>) {
        *self.gateway.lock().unwrap_or_else(|e| e.into_inner()) = gateway;
    }

    /// The key pair to sign as: the account's own 12-digit key when the gateway accepts any
    /// signature (that is how a scope is chosen), else a configured pair, preferring one whose
    /// id names the account.
    fn signer(&self, scope: &Scope) -> Signer {
        let account = scope.account.as_str();
        let (id, secret) = match self.mode {
            SigV4Mode::Accept => (account.to_owned(), "nimbus".to_owned()),
            SigV4Mode::Enforce => {
                let pair = self
                    .credentials
                    .pairs()
                    .find(|(id, _)| *id == account)
                    .or_else(|| self.credentials.pairs().next());
                pair.map(|(i, s)| (i.to_owned(), s.to_owned())).unwrap_or_default()
            }
        };
        Signer::new(id, secret, scope.region.as_str())
    }
}

impl ServiceApi for Loopback {
    fn call(
        &self,
        scope: &Scope,
        service: &str,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, http::Response<Bytes>> {
        let gateway = self.gateway.lock().unwrap_or_else(|e| e.into_inner()).upgrade();
        let mut signer = self.signer(scope);
        let signing = match gateway::route::spec(service) {
            Some(spec) if spec.name == "s3" => Signing::S3,
            Some(spec) => Signing::Service(spec.name),
            None => Signing::Unsigned,
        };
        let host = self.host.clone();
        Box::pin(async move {
            let Some(gateway) = gateway else {
                return unavailable();
            };
            let (mut parts, body) = request.into_parts();
            parts.headers.insert(http::header::HOST, host);
            parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
            signer.sign(&mut parts, signing, &body, OffsetDateTime::now_utc());
            let body = http_body_util::Full::new(body);
            let reply = gateway.handle(http::Request::from_parts(parts, body)).await;
            let (parts, body) = reply.into_parts();
            match body.collect().await {
                Ok(collected) => http::Response::from_parts(parts, collected.to_bytes()),
                Err(e) => {
                    tracing::warn!(error = %e, "an in-process answer could not be read");
                    unavailable()
                }
            }
        })
    }
}

fn unavailable() -> http::Response<Bytes> {
    let mut resp = http::Response::new(Bytes::from_static(b"{\"message\":\"Nimbus is shutting down\"}"));
    *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    resp
}

/// The loopback as the console uses it: its reads are marked [`protocol::Unmetered`], so
/// looking at the console (a graph refresh lists every bucket and reads each one's
/// notifications) adds nothing to the usage it prices.
pub struct Unmetered(pub std::sync::Arc<Loopback>);

impl ServiceApi for Unmetered {
    fn call(
        &self,
        scope: &Scope,
        service: &str,
        mut request: http::Request<Bytes>,
    ) -> BoxFuture<'_, http::Response<Bytes>> {
        request.extensions_mut().insert(protocol::Unmetered);
        self.0.call(scope, service, request)
    }
}
