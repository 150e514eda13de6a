//! DynamoDB's data model and expression languages, sans IO: values in, values out.
//!
//! - [`AttributeValue`] and [`Item`]: the ten types, DynamoDB JSON in and out, validated as
//!   DynamoDB validates input; [`Number`] is an exact 38-digit decimal.
//! - [`size`]: item and key sizes as DynamoDB counts them for its limits; [`KeySchema`] checks
//!   keys.
//! - [`Placeholders`] parses a request's expressions (condition, filter, key condition, update,
//!   projection) with its ExpressionAttributeNames/Values into resolved trees: [`Condition`],
//!   [`KeyCondition`], [`UpdateExpression`], [`Projection`], which evaluate or apply to items.
//! - [`legacy`] translates the pre-expression parameters (Expected, AttributeUpdates,
//!   KeyConditions, QueryFilter/ScanFilter, AttributesToGet) into the same trees.
//!
//! - [`partiql`] parses PartiQL statements and renders them as the same expressions.
//!
//! Every refusal is an [`Error`] whose text is DynamoDB's message. Nothing here panics on client
//! input; `tests/garbage.rs` feeds random expressions and items to check it.
//!
//! Start reading at `resolve.rs` (the entry points), then `parse.rs` and `condition.rs`.

mod condition;
mod error;
mod key_condition;
mod keys;
pub mod legacy;
mod lex;
mod number;
mod parse;
pub mod partiql;
mod path;
mod projection;
mod reserved;
mod resolve;
pub mod size;
mod update;
mod value;

pub use condition::{Comparator, Condition, Operand};
pub use error::{Error, ExpressionKind};
pub use key_condition::{KeyCondition, SortCondition};
pub use keys::{KeyAttribute, KeySchema, ScalarType};
pub use number::{MAX_DIGITS, Number};
pub use path::{Path, PathElement};
pub use projection::Projection;
pub use reserved::is_reserved;
pub use resolve::{MAX_EXPRESSION_SIZE, Placeholders};
pub use update::{UpdateExpression, UpdateOutcome, UpdateValue};
pub use value::{AttributeValue, Item, MAX_NESTING, ValueType, item_from_json, item_to_json};

#[cfg(test)]
mod tests;
