//! Exchanges with real local servers: plain HTTP, and HTTPS with a certificate from a test CA
//! (`tests/fixtures`: a CA and a `localhost`/`127.0.0.1` leaf it signed, valid until 2126).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use super::*;

const LIMITS: Limits = Limits { timeout: Duration::from_secs(5), max_body: 1 << 20 };

/// Answers every request with `METHOD PATH?QUERY host=HOST body=BODY`, or `size` bytes for `/big`.
async fn answer(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if parts.uri.path() == "/big" {
        return Ok(http::Response::new(Full::new(Bytes::from(vec![b'x'; 4096]))));
    }
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("-");
    let text = format!("{} {} host={host} body={}", parts.method, parts.uri, String::from_utf8_lossy(&body));
    let mut resp = http::Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = StatusCode::ACCEPTED;
    Ok(resp)
}

/// Serves [`answer`] on 127.0.0.1, over TLS with the fixture certificate when `tls`.
async fn serve(tls: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = tls.then(fixtures::tls_acceptor);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(answer);
                let http = hyper::server::conn::http1::Builder::new();
                let _ = match acceptor {
                    Some(acceptor) => match acceptor.accept(tcp).await {
                        Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                        Err(_) => return,
                    },
                    None => http.serve_connection(TokioIo::new(tcp), service).await,
                };
            });
        }
    });
    port
}

fn post<'a>(url: &'a str, body: &'static str) -> Request<'a> {
    let mut req = Request::new(Method::POST, url);
    req.body = Bytes::from_static(body.as_bytes());
    req
}

#[tokio::test]
async fn https_to_a_server_whose_ca_is_trusted() {
    let port = serve(true).await;
    let client = Client::with_roots(fixtures::ca());
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}/hook?a=1");
        let got = client.send(post(&url, "hello"), LIMITS).await.expect("exchange");
        assert_eq!(got.status, StatusCode::ACCEPTED);
        assert_eq!(got.body, format!("POST /hook?a=1 host={host}:{port} body=hello"));
    }
}

#[tokio::test]
async fn https_to_an_untrusted_certificate_fails() {
    let port = serve(true).await;
    let url = format!("https://localhost:{port}/");
    // Neither no roots nor the system's know the test CA.
    for client in [Client::with_roots([]), Client::system().clone()] {
        match client.send(Request::new(Method::GET, &url), LIMITS).await {
            Err(Error::Failed { reason, .. }) => assert!(reason.contains("certificate"), "{reason}"),
            other => panic!("expected a certificate failure, got {other:?}"),
        }
    }
    // A name the certificate does not cover fails too, though its CA is trusted.
    let port = serve(true).await;
    let url = format!("https://127.0.0.2:{port}/");
    let client = Client::with_roots(fixtures::ca());
    assert!(matches!(client.send(Request::new(Method::GET, &url), LIMITS).await, Err(Error::Failed { .. })));
}

#[tokio::test]
async fn plain_http_with_its_limits() {
    let port = serve(false).await;
    let client = Client::system();
    let url = format!("http://127.0.0.1:{port}/p");
    let mut req = post(&url, "x");
    req.headers.insert(header::HOST, HeaderValue::from_static("example.test"));
    let got = client.send(req, LIMITS).await.expect("exchange");
    assert_eq!(got.body, "POST /p host=example.test body=x");

    let big = format!("http://127.0.0.1:{port}/big");
    let small = Limits { max_body: 1000, ..LIMITS };
    assert!(matches!(
        client.send(Request::new(Method::GET, &big), small).await,
        Err(Error::TooLarge(_, 1000))
    ));
    assert_eq!(client.send(Request::new(Method::GET, &big), LIMITS).await.expect("big").body.len(), 4096);

    // A server that takes the connection and never answers: the call times out, and the
    // connection is closed with it rather than left open (the server reads to its end).
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}/", silent.local_addr().expect("addr").port());
    let quick = Limits { timeout: Duration::from_millis(200), ..LIMITS };
    let (sent, accepted) = tokio::join!(client.send(Request::new(Method::GET, &url), quick), silent.accept());
    assert!(matches!(sent, Err(Error::TimedOut(_))));
    let (mut socket, _) = accepted.expect("accept");
    let mut request = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), socket.read_to_end(&mut request)).await;
    assert!(matches!(read, Ok(Ok(_))), "the client kept the connection open: {read:?}");
    assert!(request.starts_with(b"GET / HTTP/1.1"));
    drop(silent);

    // Nothing listens: refused.
    assert!(matches!(client.send(Request::new(Method::GET, &url), LIMITS).await, Err(Error::Failed { .. })));
    assert!(matches!(
        client.send(Request::new(Method::GET, "ftp://h/x"), LIMITS).await,
        Err(Error::UnsupportedScheme(_))
    ));
    assert!(matches!(
        client.send(Request::new(Method::GET, "not a url"), LIMITS).await,
        Err(Error::InvalidUrl(_))
    ));
}

#[test]
fn targets_from_urls() {
    let t = Target::parse("https://[::1]:8443/a/b?c=d").expect("parse");
    assert_eq!(
        t,
        Target {
            tls: true,
            host: "::1".into(),
            port: 8443,
            host_header: "[::1]:8443".into(),
            path_and_query: "/a/b?c=d".into()
        }
    );
    let t = Target::parse("http://example.com").expect("parse");
    assert_eq!((t.port, t.host_header.as_str(), t.path_and_query.as_str()), (80, "example.com", "/"));
    assert_eq!(Target::parse("https://example.com/x").expect("parse").port, 443);
}
