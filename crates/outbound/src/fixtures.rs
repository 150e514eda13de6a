//! Test fixtures for HTTPS (feature `test-fixtures`): a test CA and a certificate it signed for
//! `localhost` and `127.0.0.1`, both valid until 2126, a TLS acceptor serving that certificate,
//! and a recording HTTPS endpoint built on it. A test trusts the CA through [`CA_FILE`]
//! (`SSL_CERT_FILE` for a Nimbus process) or [`ca`] (for a [`Client`](crate::Client) of its own).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The CA certificate's path, PEM.
pub const CA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ca.pem");

const CA: &[u8] = include_bytes!("../tests/fixtures/ca.pem");
const LEAF: &[u8] = include_bytes!("../tests/fixtures/localhost.pem");
const LEAF_KEY: &[u8] = include_bytes!("../tests/fixtures/localhost.key");

/// The CA certificate.
pub fn ca() -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(CA).collect::<Result<_, _>>().expect("the fixture CA is PEM")
}

/// Accepts TLS with the `localhost`/`127.0.0.1` certificate.
pub fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let chain =
        CertificateDer::pem_slice_iter(LEAF).collect::<Result<Vec<_>, _>>().expect("the fixture leaf is PEM");
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY).expect("the fixture key is PEM");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the fixture certificate and key match");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// One request an endpoint got: its head (request line and headers) and its body.
pub type Recorded = (String, String);

/// Reads one HTTP/1.1 request from `socket`: its head and its body (as long as
/// `Content-Length` says). `None` if the peer closes before a whole request came.
pub async fn read_request<S: AsyncRead + Unpin>(socket: &mut S) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return Some((head.to_owned(), body.to_owned()));
            }
        }
    }
}

/// A local HTTPS endpoint on 127.0.0.1 (the fixture certificate): records every request in the
/// returned list and answers it with the status and JSON body `answer` gives, closing the
/// connection after each. Returns its port and the list.
pub async fn recording_endpoint(
    mut answer: impl FnMut(&Recorded) -> (u16, String) + Send + 'static,
) -> (u16, Arc<Mutex<Vec<Recorded>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
    let port = listener.local_addr().expect("a bound address").port();
    let got: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let sink = got.clone();
    let acceptor = tls_acceptor();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let Ok(mut stream) = acceptor.accept(socket).await else { continue };
            let Some(request) = read_request(&mut stream).await else { continue };
            let (status, body) = answer(&request);
            sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(request);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (port, got)
}
