//! One HTTP/1.1 keep-alive connection, as an SDK's connection pool holds it: TCP_NODELAY on,
//! requests one after the other, reopened when the server closes it.
//!
//! Each worker owns one, so no pool, lock or channel sits between a worker and its socket and
//! the figures measure the server rather than client-side scheduling.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;
use tokio::net::TcpStream;

use crate::Error;
use crate::scenario::Call;
use crate::sign::Signer;

/// Where requests go: the address to connect to and the `host` header to send (and sign).
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    /// Send `Connection: keep-alive` (unsigned, like the hop-by-hop header it is). The SDKs
    /// do not, but LocalStack behind hypercorn closes every connection of a request without
    /// it, so a fair comparison sends it to every server.
    pub keep_alive_header: bool,
}

impl Target {
    /// Resolves `http://host:port` (port 80 if absent). HTTPS is not supported: Nimbus and its
    /// peers are measured on loopback, where TLS would measure the TLS stack.
    pub async fn resolve(endpoint: &str) -> Result<Target, Error> {
        let bad = || Error::Endpoint(endpoint.to_owned());
        let uri: Uri = endpoint.parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let authority = uri.authority().ok_or_else(bad)?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host().to_owned();
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|source| Error::Resolve { host: host.clone(), source })?
            .next()
            .ok_or_else(|| Error::Resolve {
                host: host.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| bad())?;
        Ok(Target { addr, host, keep_alive_header: false })
    }
}

/// A response as the run judges it: the status, and the body for error messages.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Bytes,
}

/// A keep-alive connection to [`Target`], opened lazily and reopened after the server closes it.
#[derive(Debug)]
pub struct Connection {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// How many times the connection was (re)opened: more than once means the server closes
    /// keep-alive connections, which a reader of the figures should know.
    pub opened: u64,
}

impl Connection {
    pub fn new(target: Target) -> Connection {
        Connection { target, sender: None, opened: 0 }
    }

    /// Opens the connection now if it is not open, so the handshake is not timed.
    pub async fn connect(&mut self) -> Result<(), Error> {
        self.ready().await.map(|_| ())
    }

    /// The open connection, ready for a request: reopened if the server closed it (after a
    /// `Connection: close` or an idle timeout), as an SDK's pool does without counting a failure.
    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Error> {
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.open().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.open().await?;
            sender.ready().await.map_err(Error::Transport)?;
        }
        Ok(self.sender.insert(sender))
    }

    async fn open(&mut self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let addr = self.target.addr;
        let stream = TcpStream::connect(addr).await.map_err(|source| Error::Connect { addr, source })?;
        // Small requests and responses: without it Nagle holds each one back by a round trip.
        stream.set_nodelay(true).map_err(|source| Error::Connect { addr, source })?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| Error::Handshake { addr, source })?;
        tokio::spawn(async move {
            // The connection ends when the server closes it or the sender is dropped; either
            // shows on the next request, which reopens it.
            let _ = connection.await;
        });
        self.opened += 1;
        Ok(sender)
    }

    /// Signs and sends `call`, and reads the whole response.
    pub async fn send(&mut self, call: &Call, signer: &mut Signer) -> Result<Response, Error> {
        let request = self.build(call, signer);
        let sender = self.ready().await?;
        let result = async {
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Response { status: parts.status, body })
        }
        .await;
        result.map_err(|e| {
            // The connection is unusable after a transport error; the next send reopens it.
            self.sender = None;
            Error::Transport(e)
        })
    }

    fn build(&self, call: &Call, signer: &mut Signer) -> Request<Full<Bytes>> {
        let mut request = Request::new(());
        *request.method_mut() = call.method.clone();
        // Scenario paths are ours and well formed; "/" stands in should one not be.
        *request.uri_mut() = call.path_and_query.parse().unwrap_or_else(|_| Uri::from_static("/"));
        let headers = request.headers_mut();
        headers.insert(http::header::HOST, self.target.host.clone());
        for (name, value) in &call.headers {
            headers.insert(name.clone(), value.clone());
        }
        let (mut parts, ()) = request.into_parts();
        match &call.payload_sha256 {
            Some(hash) => signer.sign_hashed(&mut parts, call.signing, hash, OffsetDateTime::now_utc()),
            None => signer.sign(&mut parts, call.signing, &call.body, OffsetDateTime::now_utc()),
        }
        if self.target.keep_alive_header {
            parts.headers.insert(http::header::CONNECTION, HeaderValue::from_static("keep-alive"));
        }
        Request::from_parts(parts, Full::new(call.body.clone()))
    }
}
