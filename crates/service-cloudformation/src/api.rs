//! A small client for the other services' APIs over [`ports::ServiceApi`]: requests written the
//! way an SDK writes them in each protocol (awsJson, query, rest-json, rest-xml), answers read
//! back into JSON values or XML text, and errors into [`ApiError`] (code and message, as a
//! stack event reports them).

use bytes::Bytes;
use http::{Method, StatusCode};
use ports::ServiceApi;
use serde_json::Value;
use types::Scope;

pub use protocol::xml::{xml_text, xml_texts};

/// A refusal from the service called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// The resource is already gone: deletes treat this as done.
    pub fn is_not_found(&self) -> bool {
        self.status == 404
            || self.code.contains("NotFound")
            || self.code.starts_with("NoSuch")
            || self.code == "AWS.SimpleQueueService.NonExistentQueue"
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The shape CloudFormation's resource handlers report a service's refusal in.
        write!(f, "{} (Service: {}, Status Code: {})", self.message, self.code, self.status)
    }
}

/// The other services, as one tenant.
#[derive(Clone, Copy)]
pub struct Api<'a> {
    port: &'a dyn ServiceApi,
    scope: &'a Scope,
}

/// The awsJson variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Json {
    V1_0,
    V1_1,
}

impl<'a> Api<'a> {
    pub fn new(port: &'a dyn ServiceApi, scope: &'a Scope) -> Api<'a> {
        Api { port, scope }
    }

    pub fn scope(&self) -> &Scope {
        self.scope
    }

    async fn send(&self, service: &str, req: http::Request<Bytes>) -> http::Response<Bytes> {
        self.port.call(self.scope, service, req).await
    }

    /// An awsJson call: `target` is `{prefix}.{Operation}` (`AmazonSQS.CreateQueue`).
    pub async fn json(
        &self,
        service: &str,
        version: Json,
        target: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        let ct = match version {
            Json::V1_0 => "application/x-amz-json-1.0",
            Json::V1_1 => "application/x-amz-json-1.1",
        };
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("content-type", ct)
            .header("x-amz-target", target)
            .body(Bytes::from(body.to_string()))
            .map_err(build_error)?;
        let resp = self.send(service, req).await;
        json_answer(resp)
    }

    /// A query call; returns the response document.
    pub async fn query(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, ApiError> {
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action);
            form.append_pair("Version", version);
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Bytes::from(form))
            .map_err(build_error)?;
        let resp = self.send(service, req).await;
        let (status, body) = (resp.status(), resp.into_body());
        let text = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() { Ok(text) } else { Err(xml_error(status, &text)) }
    }

    /// A rest-json call; an empty answer is `null`.
    pub async fn rest_json(
        &self,
        service: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let mut b = http::Request::builder().method(method).uri(path);
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let req =
            b.body(body.map(|v| Bytes::from(v.to_string())).unwrap_or_default()).map_err(build_error)?;
        let resp = self.send(service, req).await;
        json_answer(resp)
    }

    /// A rest-xml call (S3): the status and the body on success.
    pub async fn rest_xml(
        &self,
        service: &str,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), ApiError> {
        let mut b = http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        let req = b.body(body).map_err(build_error)?;
        let resp = self.send(service, req).await;
        let (status, body) = (resp.status(), resp.into_body());
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(xml_error(status, &String::from_utf8_lossy(&body)))
        }
    }
}

fn build_error(e: http::Error) -> ApiError {
    ApiError { status: 400, code: "InvalidRequest".to_owned(), message: e.to_string() }
}

/// Reads a JSON answer (awsJson or rest-json), success or error.
fn json_answer(resp: http::Response<Bytes>) -> Result<Value, ApiError> {
    let status = resp.status();
    let header_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.split(':').next().unwrap_or(t).to_owned());
    let body = resp.into_body();
    let value: Value =
        if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    if status.is_success() {
        return Ok(value);
    }
    let code = header_type
        .or_else(|| {
            value.get("__type").and_then(Value::as_str).map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
        })
        .or_else(|| value.get("code").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| status.as_str().to_owned());
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    Err(ApiError { status: status.as_u16(), code, message })
}

fn xml_error(status: StatusCode, text: &str) -> ApiError {
    ApiError {
        status: status.as_u16(),
        code: xml_text(text, "Code").unwrap_or_else(|| status.as_str().to_owned()),
        message: xml_text(text, "Message").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_from_header_or_body() {
        let resp = http::Response::builder()
            .status(404)
            .header("x-amzn-errortype", "ResourceNotFoundException:http://internal")
            .body(Bytes::from_static(br#"{"Message":"Function not found"}"#))
            .expect("response");
        let e = json_answer(resp).expect_err("an error");
        assert_eq!(e.code, "ResourceNotFoundException");
        assert_eq!(e.message, "Function not found");
        assert!(e.is_not_found());
        let resp = http::Response::builder()
            .status(400)
            .body(Bytes::from_static(br#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"Table already exists: t"}"#))
            .expect("response");
        let e = json_answer(resp).expect_err("an error");
        assert_eq!(e.code, "ResourceInUseException");
        assert!(!e.is_not_found());
    }
}
