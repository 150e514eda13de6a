//! The one error type of the crate: every refusal DynamoDB answers with a `ValidationException`
//! (or, for a malformed JSON shape, a `SerializationException`), worded as DynamoDB words it.
//!
//! The texts come from responses quoted in public SDK issues, emulator test suites that were
//! recorded against the real service, and the AWS documentation. Some carry DynamoDB's own
//! oddities on purpose (`An string set  may not be empty` with two spaces, `limit of2048`):
//! clients and tests match on them.

use std::fmt;

/// Which expression parameter an expression error is about: DynamoDB names it in the message
/// (`Invalid UpdateExpression: ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpressionKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    Projection,
}

impl ExpressionKind {
    /// The request parameter's name, as it appears in messages.
    pub fn parameter(self) -> &'static str {
        match self {
            Self::Condition => "ConditionExpression",
            Self::Filter => "FilterExpression",
            Self::KeyCondition => "KeyConditionExpression",
            Self::Update => "UpdateExpression",
            Self::Projection => "ProjectionExpression",
        }
    }
}

impl fmt::Display for ExpressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter())
    }
}

/// Everything this crate refuses. `Display` is the exact message DynamoDB sends.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The JSON has the wrong shape for an attribute value (a number where a string belongs, bad
    /// base64). DynamoDB answers these with a `SerializationException`.
    #[error("{0}")]
    Serialization(String),

    // --- Attribute values -------------------------------------------------------------------
    #[error("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")]
    EmptyAttributeValue,
    #[error(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
    )]
    MultipleDatatypes,
    #[error(
        "One or more parameter values were invalid: Null attribute value types must have the value of true"
    )]
    NullNotTrue,
    #[error("One or more parameter values were invalid: An string set  may not be empty")]
    EmptyStringSet,
    #[error("One or more parameter values were invalid: An number set  may not be empty")]
    EmptyNumberSet,
    #[error("One or more parameter values were invalid: Binary sets should not be empty")]
    EmptyBinarySet,
    /// The members as the client wrote them, joined with `, `.
    #[error("One or more parameter values were invalid: Input collection [{0}] contains duplicates.")]
    DuplicateStrings(String),
    #[error("Input collection contains duplicates")]
    DuplicateNumbers,
    /// The members base64-encoded as the client sent them; the missing space is DynamoDB's.
    #[error(
        "One or more parameter values were invalid: Input collection [{0}]of type BS contains duplicates."
    )]
    DuplicateBinaries(String),
    #[error("Nesting Levels have exceeded supported limits")]
    NestingTooDeep,

    // --- Numbers ----------------------------------------------------------------------------
    /// The text that is not a number; DynamoDB omits it (and the colon) for an empty string.
    #[error("The parameter cannot be converted to a numeric value{}", colon_suffix(.0))]
    NotANumber(String),
    #[error("Number overflow. Attempting to store a number with magnitude larger than supported range")]
    NumberOverflow,
    #[error("Number underflow. Attempting to store a number with magnitude smaller than supported range")]
    NumberUnderflow,
    #[error("Attempting to store more than 38 significant digits in a Number")]
    NumberPrecision,

    // --- Items and keys ---------------------------------------------------------------------
    #[error("Item size has exceeded the maximum allowed size")]
    ItemTooLarge,
    #[error("Item size to update has exceeded the maximum allowed size")]
    UpdatedItemTooLarge,
    #[error(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
    )]
    HashKeyTooLarge,
    #[error(
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    )]
    RangeKeyTooLarge,
    #[error(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {key}"
    )]
    EmptyKeyValue { kind: &'static str, key: String },
    #[error(
        "One or more parameter values were invalid: Type mismatch for key {key} expected: {expected} actual: {actual}"
    )]
    KeyTypeMismatch { key: String, expected: &'static str, actual: &'static str },
    #[error("One or more parameter values were invalid: Missing the key {0} in the item")]
    MissingKey(String),
    #[error("The provided key element does not match the schema")]
    KeyDoesNotMatchSchema,
    #[error("Cannot update attribute {0}. This attribute is part of the key")]
    KeyAttributeUpdated(String),

    // --- Expression parameters --------------------------------------------------------------
    #[error("Invalid {kind}: The expression can not be empty;")]
    EmptyExpression { kind: ExpressionKind },
    #[error("Invalid {kind}: Expression size has exceeded the maximum allowed size; expression size: {size}")]
    ExpressionTooLong { kind: ExpressionKind, size: usize },
    /// `token` is `<EOF>` at the end; `near` is the text around it, as DynamoDB quotes it.
    #[error("Invalid {kind}: Syntax error; token: \"{token}\", near: \"{near}\"")]
    Syntax { kind: ExpressionKind, token: String, near: String },
    /// Any other refusal of one expression; `reason` is the text after `Invalid <kind>: `.
    #[error("Invalid {kind}: {reason}")]
    Invalid { kind: ExpressionKind, reason: String },
    #[error("ExpressionAttributeNames must not be empty")]
    EmptyNames,
    #[error("ExpressionAttributeValues must not be empty")]
    EmptyValues,
    #[error("ExpressionAttributeNames contains invalid key: Syntax error; key: \"{0}\"")]
    InvalidNameKey(String),
    #[error("ExpressionAttributeValues contains invalid key: Syntax error; key: \"{0}\"")]
    InvalidValueKey(String),
    /// A value of `ExpressionAttributeValues` is invalid: the value error and the key.
    #[error("ExpressionAttributeValues contains invalid value: {reason} for key {key}")]
    InvalidValue { key: String, reason: Box<Error> },
    /// The unused placeholders, sorted, joined with `, `.
    #[error("Value provided in ExpressionAttributeNames unused in expressions: keys: {{{0}}}")]
    UnusedNames(String),
    #[error("Value provided in ExpressionAttributeValues unused in expressions: keys: {{{0}}}")]
    UnusedValues(String),
    #[error("ExpressionAttributeNames can only be specified when using expressions")]
    NamesWithoutExpressions,
    /// The expression parameters of the operation, each `X is null`, joined with ` and `.
    #[error("ExpressionAttributeValues can only be specified when using expressions: {0}")]
    ValuesWithoutExpressions(String),
    #[error(
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{legacy}}} Expression parameters: {{{expression}}}"
    )]
    MixedParameters { legacy: String, expression: String },

    // --- Key conditions (Query) -------------------------------------------------------------
    /// A message DynamoDB gives without the `Invalid KeyConditionExpression:` prefix.
    #[error("{0}")]
    KeyCondition(String),

    // --- Update evaluation ------------------------------------------------------------------
    #[error("The document path provided in the update expression is invalid for update")]
    InvalidUpdatePath,
    #[error("An operand in the update expression has an incorrect data type")]
    IncorrectOperandType,
    #[error("The provided expression refers to an attribute that does not exist in the item")]
    MissingAttribute,

    // --- Legacy parameters ------------------------------------------------------------------
    /// A `One or more parameter values were invalid: ...` refusal of a legacy condition.
    #[error("One or more parameter values were invalid: {0}")]
    InvalidParameter(String),
    #[error(
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    )]
    LegacyBetweenOrder,
    #[error("Attempted conditional constraint is not an indexable operation")]
    NotIndexable,

    // --- PartiQL ----------------------------------------------------------------------------
    /// A statement that does not parse; the detail says where.
    #[error("Statement wasn't well formed, can't be processed: {0}")]
    StatementSyntax(String),
    /// A statement that parses but cannot run as written (parameter count, set types).
    #[error("{0}")]
    InvalidStatement(String),
}

fn colon_suffix(text: &str) -> String {
    if text.is_empty() { String::new() } else { format!(": {text}") }
}

impl Error {
    /// The AWS error code this refusal goes on the wire with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Serialization(_) => "SerializationException",
            _ => "ValidationException",
        }
    }

    /// `Invalid <kind>: <reason>`.
    pub(crate) fn invalid(kind: ExpressionKind, reason: impl Into<String>) -> Self {
        Self::Invalid { kind, reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_dynamodb_quirks() {
        assert_eq!(
            Error::NotANumber(String::new()).to_string(),
            "The parameter cannot be converted to a numeric value"
        );
        assert_eq!(
            Error::NotANumber("abc".into()).to_string(),
            "The parameter cannot be converted to a numeric value: abc"
        );
        assert_eq!(
            Error::UnusedValues(":x".into()).to_string(),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"
        );
        assert_eq!(
            Error::MixedParameters { legacy: "Expected".into(), expression: "ConditionExpression".into() }
                .to_string(),
            "Can not use both expression and non-expression parameters in the same request: \
             Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"
        );
        assert_eq!(Error::Serialization("x".into()).code(), "SerializationException");
        assert_eq!(Error::NumberPrecision.code(), "ValidationException");
    }
}
