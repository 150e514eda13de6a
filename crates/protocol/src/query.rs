//! The query protocol: `Action`, `Version` and the input as form-encoded parameters (in the URL
//! or a `POST` body), the output as `<{Action}Response><{Action}Result>…` XML.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::xml::XmlWriter;
use crate::{ErrorInfo, Protocol, ProtocolError, Request, RequestContext, Response};

/// A query request's parameters, flattened as they came (`Tags.member.1.Key=…`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryParams {
    params: BTreeMap<String, String>,
}

/// Reads the parameters from the URL query and, for a form-encoded body, from the body; the body
/// wins on a clash. A body that is not valid form encoding is a `Serialization` rejection.
pub fn params(req: &Request) -> Result<QueryParams, ProtocolError> {
    let mut params = BTreeMap::new();
    if let Some(q) = req.uri().query() {
        params.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    if !req.body().is_empty() {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        // Clients send `application/x-www-form-urlencoded; charset=utf-8`; some send none.
        if !(ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded")) {
            return Err(ProtocolError::Serialization(format!("Unsupported content type {ct}")));
        }
        if std::str::from_utf8(req.body()).is_err() {
            return Err(ProtocolError::Serialization("The request body is not valid UTF-8".to_owned()));
        }
        params.extend(form_urlencoded::parse(req.body()).into_owned());
    }
    Ok(QueryParams { params })
}

/// A list member's elements, 1-based and in index order.
fn indexed<'a>(params: &'a BTreeMap<String, String>, prefix: &str) -> Vec<(u32, &'a str, &'a str)> {
    let head = format!("{prefix}.");
    let mut out: Vec<(u32, &str, &str)> = params
        .range(head.clone()..)
        .take_while(|(k, _)| k.starts_with(&head))
        .filter_map(|(k, v)| {
            let rest = &k[head.len()..];
            let (n, tail) = rest.split_once('.').unwrap_or((rest, ""));
            let n: u32 = n.parse().ok().filter(|n| *n >= 1)?;
            Some((n, tail, v.as_str()))
        })
        .collect();
    out.sort_by_key(|(n, _, _)| *n);
    out
}

impl QueryParams {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> QueryParams {
        QueryParams { params: pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect() }
    }

    /// The `Action` parameter.
    pub fn action(&self) -> Result<&str, ProtocolError> {
        self.get("Action").filter(|a| !a.is_empty()).ok_or(ProtocolError::MissingOperation)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Every parameter in key order, for services whose lists are flattened (`Tag.1.Key`, as
    /// SQS sends them) rather than written with `.member`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks that every named member is present, reporting all absent ones at once.
    pub fn require(&self, names: &[&str]) -> Result<(), ProtocolError> {
        let missing: Vec<String> =
            names.iter().filter(|n| self.get(n).is_none()).map(|n| (*n).to_owned()).collect();
        if missing.is_empty() { Ok(()) } else { Err(ProtocolError::MissingMembers(missing)) }
    }

    /// A required string member.
    pub fn required(&self, name: &str) -> Result<&str, ProtocolError> {
        self.get(name).ok_or_else(|| ProtocolError::MissingMembers(vec![name.to_owned()]))
    }

    /// An optional integer member.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ProtocolError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| ProtocolError::InvalidValue {
                    member: name.to_owned(),
                    message: format!("Invalid value '{v}' for {name}: expected an integer"),
                })
            })
            .transpose()
    }

    /// An optional boolean member (`true`/`false`, any case, as the SDKs send).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ProtocolError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ProtocolError::InvalidValue {
                    member: name.to_owned(),
                    message: format!("Invalid value '{v}' for {name}: expected true or false"),
                }),
            })
            .transpose()
    }

    /// A list of scalars: `{name}.member.1`, `{name}.member.2`, …
    pub fn list(&self, name: &str) -> Vec<&str> {
        indexed(&self.params, &format!("{name}.member"))
            .into_iter()
            .filter(|(_, tail, _)| tail.is_empty())
            .map(|(_, _, v)| v)
            .collect()
    }

    /// A list of structures: `{name}.member.N.Field`, returned as one `QueryParams` per element
    /// holding that element's fields.
    pub fn structs(&self, name: &str) -> Vec<QueryParams> {
        let mut out: BTreeMap<u32, QueryParams> = BTreeMap::new();
        for (n, tail, v) in indexed(&self.params, &format!("{name}.member")) {
            if !tail.is_empty() {
                out.entry(n).or_default().params.insert(tail.to_owned(), v.to_owned());
            }
        }
        out.into_values().collect()
    }
}

/// The error the query services give an action they do not have.
pub fn unknown_action(action: &str, version: Option<&str>) -> ErrorInfo {
    ErrorInfo::new(
        "InvalidAction",
        StatusCode::BAD_REQUEST,
        format!(
            "Could not find operation {action} for version {}",
            version.unwrap_or("NO_VERSION_SPECIFIED")
        ),
    )
}

/// A query success response: `<{action}Response xmlns=…><{action}Result>`, then what `result`
/// writes, then `</…Result><ResponseMetadata><RequestId>…`. Actions without output pass a `result` that
/// writes nothing; the empty Result element is still there, as AWS sends it.
pub fn response(
    ctx: &RequestContext,
    action: &str,
    xmlns: &str,
    result: impl FnOnce(&mut XmlWriter),
) -> Response {
    let mut w = XmlWriter::new();
    let outer = format!("{action}Response");
    let inner = format!("{action}Result");
    w.open_ns(&outer, xmlns);
    w.open(&inner);
    result(&mut w);
    w.close(&inner);
    w.open("ResponseMetadata");
    w.leaf("RequestId", ctx.request_id.as_str());
    w.close("ResponseMetadata");
    w.close(&outer);
    let mut resp = http::Response::new(Bytes::from(w.finish()));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    crate::rest::set_request_id(resp.headers_mut(), Protocol::Query, ctx.request_id.as_str());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Bytes::from(body.to_owned()))
            .expect("valid request")
    }

    #[test]
    fn reads_url_and_body() {
        let p = params(&req("/?Version=2010-05-08", "Action=GetRole&RoleName=a%20b")).expect("parses");
        assert_eq!(p.action(), Ok("GetRole"));
        assert_eq!(p.get("RoleName"), Some("a b"));
        assert_eq!(p.get("Version"), Some("2010-05-08"));
    }

    #[test]
    fn lists_and_structs_in_index_order() {
        let p = QueryParams::from_pairs([
            ("A.member.2", "two"),
            ("A.member.10", "ten"),
            ("A.member.1", "one"),
            ("A.member.x", "junk"),
            ("Tags.member.2.Key", "k2"),
            ("Tags.member.1.Key", "k1"),
            ("Tags.member.1.Value", "v1"),
        ]);
        assert_eq!(p.list("A"), vec!["one", "two", "ten"]);
        let tags = p.structs("Tags");
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0].get("Key"), Some("k1"));
        assert_eq!(tags[0].get("Value"), Some("v1"));
        assert_eq!(tags[1].get("Value"), None);
    }

    #[test]
    fn typed_members() {
        let p = QueryParams::from_pairs([("N", "12"), ("B", "TRUE"), ("X", "1x")]);
        assert_eq!(p.int("N"), Ok(Some(12)));
        assert_eq!(p.bool("B"), Ok(Some(true)));
        assert!(p.int("X").is_err());
        assert!(p.bool("X").is_err());
        assert_eq!(p.int("Absent"), Ok(None));
        assert_eq!(
            p.require(&["N", "P", "Q"]),
            Err(ProtocolError::MissingMembers(vec!["P".into(), "Q".into()]))
        );
    }

    #[test]
    fn rejects_other_content_types_and_bad_utf8() {
        let mut r = req("/", "{}");
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(matches!(params(&r), Err(ProtocolError::Serialization(_))));
        let mut r = req("/", "");
        *r.body_mut() = Bytes::from_static(b"Action=\xff");
        assert!(matches!(params(&r), Err(ProtocolError::Serialization(_))));
    }
}
