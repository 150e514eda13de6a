//! The awsJson 1.0 / 1.1 protocols: `X-Amz-Target: Prefix.Operation`, a JSON object as input,
//! a JSON object as output; also the JSON body decoding rest-json shares.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Protocol, ProtocolError, RequestContext, Response};

/// The operation named by `X-Amz-Target`, which must be `{prefix}.{Operation}`.
pub fn target<'h>(headers: &'h HeaderMap, prefix: &str) -> Result<&'h str, ProtocolError> {
    let target =
        headers.get("x-amz-target").and_then(|v| v.to_str().ok()).ok_or(ProtocolError::MissingOperation)?;
    match target.split_once('.') {
        Some((p, op)) if p == prefix && !op.is_empty() => Ok(op),
        _ => Err(ProtocolError::UnknownOperation(target.to_owned())),
    }
}

/// Reads a JSON object body. An empty body counts as `{}`, as AWS accepts it; anything that is
/// not a JSON object is a `Serialization` rejection.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, ProtocolError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Array(_)) => {
            Err(ProtocolError::Serialization("Start of list found where not expected".to_owned()))
        }
        Ok(_) => Err(ProtocolError::Serialization("Expected a JSON object as the request body".to_owned())),
        Err(e) => Err(ProtocolError::Serialization(format!("Malformed JSON: {}", e))),
    }
}

/// Decodes an input structure: first the required members (absent or null ones are reported
/// together, as AWS's validation does), then the types (a wrong type is a serialization error,
/// as it is on AWS, which fails while reading the body).
pub fn decode<T: DeserializeOwned>(body: &[u8], required: &[&str]) -> Result<T, ProtocolError> {
    let map = object(body)?;
    let missing: Vec<String> = required
        .iter()
        .filter(|m| map.get(**m).is_none_or(Value::is_null))
        .map(|m| (*m).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(ProtocolError::MissingMembers(missing));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ProtocolError::Serialization(type_error_message(&e)))
}

/// serde's messages name Rust types; AWS's name the JSON token it did not expect. Keep serde's
/// detail, phrased for a client.
fn type_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("invalid type: ").unwrap_or(&text);
    format!("Unexpected value in request: {text}")
}

/// An awsJson success response.
pub fn response<T: Serialize>(protocol: Protocol, ctx: &RequestContext, output: &T) -> Response {
    let body = match serde_json::to_vec(output) {
        Ok(b) => b,
        // Serialising our own output types cannot fail (string keys, no non-finite floats);
        // should it ever, answer an internal error rather than a half-written body.
        Err(_) => return crate::error_response(protocol, ctx, &crate::ErrorInfo::internal()),
    };
    let mut resp = http::Response::new(Bytes::from(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(protocol.content_type()));
    crate::rest::set_request_id(resp.headers_mut(), protocol, ctx.request_id.as_str());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Input {
        table_name: String,
        limit: Option<u32>,
    }

    #[test]
    fn target_needs_prefix_and_operation() {
        let mut h = HeaderMap::new();
        assert_eq!(target(&h, "DynamoDB_20120810"), Err(ProtocolError::MissingOperation));
        h.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810.ListTables"));
        assert_eq!(target(&h, "DynamoDB_20120810"), Ok("ListTables"));
        h.insert("x-amz-target", HeaderValue::from_static("Other.ListTables"));
        assert!(matches!(target(&h, "DynamoDB_20120810"), Err(ProtocolError::UnknownOperation(_))));
        h.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810."));
        assert!(matches!(target(&h, "DynamoDB_20120810"), Err(ProtocolError::UnknownOperation(_))));
    }

    #[test]
    fn decodes_and_validates() {
        let ok: Input = decode(br#"{"TableName":"t","Limit":3}"#, &["TableName"]).expect("valid");
        assert_eq!(ok, Input { table_name: "t".into(), limit: Some(3) });
        assert_eq!(
            decode::<Input>(br#"{"TableName":null}"#, &["TableName"]),
            Err(ProtocolError::MissingMembers(vec!["TableName".into()]))
        );
        assert_eq!(
            decode::<Input>(b"", &["TableName"]),
            Err(ProtocolError::MissingMembers(vec!["TableName".into()]))
        );
        assert!(matches!(
            decode::<Input>(br#"{"TableName":5}"#, &["TableName"]),
            Err(ProtocolError::Serialization(_))
        ));
        assert!(matches!(
            decode::<Input>(br#"{"TableName":"#, &["TableName"]),
            Err(ProtocolError::Serialization(_))
        ));
        assert!(matches!(decode::<Input>(br#"[]"#, &[]), Err(ProtocolError::Serialization(_))));
        assert!(matches!(decode::<Input>(b"\xff\xfe", &[]), Err(ProtocolError::Serialization(_))));
    }
}
