//! Primary keys: the key schema of a table or index, and the checks DynamoDB makes on a key
//! before it reads or writes (presence, scalar type, non-empty, size limits).

use crate::size::{MAX_PARTITION_KEY_SIZE, MAX_SORT_KEY_SIZE};
use crate::{AttributeValue, Error, Item, ValueType};

/// The three types a key attribute can have (`AttributeDefinitions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    pub fn value_type(self) -> ValueType {
        match self {
            Self::S => ValueType::S,
            Self::N => ValueType::N,
            Self::B => ValueType::B,
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "S" => Some(Self::S),
            "N" => Some(Self::N),
            "B" => Some(Self::B),
            _ => None,
        }
    }
}

/// One key attribute: its name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub kind: ScalarType,
}

impl KeyAttribute {
    pub fn new(name: impl Into<String>, kind: ScalarType) -> Self {
        Self { name: name.into(), kind }
    }
}

/// The key schema of a table or an index: a partition (HASH) key and an optional sort (RANGE)
/// key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
}

impl KeySchema {
    pub fn new(partition: KeyAttribute, sort: Option<KeyAttribute>) -> Self {
        Self { partition, sort }
    }

    /// The key attributes' names, partition key first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.partition.name.as_str()).chain(self.sort.as_ref().map(|s| s.name.as_str()))
    }

    pub fn is_key(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// Checks the key attributes of an item being written (PutItem): present, of the declared
    /// type, not empty, not too large.
    pub fn check_item(&self, item: &Item) -> Result<(), Error> {
        for (attribute, is_partition) in self.attributes() {
            let value = item.get(&attribute.name).ok_or_else(|| Error::MissingKey(attribute.name.clone()))?;
            check_key_value(attribute, value, is_partition)?;
        }
        Ok(())
    }

    /// Checks a `Key` parameter (GetItem, UpdateItem, DeleteItem): exactly the key attributes,
    /// of the declared types, not empty, not too large.
    pub fn check_key(&self, key: &Item) -> Result<(), Error> {
        let expected = 1 + usize::from(self.sort.is_some());
        if key.len() != expected {
            return Err(Error::KeyDoesNotMatchSchema);
        }
        for (attribute, is_partition) in self.attributes() {
            let value = key.get(&attribute.name).ok_or(Error::KeyDoesNotMatchSchema)?;
            if value.value_type() != attribute.kind.value_type() {
                return Err(Error::KeyDoesNotMatchSchema);
            }
            check_key_value(attribute, value, is_partition)?;
        }
        Ok(())
    }

    /// The key of an item (the key attributes only), if it has them all.
    pub fn key_of(&self, item: &Item) -> Option<Item> {
        self.names().map(|n| item.get(n).map(|v| (n.to_owned(), v.clone()))).collect()
    }

    fn attributes(&self) -> impl Iterator<Item = (&KeyAttribute, bool)> {
        std::iter::once((&self.partition, true)).chain(self.sort.iter().map(|s| (s, false)))
    }
}

fn check_key_value(
    attribute: &KeyAttribute,
    value: &AttributeValue,
    is_partition: bool,
) -> Result<(), Error> {
    let expected = attribute.kind.value_type();
    if value.value_type() != expected {
        return Err(Error::KeyTypeMismatch {
            key: attribute.name.clone(),
            expected: expected.tag(),
            actual: value.value_type().tag(),
        });
    }
    let (len, kind) = match value {
        AttributeValue::S(s) => (s.len(), "string"),
        AttributeValue::B(b) => (b.len(), "binary"),
        // Numbers cannot be empty, and 38 digits are far below the limits.
        _ => return Ok(()),
    };
    if len == 0 {
        return Err(Error::EmptyKeyValue { kind, key: attribute.name.clone() });
    }
    if is_partition && len > MAX_PARTITION_KEY_SIZE {
        return Err(Error::HashKeyTooLarge);
    }
    if !is_partition && len > MAX_SORT_KEY_SIZE {
        return Err(Error::RangeKeyTooLarge);
    }
    Ok(())
}
