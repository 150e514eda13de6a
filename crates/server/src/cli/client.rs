//! The CLI's client of the server's own AWS APIs: requests signed with the `sigv4` signer (so
//! they pass `--enforce-sigv4`), answers read as JSON or query-protocol XML.

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use serde_json::Value;
use sigv4::{Signer, Signing};
use time::OffsetDateTime;

/// Where the server is and who calls it.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The Nimbus endpoint.
    #[arg(long, env = "NIMBUS_ENDPOINT", default_value = "http://127.0.0.1:4566", global = true)]
    pub endpoint: String,
    /// The region to act in.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1", global = true)]
    pub region: String,
}

pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    host: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
}

/// An AWS error answer.
#[derive(Debug)]
pub struct AwsError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}

impl Client {
    pub fn new(target: &Target) -> anyhow::Result<Client> {
        let endpoint = target.endpoint.trim_end_matches('/').to_owned();
        let uri: http::Uri = endpoint.parse().with_context(|| format!("endpoint {endpoint} is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("endpoint {endpoint}: only http:// endpoints are supported");
        }
        let host = uri.authority().map(|a| a.to_string()).context("the endpoint has no host")?;
        let http = reqwest::Client::builder().build().context("building the HTTP client")?;
        let access_key_id = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".to_owned());
        let secret_access_key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".to_owned());
        Ok(Client { http, endpoint, host, region: target.region.clone(), access_key_id, secret_access_key })
    }

    /// The account the server puts this client's requests in: a 12-digit access key id is
    /// one, anything else is `000000000000`.
    pub fn account(&self) -> String {
        let key = &self.access_key_id;
        if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) { key.clone() } else { "0".repeat(12) }
    }

    /// Sends one signed request; returns status and body, whatever the status.
    pub async fn send(
        &self,
        service: &'static str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, http::HeaderMap, Bytes)> {
        let mut builder = http::Request::builder().method(method).uri(path).header("host", &self.host);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let (mut parts, ()) = builder.body(()).context("building a request")?.into_parts();
        let signing = if service == "s3" { Signing::S3 } else { Signing::Service(service) };
        let mut signer = Signer::new(&self.access_key_id, &self.secret_access_key, &self.region);
        signer.sign(&mut parts, signing, &body, OffsetDateTime::now_utc());
        let url = format!("{}{path}", self.endpoint);
        let mut req = self.http.request(parts.method, &url).body(body);
        for (k, v) in &parts.headers {
            if k != http::header::HOST {
                req = req.header(k, v);
            }
        }
        let resp = req.send().await.with_context(|| {
            format!("cannot reach Nimbus at {} (is `nimbus serve` running?)", self.endpoint)
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.context("reading an answer")?;
        Ok((status, headers, body))
    }

    /// A GET of the console's JSON API (`/_nimbus/api/...`): unsigned, as the browser sends it.
    pub async fn console(&self, path_and_query: &str) -> anyhow::Result<(u16, Bytes)> {
        let url = format!("{}/_nimbus/api/{path_and_query}", self.endpoint);
        let resp = self.http.get(&url).send().await.with_context(|| {
            format!("cannot reach Nimbus at {} (is `nimbus serve` running?)", self.endpoint)
        })?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await.context("reading an answer")?))
    }

    /// A query-protocol call; the answer document, or the AWS error.
    pub async fn query(
        &self,
        service: &'static str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> anyhow::Result<Result<String, AwsError>> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action).append_pair("Version", version);
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let ct = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let (status, _, body) = self.send(service, Method::POST, "/", &ct, Bytes::from(body)).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status < 300 {
            return Ok(Ok(text));
        }
        Ok(Err(AwsError {
            status,
            code: protocol::xml::xml_text(&text, "Code").unwrap_or_default(),
            message: protocol::xml::xml_text(&text, "Message").unwrap_or_default(),
        }))
    }

    /// A JSON call (awsJson with `target`, or rest-json with `target` empty).
    pub async fn json(
        &self,
        service: &'static str,
        method: Method,
        path: &str,
        target: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Result<(http::HeaderMap, Value), AwsError>> {
        let mut headers = Vec::new();
        if let Some(t) = target {
            headers.push(("x-amz-target", t));
            headers.push(("content-type", "application/x-amz-json-1.1"));
        } else if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (status, headers, body) = self.send(service, method, path, &headers, bytes).await?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status < 300 {
            return Ok(Ok((headers, value)));
        }
        let code = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.split(':').next().unwrap_or(t).to_owned())
            .or_else(|| {
                value
                    .get("__type")
                    .and_then(Value::as_str)
                    .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            })
            .unwrap_or_default();
        let message = ["message", "Message"]
            .iter()
            .find_map(|k| value.get(*k).and_then(Value::as_str))
            .unwrap_or_default();
        Ok(Err(AwsError { status, code, message: message.to_owned() }))
    }

    /// CloudFormation's query API.
    pub async fn cloudformation(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> anyhow::Result<Result<String, AwsError>> {
        self.query("cloudformation", "2010-05-15", action, params).await
    }
}

pub fn p(k: impl Into<String>, v: impl Into<String>) -> (String, String) {
    (k.into(), v.into())
}
