//! Errors on the wire: the shape every protocol gives an error, and the errors the protocol
//! layer itself raises before a service knows which operation it is serving.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::xml::XmlWriter;
use crate::{Protocol, RequestContext, Response};

/// Who is to blame, as query-protocol errors say in `<Type>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

/// An error as it goes on the wire, whatever the protocol: AWS's error code, its message and the
/// HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: StatusCode,
    pub fault: Fault,
}

impl ErrorInfo {
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        status: StatusCode,
        message: impl Into<String>,
    ) -> ErrorInfo {
        let fault = if status.is_server_error() { Fault::Receiver } else { Fault::Sender };
        ErrorInfo { code: code.into(), message: message.into(), status, fault }
    }

    /// The error a service answers for an operation or feature Nimbus does not implement yet.
    pub fn not_implemented(what: &str) -> ErrorInfo {
        ErrorInfo::new(
            "NotImplemented",
            StatusCode::NOT_IMPLEMENTED,
            format!("{what} is not implemented by Nimbus yet"),
        )
    }

    /// The generic internal error; the cause is logged by the caller, never sent to the client.
    pub fn internal() -> ErrorInfo {
        ErrorInfo::new(
            "InternalFailure",
            StatusCode::INTERNAL_SERVER_ERROR,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
}

/// A service's error enum: variants named after AWS error codes, mapped to the wire in one
/// exhaustive `match` inside the implementation.
pub trait ServiceError: std::error::Error {
    fn to_wire(&self) -> ErrorInfo;
}

/// What the protocol layer can reject before an operation runs. Each service decides how its
/// dialect words these (IAM says `ValidationError`, DynamoDB `ValidationException`, SQS
/// `MissingParameter`), usually through [`ProtocolError::default_wire`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The named operation does not exist in this service.
    #[error("unknown operation {0}")]
    UnknownOperation(String),
    /// A query request without `Action`, a JSON request without a usable `X-Amz-Target`.
    #[error("missing operation name")]
    MissingOperation,
    /// The body could not be read as the protocol's encoding, or a member had the wrong type.
    #[error("serialization: {0}")]
    Serialization(String),
    /// Required members were absent; the names are the wire names, in model order.
    #[error("missing members {0:?}")]
    MissingMembers(Vec<String>),
    /// A member was present but its value broke a constraint of the model.
    #[error("invalid value for {member}: {message}")]
    InvalidValue { member: String, message: String },
}

impl ProtocolError {
    /// How most services of `protocol` answer this rejection.
    pub fn default_wire(&self, protocol: Protocol) -> ErrorInfo {
        let bad = StatusCode::BAD_REQUEST;
        match (self, protocol) {
            (ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation, Protocol::Query) => {
                // The query services answer unknown actions with `InvalidAction`; the version is
                // added by `query::unknown_action`, which knows it.
                ErrorInfo::new(
                    "InvalidAction",
                    bad,
                    "The action or operation requested is invalid. Verify that the action is typed correctly.",
                )
            }
            (
                ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation,
                Protocol::RestJson | Protocol::RestXml,
            ) => ErrorInfo::new("UnknownOperationException", StatusCode::NOT_FOUND, ""),
            (ProtocolError::UnknownOperation(_) | ProtocolError::MissingOperation, _) => {
                ErrorInfo::new("UnknownOperationException", bad, "")
            }
            (ProtocolError::Serialization(m), Protocol::RestXml) => {
                ErrorInfo::new("MalformedXML", bad, m.clone())
            }
            (ProtocolError::Serialization(m), Protocol::Query) => {
                ErrorInfo::new("ValidationError", bad, m.clone())
            }
            (ProtocolError::Serialization(m), _) => ErrorInfo::new("SerializationException", bad, m.clone()),
            (ProtocolError::MissingMembers(members), p) => {
                let code = if p == Protocol::Query { "ValidationError" } else { "ValidationException" };
                ErrorInfo::new(
                    code,
                    bad,
                    validation_message(
                        members.iter().map(|m| (m.as_str(), "null", "Member must not be null")),
                    ),
                )
            }
            (ProtocolError::InvalidValue { message, .. }, p) => {
                let code = if p == Protocol::Query { "ValidationError" } else { "ValidationException" };
                ErrorInfo::new(code, bad, message.clone())
            }
        }
    }
}

/// The message AWS's model validation produces: `1 validation error detected: Value null at
/// 'roleName' failed to satisfy constraint: Member must not be null`. Member names are written
/// with a lowercase first letter, as AWS does. Each item is (member, value as shown, constraint).
pub fn validation_message<'a>(items: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> String {
    let parts: Vec<String> = items
        .into_iter()
        .map(|(member, value, constraint)| {
            let value = if value == "null" { value.to_owned() } else { format!("'{value}'") };
            format!("Value {value} at '{}' failed to satisfy constraint: {constraint}", lower_first(member))
        })
        .collect();
    let n = parts.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", parts.join("; "))
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Renders an error in `protocol`'s shape, with the request id header every protocol carries.
pub fn error_response(protocol: Protocol, ctx: &RequestContext, err: &ErrorInfo) -> Response {
    let request_id = ctx.request_id.as_str();
    let (content_type, body) = match protocol {
        Protocol::AwsJson1_0 | Protocol::AwsJson1_1 => {
            let body = serde_json::json!({ "__type": err.code, "message": err.message });
            (protocol.content_type(), body.to_string().into_bytes())
        }
        Protocol::RestJson => {
            let kind = match err.fault {
                Fault::Sender => "User",
                Fault::Receiver => "Service",
            };
            let body = serde_json::json!({ "Type": kind, "message": err.message });
            ("application/json", body.to_string().into_bytes())
        }
        Protocol::RestXml => {
            // S3's shape: a bare <Error> root, unlike the query protocol's <ErrorResponse>.
            let mut w = XmlWriter::with_declaration();
            w.open("Error");
            w.leaf("Code", &err.code);
            w.leaf("Message", &err.message);
            w.leaf("RequestId", request_id);
            w.close("Error");
            ("application/xml", w.finish())
        }
        Protocol::Query => {
            let mut w = XmlWriter::new();
            w.open("ErrorResponse");
            w.open("Error");
            w.leaf(
                "Type",
                match err.fault {
                    Fault::Sender => "Sender",
                    Fault::Receiver => "Receiver",
                },
            );
            w.leaf("Code", &err.code);
            w.leaf("Message", &err.message);
            w.close("Error");
            w.leaf("RequestId", request_id);
            w.close("ErrorResponse");
            ("text/xml", w.finish())
        }
    };
    let mut resp = http::Response::new(Bytes::from(body));
    *resp.status_mut() = err.status;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if protocol == Protocol::RestJson
        && let Ok(v) = HeaderValue::from_str(&err.code)
    {
        headers.insert("x-amzn-errortype", v);
    }
    crate::rest::set_request_id(headers, protocol, request_id);
    resp
}

#[cfg(test)]
mod tests;
