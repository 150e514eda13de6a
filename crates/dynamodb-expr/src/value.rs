//! `AttributeValue`, the ten DynamoDB types, and their DynamoDB JSON form (`{"S": "x"}`, binary
//! as base64), validated on the way in exactly as DynamoDB validates request input.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::{Error, Number};

/// An item: attribute names to values. Ordered so that output and tests are deterministic
/// (DynamoDB promises no order).
pub type Item = BTreeMap<String, AttributeValue>;

/// How many containers (maps and lists) a value may be nested in.
pub const MAX_NESTING: usize = 32;

/// One DynamoDB value. Sets keep the members in the order they came in; comparison treats them
/// as sets.
#[derive(Clone, Debug)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(Item),
    L(Vec<AttributeValue>),
    SS(Vec<String>),
    NS(Vec<Number>),
    BS(Vec<Vec<u8>>),
}

/// The type of a value, named as DynamoDB names it in JSON and in `attribute_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    SS,
    NS,
    BS,
}

impl ValueType {
    /// The JSON tag: `S`, `BOOL`, `NULL`, ...
    pub fn tag(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::N => "N",
            Self::B => "B",
            Self::Bool => "BOOL",
            Self::Null => "NULL",
            Self::M => "M",
            Self::L => "L",
            Self::SS => "SS",
            Self::NS => "NS",
            Self::BS => "BS",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        Some(match tag {
            "S" => Self::S,
            "N" => Self::N,
            "B" => Self::B,
            "BOOL" => Self::Bool,
            "NULL" => Self::Null,
            "M" => Self::M,
            "L" => Self::L,
            "SS" => Self::SS,
            "NS" => Self::NS,
            "BS" => Self::BS,
            _ => return None,
        })
    }

    /// The long name UpdateExpression messages use (`operand type: STRING`).
    pub fn long_name(self) -> &'static str {
        match self {
            Self::S => "STRING",
            Self::N => "NUMBER",
            Self::B => "BINARY",
            Self::Bool => "BOOLEAN",
            Self::Null => "NULL",
            Self::M => "MAP",
            Self::L => "LIST",
            Self::SS => "STRING_SET",
            Self::NS => "NUMBER_SET",
            Self::BS => "BINARY_SET",
        }
    }

    pub fn is_set(self) -> bool {
        matches!(self, Self::SS | Self::NS | Self::BS)
    }
}

impl AttributeValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::S(_) => ValueType::S,
            Self::N(_) => ValueType::N,
            Self::B(_) => ValueType::B,
            Self::Bool(_) => ValueType::Bool,
            Self::Null => ValueType::Null,
            Self::M(_) => ValueType::M,
            Self::L(_) => ValueType::L,
            Self::SS(_) => ValueType::SS,
            Self::NS(_) => ValueType::NS,
            Self::BS(_) => ValueType::BS,
        }
    }

    /// A string value.
    pub fn s(text: impl Into<String>) -> Self {
        Self::S(text.into())
    }

    /// A number value from its text; panics on an invalid literal, so for tests and constants.
    pub fn n(text: &str) -> Self {
        Self::N(Number::parse(text).expect("a valid number literal"))
    }

    /// Reads one value in DynamoDB JSON and validates it as DynamoDB validates input.
    pub fn from_json(json: &Value) -> Result<Self, Error> {
        from_json_at(json, 0)
    }

    /// The DynamoDB JSON form.
    pub fn to_json(&self) -> Value {
        let (tag, inner) = match self {
            Self::S(s) => ("S", Value::String(s.clone())),
            Self::N(n) => ("N", Value::String(n.to_string())),
            Self::B(b) => ("B", Value::String(BASE64.encode(b))),
            Self::Bool(b) => ("BOOL", Value::Bool(*b)),
            Self::Null => ("NULL", Value::Bool(true)),
            Self::M(m) => ("M", item_to_json(m)),
            Self::L(l) => ("L", Value::Array(l.iter().map(Self::to_json).collect())),
            Self::SS(v) => ("SS", v.iter().cloned().map(Value::String).collect()),
            Self::NS(v) => ("NS", v.iter().map(|n| Value::String(n.to_string())).collect()),
            Self::BS(v) => ("BS", v.iter().map(|b| Value::String(BASE64.encode(b))).collect()),
        };
        let mut map = Map::with_capacity(1);
        map.insert(tag.to_owned(), inner);
        Value::Object(map)
    }
}

/// Reads an item (`{"name": {"S": "x"}, ...}`), validating every value.
pub fn item_from_json(json: &Value) -> Result<Item, Error> {
    map_from_json(json, 0)
}

/// The DynamoDB JSON form of an item.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

fn map_from_json(json: &Value, depth: usize) -> Result<Item, Error> {
    let Value::Object(map) = json else {
        return Err(shape_error(json, "map"));
    };
    let mut item = Item::new();
    for (name, value) in map {
        item.insert(name.clone(), from_json_at(value, depth)?);
    }
    Ok(item)
}

/// How DynamoDB's JSON reader refuses a value of the wrong JSON type.
fn shape_error(found: &Value, expected: &str) -> Error {
    Error::Serialization(match found {
        Value::Object(_) => "Start of structure or map found where not expected.".to_owned(),
        Value::Array(_) => "Start of list found where not expected".to_owned(),
        _ => format!("Expected {expected} or null"),
    })
}

fn string_of<'a>(json: &'a Value, what: &str) -> Result<&'a str, Error> {
    match json {
        Value::String(s) => Ok(s),
        Value::Number(_) | Value::Bool(_) => {
            Err(Error::Serialization(format!("NUMBER_VALUE or BOOLEAN cannot be converted to {what}")))
        }
        other => Err(shape_error(other, what)),
    }
}

fn list_of<'a>(json: &'a Value, what: &str) -> Result<&'a [Value], Error> {
    match json {
        Value::Array(a) => Ok(a),
        Value::Object(_) => Err(shape_error(json, what)),
        _ => Err(Error::Serialization("Expected list or null".to_owned())),
    }
}

fn binary_of(json: &Value) -> Result<Vec<u8>, Error> {
    let text = string_of(json, "Blob")?;
    BASE64
        .decode(text)
        .map_err(|e| Error::Serialization(format!("'{text}' can not be converted to a Blob: {e}")))
}

fn from_json_at(json: &Value, depth: usize) -> Result<AttributeValue, Error> {
    let Value::Object(fields) = json else {
        return Err(shape_error(json, "structure"));
    };
    // A member set to null counts as absent, as in every AWS JSON protocol; unknown members
    // are ignored.
    let present: Vec<(&String, &Value)> =
        fields.iter().filter(|(k, v)| !v.is_null() && ValueType::from_tag(k).is_some()).collect();
    if present.is_empty() {
        return Err(Error::EmptyAttributeValue);
    }
    // Each member's content is checked before the "more than one type" rule, as DynamoDB does.
    let mut value = None;
    for (tag, inner) in &present {
        let parsed = member_from_json(ValueType::from_tag(tag).expect("filtered above"), inner, depth)?;
        value.get_or_insert(parsed);
    }
    if present.len() > 1 {
        return Err(Error::MultipleDatatypes);
    }
    Ok(value.expect("one member present"))
}

fn member_from_json(kind: ValueType, inner: &Value, depth: usize) -> Result<AttributeValue, Error> {
    Ok(match kind {
        ValueType::S => AttributeValue::S(string_of(inner, "String")?.to_owned()),
        ValueType::N => AttributeValue::N(Number::parse(string_of(inner, "String")?)?),
        ValueType::B => AttributeValue::B(binary_of(inner)?),
        ValueType::Bool => match inner {
            Value::Bool(b) => AttributeValue::Bool(*b),
            other => return Err(shape_error(other, "Boolean")),
        },
        ValueType::Null => match inner {
            Value::Bool(true) => AttributeValue::Null,
            Value::Bool(false) => return Err(Error::NullNotTrue),
            other => return Err(shape_error(other, "Boolean")),
        },
        ValueType::M => {
            if depth >= MAX_NESTING {
                return Err(Error::NestingTooDeep);
            }
            AttributeValue::M(map_from_json(inner, depth + 1)?)
        }
        ValueType::L => {
            if depth >= MAX_NESTING {
                return Err(Error::NestingTooDeep);
            }
            let items = list_of(inner, "list")?;
            AttributeValue::L(items.iter().map(|v| from_json_at(v, depth + 1)).collect::<Result<_, _>>()?)
        }
        ValueType::SS => {
            let members = list_of(inner, "list")?
                .iter()
                .map(|v| string_of(v, "String").map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            check_string_set(&members)?;
            AttributeValue::SS(members)
        }
        ValueType::NS => {
            let members = list_of(inner, "list")?
                .iter()
                .map(|v| string_of(v, "String").and_then(Number::parse))
                .collect::<Result<Vec<_>, _>>()?;
            check_number_set(&members)?;
            AttributeValue::NS(members)
        }
        ValueType::BS => {
            let members = list_of(inner, "list")?.iter().map(binary_of).collect::<Result<Vec<_>, _>>()?;
            check_binary_set(&members)?;
            AttributeValue::BS(members)
        }
    })
}

/// A string set must be non-empty and hold no duplicates.
pub(crate) fn check_string_set(members: &[String]) -> Result<(), Error> {
    if members.is_empty() {
        return Err(Error::EmptyStringSet);
    }
    if has_duplicates(members) {
        return Err(Error::DuplicateStrings(members.join(", ")));
    }
    Ok(())
}

pub(crate) fn check_number_set(members: &[Number]) -> Result<(), Error> {
    if members.is_empty() {
        return Err(Error::EmptyNumberSet);
    }
    if has_duplicates(members) {
        return Err(Error::DuplicateNumbers);
    }
    Ok(())
}

pub(crate) fn check_binary_set(members: &[Vec<u8>]) -> Result<(), Error> {
    if members.is_empty() {
        return Err(Error::EmptyBinarySet);
    }
    if has_duplicates(members) {
        let shown: Vec<String> = members.iter().map(|b| BASE64.encode(b)).collect();
        return Err(Error::DuplicateBinaries(shown.join(", ")));
    }
    Ok(())
}

fn has_duplicates<T: Ord>(members: &[T]) -> bool {
    let mut sorted: Vec<&T> = members.iter().collect();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Sets are equal when they hold the same members, in any order (members are unique).
fn same_members<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

impl PartialEq for AttributeValue {
    fn eq(&self, other: &Self) -> bool {
        use AttributeValue::*;
        match (self, other) {
            (S(a), S(b)) => a == b,
            (N(a), N(b)) => a == b,
            (B(a), B(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Null, Null) => true,
            (M(a), M(b)) => a == b,
            (L(a), L(b)) => a == b,
            (SS(a), SS(b)) => same_members(a, b),
            (NS(a), NS(b)) => same_members(a, b),
            (BS(a), BS(b)) => same_members(a, b),
            _ => false,
        }
    }
}

impl Eq for AttributeValue {}

impl serde::Serialize for AttributeValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(deserializer)?;
        Self::from_json(&json).map_err(serde::de::Error::custom)
    }
}
