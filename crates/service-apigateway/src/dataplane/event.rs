//! The Lambda proxy events, payload formats 1.0 (REST APIs, and HTTP API integrations that ask
//! for it) and 2.0 (HTTP APIs), built from the request exactly as API Gateway builds them:
//! absent maps are `null` in 1.0 and left out in 2.0; 2.0 lower-cases header names and joins
//! repeated headers and query parameters with commas, and moves cookies to `cookies`; bodies that
//! are not text travel base64-encoded with `isBase64Encoded: true`.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};

/// What the events need from the HTTP request, read once.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestInfo {
    pub method: String,
    /// Header names as the client wrote them (hyper lower-cases them), in arrival order.
    pub headers: Vec<(String, String)>,
    pub raw_query: String,
    pub body: Vec<u8>,
    /// The path as the client sent it after the API id (for the path form) — stage included.
    pub full_path: String,
    /// The path without the stage segment.
    pub path: String,
    pub source_ip: String,
    pub domain_name: String,
    pub request_id: String,
    pub time_epoch_ms: i64,
    pub account: String,
    pub api_id: String,
    pub stage: String,
    /// Who signed the request, for methods and routes with `AWS_IAM` authorization: the access
    /// key and its account (callers are the account's root, as STS answers).
    pub caller: Option<Caller>,
    /// A REST API's `binaryMediaTypes`: a body whose content type matches one is base64-encoded
    /// in the event, any other passed as text. `None` (HTTP APIs) decides by the content type.
    pub binary_media_types: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Caller {
    pub access_key: String,
    pub account: String,
}

impl Caller {
    fn user_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account)
    }

    /// `requestContext.authorizer.iam` of a 2.0 event.
    pub(crate) fn v2_context(&self) -> Value {
        json!({"iam": {
            "accessKey": self.access_key,
            "accountId": self.account,
            "callerId": self.account,
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": self.user_arn(),
            "userId": self.account,
        }})
    }
}

impl RequestInfo {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn user_agent(&self) -> String {
        self.header("user-agent").unwrap_or_default().to_owned()
    }

    fn domain_prefix(&self) -> String {
        self.domain_name.split('.').next().unwrap_or_default().to_owned()
    }

    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.raw_query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The body as the event carries it, and whether it is base64.
    fn body(&self) -> (Option<String>, bool) {
        if self.body.is_empty() {
            return (None, false);
        }
        let content_type = self.header("content-type").unwrap_or_default().to_ascii_lowercase();
        if let Some(types) = &self.binary_media_types {
            let media = content_type.split(';').next().unwrap_or_default().trim();
            return if types.iter().any(|t| media_matches(&t.to_ascii_lowercase(), media)) {
                (Some(base64::engine::general_purpose::STANDARD.encode(&self.body)), true)
            } else {
                (Some(String::from_utf8_lossy(&self.body).into_owned()), false)
            };
        }
        match std::str::from_utf8(&self.body) {
            Ok(text) if is_text(&content_type) => (Some(text.to_owned()), false),
            _ => (Some(base64::engine::general_purpose::STANDARD.encode(&self.body)), true),
        }
    }
}

/// A `binaryMediaTypes` entry (`image/png`, `image/*`, `*/*`) against a request's media type.
fn media_matches(pattern: &str, media: &str) -> bool {
    match pattern.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => media.split_once('/').is_some_and(|(k, _)| k == kind),
        _ => pattern == media,
    }
}

/// Content types whose bodies Lambda receives as text. API Gateway base64-encodes the rest; a
/// request without a content type is passed as text when it is valid UTF-8.
fn is_text(content_type: &str) -> bool {
    content_type.is_empty()
        || content_type.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "graphql"]
            .iter()
            .any(|t| content_type.contains(t))
}

/// `09/Apr/2015:12:34:56 +0000`, the `requestTime` / `time` format.
pub(crate) fn clf_time(ms: i64) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())).saturating_sub(1) % 12],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn map_or_null(m: &BTreeMap<String, String>) -> Value {
    if m.is_empty() { Value::Null } else { json!(m) }
}

/// The payload format 2.0 event.
pub(crate) fn v2(
    info: &RequestInfo,
    route_key: &str,
    path_parameters: &BTreeMap<String, String>,
    stage_variables: &BTreeMap<String, String>,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &info.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned));
            continue;
        }
        headers.entry(name).and_modify(|v| *v = format!("{v},{value}")).or_insert_with(|| value.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in info.query_pairs() {
        query.entry(k).and_modify(|old| *old = format!("{old},{v}")).or_insert(v);
    }
    let (body, is_base64) = info.body();
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route_key));
    event.insert("rawPath".into(), json!(info.full_path));
    event.insert("rawQueryString".into(), json!(info.raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), json!(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), json!(query));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": info.account,
            "apiId": info.api_id,
            "domainName": info.domain_name,
            "domainPrefix": info.domain_prefix(),
            "http": {
                "method": info.method,
                "path": info.full_path,
                "protocol": "HTTP/1.1",
                "sourceIp": info.source_ip,
                "userAgent": info.user_agent(),
            },
            "requestId": info.request_id,
            "routeKey": route_key,
            "stage": info.stage,
            "time": clf_time(info.time_epoch_ms),
            "timeEpoch": info.time_epoch_ms,
        }),
    );
    if let Some(body) = body {
        event.insert("body".into(), json!(body));
    }
    if !path_parameters.is_empty() {
        event.insert("pathParameters".into(), json!(path_parameters));
    }
    event.insert("isBase64Encoded".into(), json!(is_base64));
    if !stage_variables.is_empty() {
        event.insert("stageVariables".into(), json!(stage_variables));
    }
    Value::Object(event)
}

/// Where a 1.0 event is going: a REST API resource, or an HTTP API route asking for 1.0.
pub(crate) enum V1Target<'a> {
    Rest { resource_id: &'a str, resource_path: &'a str },
    Http { route_key: &'a str },
}

/// The payload format 1.0 event.
pub(crate) fn v1(
    info: &RequestInfo,
    target: V1Target<'_>,
    path_parameters: &BTreeMap<String, String>,
    stage_variables: &BTreeMap<String, String>,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut multi_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &info.headers {
        headers.insert(name.clone(), value.clone());
        multi_headers.entry(name.clone()).or_default().push(value.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    let mut multi_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in info.query_pairs() {
        query.insert(k.clone(), v.clone());
        multi_query.entry(k).or_default().push(v);
    }
    let (body, is_base64) = info.body();
    let resource = match &target {
        V1Target::Rest { resource_path, .. } => (*resource_path).to_owned(),
        V1Target::Http { route_key } => route_key.split_once(' ').map_or(*route_key, |(_, p)| p).to_owned(),
    };
    let caller = info.caller.as_ref();
    let identity = json!({
        "accessKey": caller.map(|c| c.access_key.clone()),
        "accountId": caller.map(|c| c.account.clone()),
        "caller": caller.map(|c| c.account.clone()),
        "cognitoAuthenticationProvider": null,
        "cognitoAuthenticationType": null,
        "cognitoIdentityId": null,
        "cognitoIdentityPoolId": null,
        "principalOrgId": null,
        "sourceIp": info.source_ip,
        "user": caller.map(|c| c.account.clone()),
        "userAgent": info.user_agent(),
        "userArn": caller.map(Caller::user_arn),
    });
    let mut context = json!({
        "accountId": info.account,
        "apiId": info.api_id,
        "domainName": info.domain_name,
        "domainPrefix": info.domain_prefix(),
        "extendedRequestId": info.request_id,
        "httpMethod": info.method,
        "identity": identity,
        "path": info.full_path,
        "protocol": "HTTP/1.1",
        "requestId": info.request_id,
        "requestTime": clf_time(info.time_epoch_ms),
        "requestTimeEpoch": info.time_epoch_ms,
        "stage": info.stage,
    });
    let mut event = json!({
        "resource": resource,
        "path": info.path,
        "httpMethod": info.method,
        "headers": map_or_null(&headers),
        "multiValueHeaders": if multi_headers.is_empty() { Value::Null } else { json!(multi_headers) },
        "queryStringParameters": map_or_null(&query),
        "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { json!(multi_query) },
        "pathParameters": map_or_null(path_parameters),
        "stageVariables": map_or_null(stage_variables),
        "body": body,
        "isBase64Encoded": is_base64,
    });
    if let (Value::Object(ctx), Value::Object(ev)) = (&mut context, &mut event) {
        match target {
            V1Target::Rest { resource_id, resource_path } => {
                ctx.insert("resourceId".into(), json!(resource_id));
                ctx.insert("resourcePath".into(), json!(resource_path));
            }
            V1Target::Http { route_key } => {
                ev.insert("version".into(), json!("1.0"));
                ctx.insert("resourceId".into(), json!(route_key));
                ctx.insert("resourcePath".into(), json!(resource));
                ctx.insert("routeKey".into(), json!(route_key));
            }
        }
        ev.insert("requestContext".into(), Value::Object(std::mem::take(ctx)));
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RequestInfo {
        RequestInfo {
            method: "POST".into(),
            headers: vec![
                ("host".into(), "abc.execute-api.localhost".into()),
                ("user-agent".into(), "curl/8".into()),
                ("x-multi".into(), "a".into()),
                ("x-multi".into(), "b".into()),
                ("cookie".into(), "c1=1; c2=2".into()),
                ("content-type".into(), "application/json".into()),
            ],
            raw_query: "a=1&a=2&b=x%20y".into(),
            body: br#"{"k":1}"#.to_vec(),
            full_path: "/dev/items/7".into(),
            path: "/items/7".into(),
            source_ip: "127.0.0.1".into(),
            domain_name: "abc.execute-api.localhost".into(),
            request_id: "rid".into(),
            time_epoch_ms: 1_428_582_896_000,
            account: "000000000000".into(),
            api_id: "abc".into(),
            stage: "dev".into(),
            caller: None,
            binary_media_types: None,
        }
    }

    #[test]
    fn rest_binary_media_types_decide_the_body_encoding() {
        let png = vec![0x89, b'P', b'N', b'G', 0xff];
        let with = |content_type: &str, types: Option<Vec<&str>>| {
            let mut i = info();
            i.headers = vec![("Content-Type".into(), content_type.into())];
            i.body.clone_from(&png);
            i.binary_media_types = types.map(|t| t.into_iter().map(str::to_owned).collect());
            i.body()
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(&png);
        assert_eq!(with("image/png", Some(vec!["image/png"])), (Some(encoded.clone()), true));
        assert_eq!(with("IMAGE/PNG; q=1", Some(vec!["image/*"])), (Some(encoded.clone()), true));
        assert_eq!(with("application/json", Some(vec!["*/*"])), (Some(encoded.clone()), true));
        // A REST API without the type passes the bytes as (lossy) text, as API Gateway does.
        let (text, b64) = with("image/png", Some(vec!["image/jpeg"]));
        assert_eq!((text.as_deref(), b64), (Some("\u{fffd}PNG\u{fffd}"), false));
        // HTTP APIs decide by the content type.
        assert_eq!(with("image/png", None), (Some(encoded), true));
    }

    #[test]
    fn v2_event_shape() {
        let params = BTreeMap::from([("id".to_owned(), "7".to_owned())]);
        let vars = BTreeMap::from([("env".to_owned(), "dev".to_owned())]);
        let e = v2(&info(), "POST /items/{id}", &params, &vars);
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "POST /items/{id}");
        assert_eq!(e["rawPath"], "/dev/items/7");
        assert_eq!(e["rawQueryString"], "a=1&a=2&b=x%20y");
        assert_eq!(e["cookies"], json!(["c1=1", "c2=2"]));
        assert_eq!(e["headers"]["x-multi"], "a,b");
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["queryStringParameters"], json!({"a": "1,2", "b": "x y"}));
        assert_eq!(e["pathParameters"], json!({"id": "7"}));
        assert_eq!(e["stageVariables"], json!({"env": "dev"}));
        assert_eq!(e["body"], r#"{"k":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        let rc = &e["requestContext"];
        assert_eq!(
            rc["http"],
            json!({"method": "POST", "path": "/dev/items/7", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "curl/8"})
        );
        assert_eq!(rc["time"], "09/Apr/2015:12:34:56 +0000");
        assert_eq!(rc["timeEpoch"], 1_428_582_896_000_i64);
        assert_eq!(rc["domainPrefix"], "abc");
        assert_eq!(rc["stage"], "dev");
    }

    #[test]
    fn v2_omits_absent_members_and_encodes_binary() {
        let mut i = info();
        i.raw_query.clear();
        i.headers.retain(|(k, _)| k != "cookie" && k != "content-type");
        i.headers.push(("content-type".into(), "image/png".into()));
        i.body = vec![0x89, 0x50, 0xff];
        let e = v2(&i, "$default", &BTreeMap::new(), &BTreeMap::new());
        for absent in ["cookies", "queryStringParameters", "pathParameters", "stageVariables"] {
            assert!(e.get(absent).is_none(), "{absent} should be absent");
        }
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], "iVD/");
    }

    #[test]
    fn v1_event_shape() {
        let params = BTreeMap::from([("id".to_owned(), "7".to_owned())]);
        let e = v1(
            &info(),
            V1Target::Rest { resource_id: "r1", resource_path: "/items/{id}" },
            &params,
            &BTreeMap::new(),
        );
        assert_eq!(e["resource"], "/items/{id}");
        assert_eq!(e["path"], "/items/7");
        assert_eq!(e["httpMethod"], "POST");
        assert_eq!(e["headers"]["x-multi"], "b");
        assert_eq!(e["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
        assert_eq!(e["queryStringParameters"], json!({"a": "2", "b": "x y"}));
        assert_eq!(e["multiValueQueryStringParameters"]["a"], json!(["1", "2"]));
        assert_eq!(e["stageVariables"], Value::Null);
        assert!(e.get("version").is_none());
        let rc = &e["requestContext"];
        assert_eq!(rc["resourcePath"], "/items/{id}");
        assert_eq!(rc["resourceId"], "r1");
        assert_eq!(rc["path"], "/dev/items/7");
        assert_eq!(rc["stage"], "dev");
        assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(rc["identity"]["userAgent"], "curl/8");
        assert_eq!(rc["requestTime"], "09/Apr/2015:12:34:56 +0000");

        let mut get = info();
        get.body.clear();
        get.raw_query.clear();
        let e = v1(&get, V1Target::Http { route_key: "GET /items/{id}" }, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(e["version"], "1.0");
        assert_eq!(e["resource"], "/items/{id}");
        assert_eq!(e["body"], Value::Null);
        assert_eq!(e["queryStringParameters"], Value::Null);
        assert_eq!(e["pathParameters"], Value::Null);
        assert_eq!(e["requestContext"]["routeKey"], "GET /items/{id}");
    }
}
