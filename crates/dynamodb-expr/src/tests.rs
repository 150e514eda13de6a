//! Tests, one file per area: numbers, values and sizes, each expression language, the legacy
//! parameters, and random input that must never panic.

mod condition;
mod garbage;
mod key_condition;
mod legacy;
mod number;
mod projection;
mod update;
mod value;

use std::collections::HashMap;

use crate::{AttributeValue, Item, Placeholders, item_from_json};

/// An item from DynamoDB JSON text.
fn item(json: &str) -> Item {
    item_from_json(&serde_json::from_str(json).expect("test JSON")).expect("test item")
}

/// One value from DynamoDB JSON text.
fn value(json: &str) -> AttributeValue {
    AttributeValue::from_json(&serde_json::from_str(json).expect("test JSON")).expect("test value")
}

/// Placeholders from `#name=attr` pairs and a JSON object of values (empty text for none).
fn placeholders(names: &[(&str, &str)], values: &str) -> Placeholders {
    let names =
        (!names.is_empty()).then(|| names.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    let values: Option<HashMap<String, AttributeValue>> =
        (!values.is_empty()).then(|| item(values).into_iter().collect());
    Placeholders::new(names, values).expect("test placeholders")
}
