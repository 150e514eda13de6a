//! CORS applied: answers `OPTIONS` preflights from the bucket's CORS rules (s3s has no route
//! for them) and adds the `Access-Control-*` headers to actual requests that carry an `Origin`.
//! The first rule whose origin, method and requested headers all match decides, as in S3.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use protocol::StreamResponse;
use s3s::dto::{CORSConfiguration, CORSRule};
use s3s::host::S3Host;

use crate::engine::Engine;
use crate::model::{self, BUCKETS, BucketRecord};

/// The bucket a request addresses: the virtual host's, else the first path segment.
pub fn bucket_of(parts: &http::request::Parts) -> Option<String> {
    let host = parts.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Ok(vh) = crate::LocalHosts.parse_host_header(host)
        && let Some(b) = vh.bucket()
    {
        return Some(b.to_owned());
    }
    let first = parts.uri.path().trim_start_matches('/').split('/').next().unwrap_or_default();
    (!first.is_empty()).then(|| first.to_owned())
}

fn rules(e: &Engine, account: &str, bucket: &str) -> Option<Vec<CORSRule>> {
    let b: BucketRecord = model::get(e.kv.as_ref(), BUCKETS, &model::bucket_key(account, bucket)).ok()??;
    let json = b.configs.get("cors")?;
    let c: CORSConfiguration = model::decode(json.as_bytes()).ok()?;
    Some(c.cors_rules)
}

/// `*` in a pattern stands for any run of characters (S3 allows one per origin; any count works).
fn wildcard(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() || !value.ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

fn find<'a>(rules: &'a [CORSRule], origin: &str, method: &str, headers: &[String]) -> Option<&'a CORSRule> {
    rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard(o, origin))
            && r.allowed_methods.iter().any(|m| m.as_str() == method)
            && headers.iter().all(|h| {
                r.allowed_headers
                    .iter()
                    .flatten()
                    .any(|a| wildcard(&a.to_ascii_lowercase(), &h.to_ascii_lowercase()))
            })
    })
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The headers a matching rule grants.
fn grant(headers: &mut HeaderMap, rule: &CORSRule, origin: &str) {
    let any = rule.allowed_origins.iter().any(|o| o == "*");
    put(headers, "access-control-allow-origin", if any { "*" } else { origin });
    if !any {
        put(headers, "access-control-allow-credentials", "true");
    }
    let methods: Vec<&str> = rule.allowed_methods.iter().map(|m| m.as_str()).collect();
    put(headers, "access-control-allow-methods", &methods.join(", "));
    if let Some(expose) = rule.expose_headers.as_ref().filter(|x| !x.is_empty()) {
        put(headers, "access-control-expose-headers", &expose.join(", "));
    }
    if let Some(age) = rule.max_age_seconds {
        put(headers, "access-control-max-age", &age.to_string());
    }
    put(headers, "vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

fn header<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn xml_error(status: StatusCode, code: &str, message: &str, extra: &str, request_id: &str) -> StreamResponse {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>{request_id}</RequestId></Error>"
    );
    let mut resp = http::Response::new(crate::full(Bytes::from(xml)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

/// Answers an `OPTIONS` preflight.
pub fn preflight(
    e: &Engine,
    account: &str,
    parts: &http::request::Parts,
    request_id: &str,
) -> StreamResponse {
    let Some(origin) = header(parts, "origin") else {
        return xml_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
            "",
            request_id,
        );
    };
    let method = header(parts, "access-control-request-method").unwrap_or_default();
    let requested: Vec<String> = header(parts, "access-control-request-headers")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    let resource = if parts.uri.path().trim_matches('/').contains('/') { "OBJECT" } else { "BUCKET" };
    let extra = format!("<Method>{}</Method><ResourceType>{resource}</ResourceType>", escape(method));
    let Some(rules) = bucket_of(parts).and_then(|b| rules(e, account, &b)) else {
        return xml_error(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: CORS is not enabled for this bucket.",
            &extra,
            request_id,
        );
    };
    let Some(rule) = find(&rules, origin, method, &requested) else {
        return xml_error(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
            &extra,
            request_id,
        );
    };
    let mut resp = http::Response::new(crate::full(Bytes::new()));
    grant(resp.headers_mut(), rule, origin);
    if !requested.is_empty() {
        put(resp.headers_mut(), "access-control-allow-headers", &requested.join(", "));
    }
    resp
}

/// What an actual request needs to decorate its answer: the grant of the matching rule.
pub struct Actual {
    origin: String,
    rule: CORSRule,
}

/// The rule an actual request (with an `Origin`) matches, if any.
pub fn actual(e: &Engine, account: &str, parts: &http::request::Parts) -> Option<Actual> {
    let origin = header(parts, "origin")?;
    let rules = rules(e, account, &bucket_of(parts)?)?;
    let rule = find(&rules, origin, parts.method.as_str(), &[])?;
    Some(Actual { origin: origin.to_owned(), rule: rule.clone() })
}

impl Actual {
    pub fn apply(&self, headers: &mut HeaderMap) {
        grant(headers, &self.rule, &self.origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "http://a.example"));
        assert!(wildcard("http://*.example.com", "http://www.example.com"));
        assert!(!wildcard("http://*.example.com", "https://www.example.com"));
        assert!(wildcard("x-amz-*", "x-amz-date"));
        assert!(!wildcard("http://a.com", "http://b.com"));
    }

    #[test]
    fn first_matching_rule_wins() {
        let rule = |origin: &str, method: &str| CORSRule {
            allowed_origins: vec![origin.to_owned()],
            allowed_methods: vec![method.to_owned()],
            allowed_headers: Some(vec!["x-amz-*".to_owned()]),
            ..Default::default()
        };
        let rules = vec![rule("http://a.com", "GET"), rule("*", "PUT")];
        assert!(find(&rules, "http://a.com", "GET", &["X-Amz-Date".into()]).is_some());
        assert!(find(&rules, "http://a.com", "GET", &["authorization".into()]).is_none());
        assert!(find(&rules, "http://b.com", "GET", &[]).is_none());
        assert!(find(&rules, "http://b.com", "PUT", &[]).is_some());
    }
}
