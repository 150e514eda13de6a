//! HTTP/1.1 exchanges with the endpoints users name — SNS HTTP(S) subscriptions, API Gateway
//! HTTP integrations, JWT issuers — over `http://` or `https://`, one fresh connection each,
//! under a deadline and a limit on the answer's size.
//!
//! TLS is rustls on the aws-lc-rs provider (already in the tree for JWT signatures). Servers are
//! verified against the system's roots as `rustls-native-certs` finds them; it honours
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`, which is how a user makes Nimbus trust a local CA. A fresh
//! connection per exchange keeps every call independent (no pool to poison, no idle sockets): the
//! callers make a handful of calls a second, where a handshake costs little.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

/// Why an exchange produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a URL: {0}")]
    InvalidUrl(String),
    #[error("{0}: only http:// and https:// endpoints can be called")]
    UnsupportedScheme(String),
    /// Connecting, the TLS handshake (an untrusted certificate included) or the exchange failed.
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("{0}: the answer is larger than {1} bytes")]
    TooLarge(String, usize),
    #[error("{0}: timed out")]
    TimedOut(String),
}

/// What to send. `Host` is set from the URL unless `headers` has one.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, url: &'a str) -> Self {
        Request { method, url, headers: HeaderMap::new(), body: Bytes::new() }
    }
}

/// The whole answer, its body read to the end.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The bounds of one exchange: the deadline covers connecting, the handshake and reading the
/// whole answer.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body: usize,
}

/// Makes exchanges; cheap to clone.
#[derive(Clone)]
pub struct Client {
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// The process's client, trusting the system's roots (read once, on first use).
    pub fn system() -> &'static Client {
        static CLIENT: OnceLock<Client> = OnceLock::new();
        CLIENT.get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "reading the system's TLS roots");
            }
            if found.certs.is_empty() {
                tracing::warn!("no TLS roots found: https:// endpoints will not be trusted");
            }
            Client::with_roots(found.certs)
        })
    }

    /// A client that trusts exactly these roots.
    pub fn with_roots(roots: impl IntoIterator<Item = CertificateDer<'static>>) -> Client {
        let mut store = rustls::RootCertStore::empty();
        let (_, ignored) = store.add_parsable_certificates(roots);
        if ignored > 0 {
            tracing::warn!(ignored, "TLS roots that do not parse were left out");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default protocol versions")
            .with_root_certificates(store)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Client { tls: tokio_rustls::TlsConnector::from(Arc::new(config)) }
    }

    /// Sends `request` and reads the answer, within `limits`.
    pub async fn send(&self, request: Request<'_>, limits: Limits) -> Result<Response, Error> {
        let url = request.url;
        let target = Target::parse(url)?;
        let mut req = http::Request::builder()
            .method(request.method)
            .uri(target.path_and_query.as_str())
            .body(Full::new(request.body))
            .map_err(|e| failed(url, e))?;
        *req.headers_mut() = request.headers;
        if !req.headers().contains_key(header::HOST) {
            let host = HeaderValue::from_str(&target.host_header).map_err(|e| failed(url, e))?;
            req.headers_mut().insert(header::HOST, host);
        }
        let exchange = async {
            let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|e| failed(url, e))?;
            // Requests go out whole; Nagle would only delay the last segment.
            let _ = tcp.set_nodelay(true);
            let answer = if target.tls {
                let name = ServerName::try_from(target.host.clone()).map_err(|e| failed(url, e))?;
                let tls = self.tls.connect(name, tcp).await.map_err(|e| failed(url, e))?;
                exchange(tls, req).await
            } else {
                exchange(tcp, req).await
            }
            .map_err(|e| failed(url, e))?;
            let (parts, body) = answer.into_parts();
            let body = match Limited::new(body, limits.max_body).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(Error::TooLarge(url.to_owned(), limits.max_body));
                }
                Err(e) => return Err(failed(url, e)),
            };
            Ok(Response { status: parts.status, headers: parts.headers, body })
        };
        tokio::time::timeout(limits.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(Error::TimedOut(url.to_owned())))
    }
}

/// One request on a fresh HTTP/1.1 connection over `io`.
async fn exchange<IO>(
    io: IO,
    req: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(req).await
}

fn failed(url: &str, reason: impl std::fmt::Display) -> Error {
    Error::Failed { url: url.to_owned(), reason: reason.to_string() }
}

/// Where a URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    /// As given to connect and to verify the certificate against: brackets of IPv6 removed.
    host: String,
    port: u16,
    host_header: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, Error> {
        let uri: http::Uri = url.parse().map_err(|_| Error::InvalidUrl(url.to_owned()))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(Error::UnsupportedScheme(url.to_owned())),
        };
        let authority_host =
            uri.host().filter(|h| !h.is_empty()).ok_or_else(|| Error::InvalidUrl(url.to_owned()))?;
        let host = authority_host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let host_header = match uri.port_u16() {
            Some(p) => format!("{authority_host}:{p}"),
            None => authority_host.to_owned(),
        };
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok(Target { tls, host, port, host_header, path_and_query })
    }
}

#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;

#[cfg(test)]
mod tests;
