//! The REST protocols (rest-json, rest-xml): operations are picked by method and path template,
//! and the request id travels in the header each protocol names.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::Protocol;

/// One route: a method and a path template such as `/2015-03-31/functions/{FunctionName}` or
/// `/restapis/{restapi_id}/{proxy+}`. Labels bind one path segment; a `+` label binds the rest.
#[derive(Clone, Debug)]
pub struct Route {
    pub method: Method,
    pub template: &'static str,
}

/// Labels bound by a matched route, percent-decoded, in template order.
pub type Labels = Vec<(&'static str, String)>;

impl Route {
    pub const fn new(method: Method, template: &'static str) -> Route {
        Route { method, template }
    }

    /// Matches `path` (no query string) against the template; `None` when it does not fit.
    pub fn matches(&self, method: &Method, path: &str) -> Option<Labels> {
        if *method != self.method {
            return None;
        }
        match_template(self.template, path)
    }
}

/// Matches a path against a template, binding `{label}` and `{label+}` segments.
pub fn match_template(template: &'static str, path: &str) -> Option<Labels> {
    let mut labels = Vec::new();
    let mut segments = path.trim_start_matches('/').split('/');
    let mut parts = template.trim_start_matches('/').split('/').peekable();
    while let Some(part) = parts.next() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            let rest: Vec<&str> = segments.by_ref().collect();
            if rest.is_empty() || rest.iter().all(|s| s.is_empty()) {
                return None;
            }
            labels.push((name, decode(&rest.join("/"))?));
            return parts.peek().is_none().then_some(labels);
        }
        let segment = segments.next()?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if segment.is_empty() {
                return None;
            }
            labels.push((name, decode(segment)?));
        } else if part != segment {
            return None;
        }
    }
    segments.next().is_none().then_some(labels)
}

fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// Sets the request id header(s) a protocol's clients read: `x-amzn-RequestId` for the JSON and
/// query protocols, `x-amz-request-id` (and `x-amz-id-2`) for S3's rest-xml.
pub fn set_request_id(headers: &mut HeaderMap, protocol: Protocol, request_id: &str) {
    let Ok(v) = HeaderValue::from_str(request_id) else { return };
    if protocol == Protocol::RestXml {
        headers.insert("x-amz-request-id", v.clone());
        headers.insert("x-amz-id-2", v);
    } else {
        headers.insert("x-amzn-requestid", v);
    }
}

/// A rest-json success response.
pub fn json_response(status: StatusCode, body: &serde_json::Value, request_id: &str) -> crate::Response {
    let mut resp = http::Response::new(Bytes::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    set_request_id(resp.headers_mut(), Protocol::RestJson, request_id);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
        match_template(template, path)
    }

    #[test]
    fn binds_labels() {
        let got = labels(
            "/2015-03-31/functions/{FunctionName}/invocations",
            "/2015-03-31/functions/my%20fn/invocations",
        );
        assert_eq!(got, Some(vec![("FunctionName", "my fn".to_owned())]));
        assert_eq!(labels("/2015-03-31/functions/{FunctionName}", "/2015-03-31/functions/"), None);
        assert_eq!(labels("/2015-03-31/functions/{FunctionName}", "/2015-03-31/functions/a/b"), None);
        assert_eq!(labels("/2015-03-31/functions", "/2015-03-31/functions"), Some(vec![]));
        assert_eq!(labels("/2015-03-31/functions/", "/2015-03-31/functions/"), Some(vec![]));
    }

    #[test]
    fn greedy_label_takes_the_rest() {
        let got = labels("/{Bucket}/{Key+}", "/b/a/b/c.txt");
        assert_eq!(got, Some(vec![("Bucket", "b".to_owned()), ("Key", "a/b/c.txt".to_owned())]));
        assert_eq!(labels("/{Bucket}/{Key+}", "/b/"), None);
    }

    #[test]
    fn method_must_match() {
        let r = Route::new(Method::GET, "/x");
        assert!(r.matches(&Method::GET, "/x").is_some());
        assert!(r.matches(&Method::POST, "/x").is_none());
    }

    #[test]
    fn invalid_utf8_in_label_does_not_match() {
        assert_eq!(labels("/a/{B}", "/a/%ff"), None);
    }
}
