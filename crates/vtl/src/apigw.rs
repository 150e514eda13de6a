//! API Gateway's mapping-template variables for one request: `$input` (the body being mapped,
//! the method request's parameters), `$util`, `$context` (with the writable `requestOverride`
//! and `responseOverride`) and `$stageVariables`; and the overrides read back after a render.

use std::cell::RefCell;

use base64::Engine as _;

use crate::Template;
use crate::jsonpath::JsonPath;
use crate::render::{Context, Host, Limits, RenderError};
use crate::value::{Map, Value};

/// The method request's parameters, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub path: Vec<(String, String)>,
    pub querystring: Vec<(String, String)>,
    pub header: Vec<(String, String)>,
}

impl Params {
    /// `$input.params('name')`: path first, then the query string, then the headers (whose
    /// names are case-insensitive).
    pub fn find(&self, name: &str) -> Option<&str> {
        fn exact<'a>(list: &'a [(String, String)], name: &str) -> Option<&'a str> {
            list.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }
        exact(&self.path, name).or_else(|| exact(&self.querystring, name)).or_else(|| {
            self.header.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        })
    }

    fn to_value(&self) -> Value {
        let map = |list: &[(String, String)]| {
            Value::Map(list.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
        };
        let mut m = Map::new();
        m.insert("path", map(&self.path));
        m.insert("querystring", map(&self.querystring));
        m.insert("header", map(&self.header));
        Value::Map(m)
    }
}

/// Everything a mapping template can see.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The payload being mapped: the method request body for request templates, the
    /// integration's response body for response templates.
    pub body: String,
    pub params: Params,
    /// `$context`: built with `ContextVars::to_map` and any extra keys the caller has.
    pub context: Map,
    pub stage_variables: Vec<(String, String)>,
}

/// The usual `$context` keys of a REST API request.
#[derive(Debug, Clone, Default)]
pub struct ContextVars {
    pub account_id: String,
    pub api_id: String,
    pub domain_name: String,
    pub http_method: String,
    pub path: String,
    pub protocol: String,
    pub request_id: String,
    pub request_time: String,
    pub request_time_epoch: i64,
    pub resource_id: String,
    pub resource_path: String,
    pub stage: String,
    pub source_ip: String,
    pub user_agent: String,
    /// `$context.authorizer.*`: what a Lambda authorizer returned in `context`, and
    /// `principalId`.
    pub authorizer: Map,
}

impl ContextVars {
    pub fn to_map(&self) -> Map {
        let s = |v: &str| Value::String(v.to_owned());
        let mut identity = Map::new();
        identity.insert("sourceIp", s(&self.source_ip));
        identity.insert("userAgent", s(&self.user_agent));
        identity.insert("accountId", Value::Null);
        identity.insert("apiKey", Value::Null);
        identity.insert("caller", Value::Null);
        identity.insert("user", Value::Null);
        identity.insert("userArn", Value::Null);
        let mut m = Map::new();
        m.insert("accountId", s(&self.account_id));
        m.insert("apiId", s(&self.api_id));
        m.insert("authorizer", Value::Map(self.authorizer.clone()));
        m.insert("domainName", s(&self.domain_name));
        m.insert("domainPrefix", s(self.domain_name.split('.').next().unwrap_or_default()));
        m.insert("extendedRequestId", s(&self.request_id));
        m.insert("httpMethod", s(&self.http_method));
        m.insert("identity", Value::Map(identity));
        m.insert("path", s(&self.path));
        m.insert("protocol", s(&self.protocol));
        m.insert("requestId", s(&self.request_id));
        m.insert("requestTime", s(&self.request_time));
        m.insert("requestTimeEpoch", Value::Int(self.request_time_epoch));
        m.insert("resourceId", s(&self.resource_id));
        m.insert("resourcePath", s(&self.resource_path));
        m.insert("stage", s(&self.stage));
        m
    }
}

/// Header, query string, path and status overrides a template set through `$context`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub request_headers: Vec<(String, String)>,
    pub request_querystring: Vec<(String, String)>,
    pub request_path: Vec<(String, String)>,
    pub response_status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
}

/// A rendered mapping template.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub body: String,
    pub overrides: Overrides,
}

/// Why a mapping template produced nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `$input.json`/`$input.path` on a body that is not JSON; API Gateway answers 400.
    #[error("Could not parse request body into json: {0}")]
    InvalidJson(String),
    /// Anything else; API Gateway answers 500 `Internal server error`.
    #[error(transparent)]
    Template(#[from] RenderError),
}

/// API Gateway's limits: `#foreach` stops after 1,000 turns.
pub fn limits() -> Limits {
    Limits { max_loop: 1000, ..Limits::default() }
}

/// Renders `template` for `request`.
pub fn render(template: &Template, request: &Request) -> Result<Output, Error> {
    let host = ApiHost { request, json: RefCell::new(None) };
    let mut ctx = Context::with_host(&host);
    ctx.limits = limits();
    ctx.literal_null_chains = false;
    let mut context = request.context.clone();
    let empty = || Value::Map(Map::new());
    let mut req = Map::new();
    req.insert("header", empty());
    req.insert("querystring", empty());
    req.insert("path", empty());
    context.insert("requestOverride", Value::Map(req));
    let mut resp = Map::new();
    resp.insert("header", empty());
    context.insert("responseOverride", Value::Map(resp));
    ctx.set("context", Value::Map(context));
    ctx.set(
        "stageVariables",
        Value::Map(
            request.stage_variables.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
        ),
    );
    let rendered = match template.render_full(&ctx) {
        Ok(r) => r,
        Err(e) => {
            if let Some(Err(bad)) = host.json.borrow().as_ref() {
                return Err(Error::InvalidJson(bad.clone()));
            }
            return Err(Error::Template(e));
        }
    };
    let mut overrides = Overrides::default();
    if let Some(Value::Map(context)) = rendered.vars.get("context") {
        let strings = |v: Option<&Value>| -> Vec<(String, String)> {
            match v {
                Some(Value::Map(m)) => m
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.to_java_string()))
                    .collect(),
                _ => Vec::new(),
            }
        };
        if let Some(Value::Map(req)) = context.get("requestOverride") {
            overrides.request_headers = strings(req.get("header"));
            overrides.request_querystring = strings(req.get("querystring"));
            overrides.request_path = strings(req.get("path"));
        }
        if let Some(Value::Map(resp)) = context.get("responseOverride") {
            overrides.response_headers = strings(resp.get("header"));
            overrides.response_status = match resp.get("status") {
                Some(Value::Int(n)) => u16::try_from(*n).ok(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
        }
    }
    Ok(Output { body: rendered.output, overrides })
}

struct ApiHost<'r> {
    request: &'r Request,
    /// The body parsed once, on first use.
    json: RefCell<Option<Result<Value, String>>>,
}

impl ApiHost<'_> {
    fn body_json(&self) -> Result<Value, String> {
        let mut cached = self.json.borrow_mut();
        let parsed = cached.get_or_insert_with(|| {
            let body = self.request.body.trim();
            if body.is_empty() {
                return Ok(Value::Map(Map::new()));
            }
            Value::parse_json(body)
        });
        parsed.clone().map_err(|e| format!("Could not parse request body into json: {e}"))
    }

    fn select(&self, args: &[Value]) -> Result<Option<Value>, String> {
        let path = match args {
            [Value::String(p)] => p.clone(),
            [other] => other.to_java_string(),
            _ => return Err("expected one JSONPath argument".into()),
        };
        let path = JsonPath::parse(&path)?;
        let doc = self.body_json()?;
        Ok(path.select(&doc))
    }
}

fn one_string(args: &[Value]) -> Result<Option<String>, String> {
    match args {
        [Value::Null] => Ok(None),
        [v] => Ok(Some(v.to_java_string())),
        _ => Err("expected one argument".into()),
    }
}

impl Host for ApiHost<'_> {
    fn has(&self, name: &str) -> bool {
        matches!(name, "input" | "util")
    }

    fn property(&self, name: &str, property: &str) -> Result<Value, String> {
        Ok(match (name, property) {
            ("input", "body") => Value::String(self.request.body.clone()),
            _ => Value::Null,
        })
    }

    fn call(&self, name: &str, method: &str, args: &[Value]) -> Result<Value, String> {
        match (name, method) {
            ("input", "json") => Ok(Value::String(match self.select(args)? {
                Some(node) => node.to_json_text(),
                None => "null".into(),
            })),
            ("input", "path") => Ok(self.select(args)?.unwrap_or(Value::Null)),
            ("input", "params") => match args {
                [] => Ok(self.request.params.to_value()),
                [v] => Ok(self
                    .request
                    .params
                    .find(&v.to_java_string())
                    .map_or(Value::Null, |s| Value::String(s.to_owned()))),
                _ => Err("params takes zero or one argument".into()),
            },
            ("util", _) => {
                let Some(s) = one_string(args)? else { return Ok(Value::Null) };
                util(method, &s)
            }
            _ => Ok(Value::Null),
        }
    }
}

fn util(method: &str, s: &str) -> Result<Value, String> {
    Ok(Value::String(match method {
        "escapeJavaScript" => escape_javascript(s),
        "base64Encode" => base64::engine::general_purpose::STANDARD.encode(s),
        "base64Decode" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| format!("invalid base64: {e}"))?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        "urlEncode" => url_encode(s),
        "urlDecode" => url_decode(s)?,
        "parseJson" => {
            return Value::parse_json(s).map_err(|e| format!("parseJson: {e}"));
        }
        _ => return Ok(Value::Null),
    }))
}

/// Commons Lang 2's `StringEscapeUtils.escapeJavaScript`, which API Gateway uses: quotes,
/// backslash and slash escaped, control characters and everything past ASCII as `\uXXXX`
/// (UTF-16 units, upper-case hex).
pub fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04X}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Java's `URLEncoder.encode(s, "UTF-8")`.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, "UTF-8")`.
pub fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let b = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| "URLDecoder: Illegal hex characters in escape (%) pattern".to_owned())?;
                out.push(b);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
