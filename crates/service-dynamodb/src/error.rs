//! DynamoDB's errors: one variant per AWS error code this service answers, mapped to the wire in
//! one exhaustive match. Messages are DynamoDB's wording, built where the error is raised; the
//! two errors that carry structured members (`Item`, `CancellationReasons`) carry them here too.

use http::StatusCode;
use protocol::{ErrorInfo, ProtocolError, ServiceError};
use serde_json::{Map, Value};
use storage::StorageError;

/// The message of `ResourceNotFoundException` for a table that does not exist on item and
/// table operations alike (DynamoDB's wording since 2023).
pub const TABLE_NOT_FOUND: &str = "Requested resource not found";
/// The message of `ConditionalCheckFailedException`.
pub const CONDITION_FAILED: &str = "The conditional request failed";
/// The message of `DuplicateItemException` (a PartiQL INSERT of an existing key).
pub const DUPLICATE_ITEM: &str = "Duplicate primary key exists in table";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: input DynamoDB refuses (model constraints, key schema, expressions, limits).
    #[error("validation: {0}")]
    ValidationException(String),
    /// 400: the body is not DynamoDB JSON of the expected shape.
    #[error("serialization: {0}")]
    SerializationException(String),
    /// 400: a table or index that is not there.
    #[error("not found: {0}")]
    ResourceNotFoundException(String),
    /// 400: a table that already exists, or one that is busy.
    #[error("in use: {0}")]
    ResourceInUseException(String),
    /// 400: a quota (tables per account, indexes per table).
    #[error("limit exceeded: {0}")]
    LimitExceededException(String),
    /// 400: a write's condition did not hold; `item` is the old item when the request asked for
    /// it with `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    #[error("conditional check failed")]
    ConditionalCheckFailedException { item: Option<Value> },
    /// 400: a PartiQL INSERT of a key that is already there.
    #[error("duplicate item")]
    DuplicateItemException,
    /// 400: a transaction did not apply; one reason per action, in request order.
    #[error("transaction canceled")]
    TransactionCanceledException { reasons: Vec<Value> },
    /// 400: another request kept changing the same item while this one read-modified-wrote it.
    #[error("transaction conflict")]
    TransactionConflictException,
    /// 400: the same ClientRequestToken with a different request.
    #[error("idempotent parameter mismatch")]
    IdempotentParameterMismatchException,
    /// 400 (Streams): a shard iterator older than 15 minutes.
    #[error("expired iterator: {0}")]
    ExpiredIteratorException(String),
    /// 400 (Streams): a position in the stream that is past its 24-hour retention.
    #[error("trimmed data: {0}")]
    TrimmedDataAccessException(String),
    /// 400: the `X-Amz-Target` names no DynamoDB operation.
    #[error("unknown operation {0}")]
    UnknownOperationException(String),
    /// 501: an operation of the DynamoDB model that Nimbus does not implement.
    #[error("{0} is not implemented")]
    NotImplemented(&'static str),
    /// 500: the store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error")]
    InternalServerError(#[source] StorageError),
}

impl Error {
    pub fn validation(message: impl Into<String>) -> Error {
        Error::ValidationException(message.into())
    }

    pub fn table_not_found() -> Error {
        Error::ResourceNotFoundException(TABLE_NOT_FOUND.to_owned())
    }

    /// The members besides `__type` and `message` that this error carries on the wire.
    pub fn extra_members(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        match self {
            Error::ConditionalCheckFailedException { item: Some(item) } => {
                extra.insert("Item".to_owned(), item.clone());
            }
            Error::TransactionCanceledException { reasons } => {
                extra.insert("CancellationReasons".to_owned(), Value::Array(reasons.clone()));
            }
            _ => {}
        }
        extra
    }
}

impl ServiceError for Error {
    fn to_wire(&self) -> ErrorInfo {
        let bad = StatusCode::BAD_REQUEST;
        let (code, message) = match self {
            Error::ValidationException(m) => ("ValidationException", m.clone()),
            Error::SerializationException(m) => ("SerializationException", m.clone()),
            Error::ResourceNotFoundException(m) => ("ResourceNotFoundException", m.clone()),
            Error::ResourceInUseException(m) => ("ResourceInUseException", m.clone()),
            Error::LimitExceededException(m) => ("LimitExceededException", m.clone()),
            Error::ConditionalCheckFailedException { .. } => {
                ("ConditionalCheckFailedException", CONDITION_FAILED.to_owned())
            }
            Error::DuplicateItemException => ("DuplicateItemException", DUPLICATE_ITEM.to_owned()),
            Error::TransactionCanceledException { reasons } => {
                let codes: Vec<&str> =
                    reasons.iter().map(|r| r.get("Code").and_then(Value::as_str).unwrap_or("None")).collect();
                (
                    "TransactionCanceledException",
                    format!(
                        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                        codes.join(", ")
                    ),
                )
            }
            Error::TransactionConflictException => {
                ("TransactionConflictException", "Transaction is ongoing for the item".to_owned())
            }
            Error::IdempotentParameterMismatchException => (
                "IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.".to_owned(),
            ),
            Error::ExpiredIteratorException(m) => ("ExpiredIteratorException", m.clone()),
            Error::TrimmedDataAccessException(m) => ("TrimmedDataAccessException", m.clone()),
            Error::UnknownOperationException(_) => ("UnknownOperationException", String::new()),
            Error::NotImplemented(op) => return ErrorInfo::not_implemented(op),
            Error::InternalServerError(_) => {
                return ErrorInfo::new(
                    "InternalServerError",
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error",
                );
            }
        };
        ErrorInfo::new(code, bad, message)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        match e {
            ProtocolError::UnknownOperation(op) => Error::UnknownOperationException(op),
            ProtocolError::MissingOperation => Error::UnknownOperationException(String::new()),
            ProtocolError::Serialization(m) => Error::SerializationException(m),
            other => {
                let info = other.default_wire(protocol::Protocol::AwsJson1_0);
                Error::ValidationException(info.message)
            }
        }
    }
}

impl From<dynamodb_expr::Error> for Error {
    fn from(e: dynamodb_expr::Error) -> Error {
        match e {
            dynamodb_expr::Error::Serialization(m) => Error::SerializationException(m),
            other => Error::ValidationException(other.to_string()),
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::InternalServerError(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_message_lists_reason_codes() {
        let e = Error::TransactionCanceledException {
            reasons: vec![
                serde_json::json!({"Code": "None"}),
                serde_json::json!({"Code": "ConditionalCheckFailed"}),
            ],
        };
        assert_eq!(
            e.to_wire().message,
            "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
        );
        assert!(e.extra_members().contains_key("CancellationReasons"));
    }
}
