//! Which service a request is for. Pure: headers, URI and (for form-encoded query requests) the
//! body in, a destination out.
//!
//! The order matters and follows how precise each signal is: Nimbus's own paths; API Gateway's
//! execute-api data plane (by `Host` or `/_aws/execute-api/`, which no AWS API uses); `X-Amz-Target`
//! (names service and operation); the SigV4 credential scope (names the service for every signed
//! request); `Action=` with `Version=` (query protocol, also unsigned); REST path prefixes; and S3
//! last, because S3 paths are arbitrary bucket and key names.

use http::{HeaderMap, Method, Uri, header};
use protocol::Protocol;

/// A service Nimbus knows how to address, whether or not it is implemented yet: enough to route
/// to it and to answer in its protocol.
#[derive(Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The SigV4 signing name, which is also the service's key in the gateway.
    pub name: &'static str,
    /// The protocol the service's current SDKs speak.
    pub protocol: Protocol,
    /// `X-Amz-Target` prefixes (the part before the `.`).
    pub targets: &'static [&'static str],
    /// The query protocol `Version` the service answers, if it speaks query.
    pub query_version: Option<&'static str>,
    /// REST path prefixes that belong to the service.
    pub paths: &'static [&'static str],
}

/// Every service the gateway can route to.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: "sts",
        protocol: Protocol::Query,
        targets: &[],
        query_version: Some("2011-06-15"),
        paths: &[],
    },
    ServiceSpec {
        name: "iam",
        protocol: Protocol::Query,
        targets: &[],
        query_version: Some("2010-05-08"),
        paths: &[],
    },
    ServiceSpec {
        name: "sqs",
        protocol: Protocol::AwsJson1_0,
        targets: &["AmazonSQS"],
        query_version: Some("2012-11-05"),
        paths: &[],
    },
    ServiceSpec {
        name: "sns",
        protocol: Protocol::Query,
        targets: &[],
        query_version: Some("2010-03-31"),
        paths: &[],
    },
    ServiceSpec {
        name: "cloudformation",
        protocol: Protocol::Query,
        targets: &[],
        query_version: Some("2010-05-15"),
        paths: &[],
    },
    ServiceSpec {
        name: "dynamodb",
        protocol: Protocol::AwsJson1_0,
        targets: &["DynamoDB_20120810", "DynamoDBStreams_20120810"],
        query_version: None,
        paths: &[],
    },
    ServiceSpec {
        name: "events",
        protocol: Protocol::AwsJson1_1,
        targets: &["AWSEvents"],
        query_version: None,
        paths: &[],
    },
    ServiceSpec {
        name: "logs",
        protocol: Protocol::AwsJson1_1,
        targets: &["Logs_20140328"],
        query_version: None,
        paths: &[],
    },
    ServiceSpec {
        name: "lambda",
        protocol: Protocol::RestJson,
        targets: &[],
        query_version: None,
        paths: &[
            "/2015-03-31/",
            "/2016-08-19/",
            "/2017-03-31/",
            "/2017-10-31/",
            "/2018-10-31/",
            "/2019-09-25/",
            "/2019-09-30/",
            "/2020-04-22/",
            "/2020-06-30/",
            "/2021-10-31/",
            "/2021-11-15/",
        ],
    },
    ServiceSpec {
        name: "apigateway",
        protocol: Protocol::RestJson,
        targets: &[],
        query_version: None,
        paths: &["/restapis", "/apikeys", "/usageplans", "/domainnames", "/account", "/vpclinks", "/v2/"],
    },
    // EventBridge Scheduler; its `/tags/{arn}` is shared with API Gateway v1, so tag calls are
    // routed by their signature only.
    ServiceSpec {
        name: "scheduler",
        protocol: Protocol::RestJson,
        targets: &[],
        query_version: None,
        paths: &["/schedules", "/schedule-groups"],
    },
    ServiceSpec { name: "s3", protocol: Protocol::RestXml, targets: &[], query_version: None, paths: &[] },
];

/// Looks a service up by signing name.
pub fn spec(name: &str) -> Option<&'static ServiceSpec> {
    SERVICES.iter().find(|s| s.name == name)
}

/// Nimbus's own endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Internal {
    Health,
    /// Every other `/_nimbus` path: the web console, when the server registered one.
    Console,
    NotFound,
}

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    Internal(Internal),
    /// A service, and the protocol this request is written in (SQS takes JSON and query).
    Service {
        spec: &'static ServiceSpec,
        protocol: Protocol,
    },
    /// A request to a service's public data plane (an API Gateway invoke URL, a Lambda function
    /// URL `{id}.lambda-url.{region}.localhost`): not an AWS API call, so not subject to
    /// `--enforce-sigv4`; the service applies the resource's own auth type.
    DataPlane {
        spec: &'static ServiceSpec,
    },
    /// A query-protocol request whose `Version` names no service Nimbus knows.
    UnknownQueryVersion,
    /// An awsJson request whose `X-Amz-Target` prefix names no service Nimbus knows (and whose
    /// signature does not name one either): answered in JSON, which its client can read.
    UnknownTarget,
    /// Not decidable without reading the form-encoded body.
    NeedsBody,
}

/// Routes on what arrives before the body. `scope_service` is the service named in the SigV4
/// credential scope, if the request is signed.
pub fn route_head(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    scope_service: Option<&str>,
) -> Destination {
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/_nimbus/").or_else(|| path.strip_prefix("/_localstack/")) {
        let which = match rest {
            "health" => Internal::Health,
            _ if path.starts_with("/_nimbus/") => Internal::Console,
            _ => Internal::NotFound,
        };
        return Destination::Internal(which);
    }
    if path == "/_nimbus" {
        return Destination::Internal(Internal::Console);
    }
    if let Some(spec) = data_plane(uri, headers) {
        return Destination::DataPlane { spec };
    }
    if host_name(uri, headers).as_deref().is_some_and(is_s3_host) {
        return s3();
    }
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let prefix = target.split('.').next().unwrap_or_default();
        if let Some(spec) = SERVICES.iter().find(|s| s.targets.contains(&prefix)) {
            let protocol = json_protocol(spec, headers);
            return Destination::Service { spec, protocol };
        }
    }
    let unknown_target = headers.contains_key("x-amz-target");
    let query_action =
        uri.query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "Action"));
    if let Some(spec) = scope_service.and_then(scope_spec) {
        return Destination::Service { spec, protocol: shape(spec, headers, query_action) };
    }
    if unknown_target {
        return Destination::UnknownTarget;
    }
    if query_action {
        return by_query_version(uri.query().unwrap_or_default().as_bytes());
    }
    if let Some(spec) = SERVICES.iter().find(|s| s.paths.iter().any(|p| path.starts_with(p))) {
        return Destination::Service { spec, protocol: spec.protocol };
    }
    if *method == Method::POST && is_form(headers) && path == "/" {
        return Destination::NeedsBody;
    }
    s3()
}

/// The service whose public data plane the request is for, if any: an API Gateway invoke URL
/// or a Lambda function URL.
fn data_plane(uri: &Uri, headers: &HeaderMap) -> Option<&'static ServiceSpec> {
    if is_execute_api(uri, headers) {
        return spec("apigateway");
    }
    let name = host_name(uri, headers)?;
    let labels: Vec<&str> = name.split('.').collect();
    // `{url-id}.lambda-url.{region}.localhost`
    (labels.len() == 4 && labels[1] == "lambda-url" && labels[3] == "localhost")
        .then(|| spec("lambda"))
        .flatten()
}

/// The request's host name, lowercased, without the port.
pub(crate) fn host_name(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str))?;
    let name = host
        .rsplit_once(':')
        .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host });
    Some(name.to_ascii_lowercase())
}

/// S3's own host names: `s3.localhost`, `s3.{region}.localhost`, and the virtual-hosted forms
/// `{bucket}.s3.localhost` and `{bucket}.s3.{region}.localhost` (bucket names may hold dots).
pub fn is_s3_host(name: &str) -> bool {
    let Some(rest) = name.strip_suffix(".localhost") else { return false };
    let is_s3 = |s: &str| s == "s3" || s.ends_with(".s3");
    is_s3(rest) || rest.rsplit_once('.').is_some_and(|(before, _region)| is_s3(before))
}

/// Whether a request is for an API Gateway API's invoke URL rather than an AWS API: `Host:
/// {apiId}.execute-api.{anything}` or a path under `/_aws/execute-api/`. Such requests are
/// callers of a user's API, so the gateway neither routes them by signature nor verifies one.
pub fn is_execute_api(uri: &Uri, headers: &HeaderMap) -> bool {
    if uri.path().starts_with("/_aws/execute-api/") {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).or_else(|| uri.host());
    host.and_then(|h| h.split_once(".execute-api."))
        .is_some_and(|(id, _)| !id.is_empty() && !id.contains('/'))
}

/// Routes a form-encoded `POST /` by its body's `Action` and `Version`.
pub fn route_body(body: &[u8]) -> Destination {
    if form_urlencoded::parse(body).any(|(k, _)| k == "Action") { by_query_version(body) } else { s3() }
}

fn by_query_version(form: &[u8]) -> Destination {
    let version = form_urlencoded::parse(form).find(|(k, _)| k == "Version").map(|(_, v)| v.into_owned());
    match SERVICES.iter().find(|s| s.query_version.is_some() && s.query_version == version.as_deref()) {
        Some(spec) => Destination::Service { spec, protocol: Protocol::Query },
        None => Destination::UnknownQueryVersion,
    }
}

/// The service a credential scope names. Some SDK scopes differ from the gateway's keys.
fn scope_spec(service: &str) -> Option<&'static ServiceSpec> {
    let name = match service {
        // API Gateway v2 and the management API sign as `apigateway`; `execute-api` is the data
        // plane, served by API Gateway too.
        "execute-api" => "apigateway",
        other => other,
    };
    spec(name)
}

/// The protocol a request to `spec` is written in, judged from its shape.
fn shape(spec: &'static ServiceSpec, headers: &HeaderMap, query_action: bool) -> Protocol {
    if spec.query_version.is_some() && (query_action || is_form(headers)) {
        Protocol::Query
    } else if headers.contains_key("x-amz-target") {
        json_protocol(spec, headers)
    } else {
        spec.protocol
    }
}

fn json_protocol(spec: &ServiceSpec, headers: &HeaderMap) -> Protocol {
    match spec.protocol {
        Protocol::AwsJson1_0 | Protocol::AwsJson1_1 => spec.protocol,
        _ => {
            let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            if ct.contains("1.1") { Protocol::AwsJson1_1 } else { Protocol::AwsJson1_0 }
        }
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

fn s3() -> Destination {
    let spec = spec("s3").expect("s3 is in SERVICES");
    Destination::Service { spec, protocol: Protocol::RestXml }
}

#[cfg(test)]
mod tests;
