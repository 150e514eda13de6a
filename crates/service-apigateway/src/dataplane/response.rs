//! What a Lambda proxy integration returned, read the way API Gateway reads it. Format 1.0
//! accepts only `statusCode`, `headers`, `multiValueHeaders`, `body` and `isBase64Encoded`, with
//! the right types (anything else is a "Malformed Lambda proxy response"); format 2.0 also
//! takes `cookies`, and infers `200` with a JSON body when the function returned anything
//! without a `statusCode`.

use base64::Engine;
use serde_json::Value;

/// An integration response ready to be written to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProxyResponse {
    pub status: u16,
    /// In order; the same name may repeat (`Set-Cookie`, multi-value headers).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The function's output broke the proxy response contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

const V1_KEYS: &[&str] = &["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"];

/// Reads a payload format 1.0 response.
pub(crate) fn v1(payload: &[u8]) -> Result<ProxyResponse, Malformed> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| Malformed("not JSON"))?;
    let Value::Object(map) = &value else { return Err(Malformed("not an object")) };
    if map.keys().any(|k| !V1_KEYS.contains(&k.as_str())) {
        return Err(Malformed("unexpected member"));
    }
    let status = status(map.get("statusCode").ok_or(Malformed("no statusCode"))?)?;
    let mut headers = single_headers(map.get("headers"))?;
    if let Some(multi) = map.get("multiValueHeaders").filter(|v| !v.is_null()) {
        let Value::Object(multi) = multi else { return Err(Malformed("multiValueHeaders not an object")) };
        for (name, values) in multi {
            let Value::Array(values) = values else { return Err(Malformed("multi-value header not a list")) };
            // For the same name, multiValueHeaders wins over headers.
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            for v in values {
                headers.push((name.clone(), scalar(v)?));
            }
        }
    }
    let body = body(map.get("body"), map.get("isBase64Encoded"))?;
    Ok(ProxyResponse { status, headers, body })
}

/// Reads a payload format 2.0 response.
pub(crate) fn v2(payload: &[u8]) -> Result<ProxyResponse, Malformed> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| Malformed("not JSON"))?;
    let structured = match &value {
        Value::Object(map) if map.contains_key("statusCode") => Some(map),
        _ => None,
    };
    let Some(map) = structured else {
        // No statusCode: API Gateway infers 200 and returns what the function returned as JSON.
        return Ok(ProxyResponse {
            status: 200,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: payload.to_vec(),
        });
    };
    let status = status(&map["statusCode"])?;
    let mut headers = single_headers(map.get("headers"))?;
    if let Some(cookies) = map.get("cookies").filter(|v| !v.is_null()) {
        let Value::Array(cookies) = cookies else { return Err(Malformed("cookies not a list")) };
        for c in cookies {
            headers.push(("set-cookie".to_owned(), scalar(c)?));
        }
    }
    let body = body(map.get("body"), map.get("isBase64Encoded"))?;
    Ok(ProxyResponse { status, headers, body })
}

fn status(v: &Value) -> Result<u16, Malformed> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    n.filter(|n| (100..=599).contains(n))
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(Malformed("bad statusCode"))
}

fn single_headers(v: Option<&Value>) -> Result<Vec<(String, String)>, Malformed> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map.iter().map(|(k, v)| Ok((k.clone(), scalar(v)?))).collect(),
        Some(_) => Err(Malformed("headers not an object")),
    }
}

/// Header values may be strings, numbers or booleans; API Gateway writes them as text.
fn scalar(v: &Value) -> Result<String, Malformed> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Malformed("header value not a scalar")),
    }
}

fn body(body: Option<&Value>, base64: Option<&Value>) -> Result<Vec<u8>, Malformed> {
    let encoded = match base64 {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Malformed("isBase64Encoded not a boolean")),
    };
    let text = match body {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => s,
        Some(_) => return Err(Malformed("body not a string")),
    };
    if encoded {
        base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| Malformed("body not base64"))
    } else {
        Ok(text.clone().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn v1_reads_the_contract() {
        let r = v1(br#"{"statusCode":201,"headers":{"a":"1","X-M":"x","n":5},"multiValueHeaders":{"x-m":["p","q"]},"body":"hi"}"#)
            .expect("valid");
        assert_eq!(r.status, 201);
        assert_eq!(r.headers, h(&[("a", "1"), ("n", "5"), ("x-m", "p"), ("x-m", "q")]));
        assert_eq!(r.body, b"hi");
        let r = v1(br#"{"statusCode":"200","headers":null,"body":"aGk=","isBase64Encoded":true}"#)
            .expect("valid");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(v1(br#"{"statusCode":204}"#).map(|r| r.body), Ok(Vec::new()));
    }

    #[test]
    fn v1_malformed_cases() {
        for bad in [
            &b"not json"[..],
            b"\"just a string\"",
            b"{}",
            br#"{"statusCode":200,"extra":1}"#,
            br#"{"statusCode":"abc"}"#,
            br#"{"statusCode":99}"#,
            br#"{"statusCode":200,"body":{"a":1}}"#,
            br#"{"statusCode":200,"headers":[]}"#,
            br#"{"statusCode":200,"headers":{"a":{"b":1}}}"#,
            br#"{"statusCode":200,"multiValueHeaders":{"a":"b"}}"#,
            br#"{"statusCode":200,"isBase64Encoded":"yes","body":"x"}"#,
            br#"{"statusCode":200,"isBase64Encoded":true,"body":"***"}"#,
        ] {
            assert!(v1(bad).is_err(), "{} should be malformed", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn v2_infers_a_response_without_status_code() {
        for payload in [&br#"{"hello":"world"}"#[..], b"\"text\"", b"42", b"[1,2]", b"null"] {
            let r = v2(payload).expect("inferred");
            assert_eq!(r.status, 200);
            assert_eq!(r.headers, h(&[("content-type", "application/json")]));
            assert_eq!(r.body, payload);
        }
    }

    #[test]
    fn v2_structured_response_with_cookies() {
        let r = v2(br#"{"statusCode":302,"headers":{"location":"/x"},"cookies":["a=1","b=2"],"body":"","extra":true}"#)
            .expect("valid");
        assert_eq!(r.status, 302);
        assert_eq!(r.headers, h(&[("location", "/x"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]));
        assert!(v2(b"{not json").is_err());
        assert!(v2(br#"{"statusCode":"x"}"#).is_err());
        assert!(v2(br#"{"statusCode":200,"cookies":"a=1"}"#).is_err());
    }
}
