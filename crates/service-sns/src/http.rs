//! The client for HTTP and HTTPS subscriptions: one POST per delivery, as SNS sends them
//! (`Content-Type: text/plain; charset=UTF-8`, the `x-amz-sns-*` headers). Any 2xx answer is a
//! delivery; anything else, a refused connection, an untrusted certificate or a timeout is worth
//! a retry.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use ports::PortError;

/// SNS reads nothing of the answer but its status; more than this is not an endpoint's answer.
const MAX_ANSWER: usize = 1 << 20;

pub async fn post(
    url: &str,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
) -> Result<(), PortError> {
    let mut req = outbound::Request::new(Method::POST, url);
    req.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=UTF-8"));
    req.headers
        .insert(header::USER_AGENT, HeaderValue::from_static("Amazon Simple Notification Service Agent"));
    for (name, value) in headers {
        let invalid = |e: &dyn std::fmt::Display| PortError::Invalid(format!("{url}: {e}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid(&e))?;
        req.headers.insert(name, value);
    }
    req.body = bytes::Bytes::from(body);
    let limits = outbound::Limits { timeout, max_body: MAX_ANSWER };
    match outbound::Client::system().send(req, limits).await {
        Ok(answer) if answer.status.is_success() => Ok(()),
        Ok(answer) => Err(PortError::Unavailable(format!("{url} answered {}", answer.status))),
        Err(e @ (outbound::Error::InvalidUrl(_) | outbound::Error::UnsupportedScheme(_))) => {
            Err(PortError::Invalid(e.to_string()))
        }
        Err(e) => Err(PortError::Unavailable(e.to_string())),
    }
}
