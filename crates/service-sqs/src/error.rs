//! SQS's errors: one variant per error code this service answers, mapped to the wire in one
//! exhaustive match, in either protocol.
//!
//! SQS moved from the query protocol to awsJson 1.0 with the `awsQueryCompatible` trait: a JSON
//! error carries the model's shape name in `__type` (`com.amazonaws.sqs#QueueDoesNotExist`) and
//! the legacy query code with its fault in the `x-amzn-query-error` header
//! (`AWS.SimpleQueueService.NonExistentQueue;Sender`), which is the code SDKs report. Codes the
//! model does not define (`InvalidParameterValue`, `MissingParameter`) travel as coral's
//! `com.amazon.coral.service#…Exception` shapes, as SQS sends them.

use http::{HeaderValue, StatusCode};
use protocol::{ErrorInfo, Fault, Protocol, RequestContext, Response, ServiceError, error_response};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("queue does not exist")]
    QueueDoesNotExist,
    /// CreateQueue of an existing name with other attribute values.
    #[error("queue name exists: {0}")]
    QueueNameExists(String),
    #[error("invalid parameter value: {0}")]
    InvalidParameterValue(String),
    /// A required parameter is absent; holds the parameter's name.
    #[error("missing parameter {0}")]
    MissingParameter(String),
    #[error("invalid attribute name: {0}")]
    InvalidAttributeName(String),
    #[error("invalid attribute value: {0}")]
    InvalidAttributeValue(String),
    #[error("invalid message contents: {0}")]
    InvalidMessageContents(String),
    #[error("receipt handle is invalid: {0}")]
    ReceiptHandleIsInvalid(String),
    #[error("message not in flight")]
    MessageNotInflight,
    #[error("purge queue in progress: {0}")]
    PurgeQueueInProgress(String),
    #[error("empty batch: {0}")]
    EmptyBatchRequest(String),
    #[error("too many entries: {0}")]
    TooManyEntriesInBatchRequest(String),
    #[error("batch entry ids not distinct: {0}")]
    BatchEntryIdsNotDistinct(String),
    #[error("invalid batch entry id")]
    InvalidBatchEntryId,
    #[error("batch request too long: {0}")]
    BatchRequestTooLong(String),
    #[error("resource not found: {0}")]
    ResourceNotFoundException(String),
    #[error("unsupported operation: {0}")]
    UnsupportedOperation(String),
    /// The body could not be read, or a member had the wrong type.
    #[error("serialization: {0}")]
    SerializationException(String),
    /// The action or target names no SQS operation.
    #[error("invalid action {0}")]
    InvalidAction(String),
    /// The store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    InternalError(#[source] StorageError),
}

/// How one error goes on the wire: the query code, the JSON shape, the status and the message.
struct Wire {
    query_code: &'static str,
    /// The shape in the JSON `__type`; `None` for codes outside the model (coral's shape).
    shape: Option<&'static str>,
    status: StatusCode,
    message: String,
}

impl Error {
    /// `Value {value} for parameter {name} is invalid. Reason: {reason}.`, SQS's wording.
    pub fn invalid_value(name: &str, value: impl std::fmt::Display, reason: &str) -> Error {
        Error::InvalidParameterValue(format!(
            "Value {value} for parameter {name} is invalid. Reason: {reason}."
        ))
    }

    fn wire(&self) -> Wire {
        let bad = StatusCode::BAD_REQUEST;
        let w = |query_code, shape, status, message: &str| Wire {
            query_code,
            shape,
            status,
            message: message.to_owned(),
        };
        match self {
            Error::QueueDoesNotExist => w(
                "AWS.SimpleQueueService.NonExistentQueue",
                Some("QueueDoesNotExist"),
                bad,
                "The specified queue does not exist.",
            ),
            Error::QueueNameExists(m) => w("QueueAlreadyExists", Some("QueueNameExists"), bad, m),
            Error::InvalidParameterValue(m) => w("InvalidParameterValue", None, bad, m),
            Error::MissingParameter(name) => {
                w("MissingParameter", None, bad, &format!("The request must contain the parameter {name}."))
            }
            Error::InvalidAttributeName(m) => w("InvalidAttributeName", Some("InvalidAttributeName"), bad, m),
            Error::InvalidAttributeValue(m) => {
                w("InvalidAttributeValue", Some("InvalidAttributeValue"), bad, m)
            }
            Error::InvalidMessageContents(m) => {
                w("InvalidMessageContents", Some("InvalidMessageContents"), bad, m)
            }
            Error::ReceiptHandleIsInvalid(m) => {
                w("ReceiptHandleIsInvalid", Some("ReceiptHandleIsInvalid"), bad, m)
            }
            Error::MessageNotInflight => w(
                "AWS.SimpleQueueService.MessageNotInflight",
                Some("MessageNotInflight"),
                bad,
                "Message does not exist or is not available for visibility timeout change.",
            ),
            Error::PurgeQueueInProgress(m) => w(
                "AWS.SimpleQueueService.PurgeQueueInProgress",
                Some("PurgeQueueInProgress"),
                StatusCode::FORBIDDEN,
                m,
            ),
            Error::EmptyBatchRequest(m) => {
                w("AWS.SimpleQueueService.EmptyBatchRequest", Some("EmptyBatchRequest"), bad, m)
            }
            Error::TooManyEntriesInBatchRequest(m) => w(
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                Some("TooManyEntriesInBatchRequest"),
                bad,
                m,
            ),
            Error::BatchEntryIdsNotDistinct(m) => {
                w("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", Some("BatchEntryIdsNotDistinct"), bad, m)
            }
            Error::InvalidBatchEntryId => w(
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                Some("InvalidBatchEntryId"),
                bad,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ),
            Error::BatchRequestTooLong(m) => {
                w("AWS.SimpleQueueService.BatchRequestTooLong", Some("BatchRequestTooLong"), bad, m)
            }
            Error::ResourceNotFoundException(m) => {
                w("ResourceNotFoundException", Some("ResourceNotFoundException"), StatusCode::NOT_FOUND, m)
            }
            Error::UnsupportedOperation(m) => {
                w("AWS.SimpleQueueService.UnsupportedOperation", Some("UnsupportedOperation"), bad, m)
            }
            Error::SerializationException(m) => w("SerializationException", None, bad, m),
            Error::InvalidAction(action) => {
                w("InvalidAction", None, bad, &format!("The action {action} is not valid for this endpoint."))
            }
            Error::InternalError(_) => w(
                "InternalError",
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "We encountered an internal error. Please try again.",
            ),
        }
    }

    /// The error in the protocol the request came in.
    pub fn into_response(self, protocol: Protocol, ctx: &RequestContext) -> Response {
        if let Error::InternalError(source) = &self {
            tracing::error!(error = %source, "sqs request failed in the store");
        }
        let wire = self.wire();
        let info = self.to_wire();
        if protocol == Protocol::Query {
            // SQS's query errors carry the service namespace, unlike the shared shape.
            let mut resp = error_response(Protocol::Query, ctx, &info);
            let mut w = protocol::xml::XmlWriter::new();
            w.open_ns("ErrorResponse", "http://queue.amazonaws.com/doc/2012-11-05/");
            w.open("Error");
            w.leaf("Type", if info.fault == Fault::Sender { "Sender" } else { "Receiver" });
            w.leaf("Code", &info.code);
            w.leaf("Message", &info.message);
            w.leaf("Detail", "");
            w.close("Error");
            w.leaf("RequestId", ctx.request_id.as_str());
            w.close("ErrorResponse");
            *resp.body_mut() = bytes::Bytes::from(w.finish());
            return resp;
        }
        let type_name = match wire.shape {
            Some(shape) => format!("com.amazonaws.sqs#{shape}"),
            // A code that already names an exception (`SerializationException`) keeps its name.
            None if wire.query_code.ends_with("Exception") => {
                format!("com.amazon.coral.service#{}", wire.query_code)
            }
            None => format!("com.amazon.coral.service#{}Exception", wire.query_code),
        };
        let json_info = ErrorInfo { code: type_name.into(), ..info.clone() };
        let mut resp = error_response(Protocol::AwsJson1_0, ctx, &json_info);
        let fault = match info.fault {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        };
        if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", wire.query_code)) {
            resp.headers_mut().insert("x-amzn-query-error", v);
        }
        resp
    }
}

impl ServiceError for Error {
    /// The query-protocol view: the legacy code, which is also what SDKs show for JSON errors.
    fn to_wire(&self) -> ErrorInfo {
        let wire = self.wire();
        ErrorInfo::new(wire.query_code, wire.status, wire.message)
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::InternalError(e)
    }
}

impl From<storage::CommitError> for Error {
    fn from(e: storage::CommitError) -> Error {
        match e {
            storage::CommitError::Storage(e) => Error::InternalError(e),
            // Callers that use preconditions handle their failure before converting.
            storage::CommitError::ConditionFailed { .. } => {
                Error::InternalError(StorageError::Corrupt("unexpected failed precondition".to_owned()))
            }
        }
    }
}

impl From<protocol::ProtocolError> for Error {
    fn from(e: protocol::ProtocolError) -> Error {
        use protocol::ProtocolError as P;
        match e {
            P::UnknownOperation(op) => Error::InvalidAction(op),
            P::MissingOperation => Error::MissingParameter("Action".to_owned()),
            P::Serialization(m) => Error::SerializationException(m),
            P::MissingMembers(members) => Error::MissingParameter(members.join(", ")),
            P::InvalidValue { message, .. } => Error::InvalidParameterValue(message),
        }
    }
}
