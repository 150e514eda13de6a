//! The client for HTTP subscriptions: one POST per delivery on a fresh HTTP/1.1 connection, as
//! SNS sends them (`Content-Type: text/plain; charset=UTF-8`, the `x-amz-sns-*` headers). Any
//! 2xx answer is a delivery; anything else, a refused connection or a timeout is worth a
//! retry. `https://` endpoints are refused for good: Nimbus carries no TLS client.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ports::PortError;

pub async fn post(
    url: &str,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
) -> Result<(), PortError> {
    let uri: http::Uri = url.parse().map_err(|_| PortError::Invalid(format!("not a URL: {url}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(PortError::Invalid(format!("{url}: only http:// endpoints can be delivered to")));
    }
    let host = uri.host().ok_or_else(|| PortError::Invalid(format!("no host in {url}")))?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let host_header = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let call = async move {
        let addr = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let stream = tokio::net::TcpStream::connect((addr.as_str(), port))
            .await
            .map_err(|e| PortError::Unavailable(format!("{url}: {e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| PortError::Unavailable(format!("{url}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = http::Request::post(path)
            .header(http::header::HOST, host_header)
            .header(http::header::CONTENT_TYPE, "text/plain; charset=UTF-8")
            .header(http::header::USER_AGENT, "Amazon Simple Notification Service Agent");
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let req = req
            .body(Full::new(bytes::Bytes::from(body)))
            .map_err(|e| PortError::Invalid(format!("{url}: {e}")))?;
        let resp =
            sender.send_request(req).await.map_err(|e| PortError::Unavailable(format!("{url}: {e}")))?;
        let status = resp.status();
        // Read the answer to the end so the endpoint sees a clean exchange.
        let _ = resp.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(PortError::Unavailable(format!("{url} answered {status}")))
        }
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(PortError::Unavailable(format!("{url}: timed out"))))
}
