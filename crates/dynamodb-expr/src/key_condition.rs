//! Key conditions (KeyConditionExpression and the legacy KeyConditions): equality on the
//! partition key and at most one condition on the sort key, checked against the key schema of
//! the table or index with DynamoDB's messages, in the order DynamoDB checks.

use std::cmp::Ordering;

use crate::condition::{Comparator, Condition, Operand, order};
use crate::{AttributeValue, Error, Item, KeySchema, Path};

/// A query's key condition: the partition to read and the range of sort keys in it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    /// The partition key's name and value.
    pub partition: (String, AttributeValue),
    /// The sort key's name and condition, if any.
    pub sort: Option<(String, SortCondition)>,
}

/// The one condition a query may put on the sort key.
#[derive(Clone, Debug, PartialEq)]
pub enum SortCondition {
    /// `=`, `<`, `<=`, `>`, `>=` (never `<>`).
    Compare(Comparator, AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

impl SortCondition {
    /// Whether a sort key value satisfies the condition.
    pub fn matches(&self, value: &AttributeValue) -> bool {
        let le = |a: &AttributeValue, b: &AttributeValue| {
            matches!(order(a, b), Some(Ordering::Less | Ordering::Equal))
        };
        match self {
            Self::Compare(op, bound) => match (op, order(value, bound)) {
                (_, None) => false,
                (Comparator::Eq, Some(o)) => o == Ordering::Equal,
                (Comparator::Ne, Some(o)) => o != Ordering::Equal,
                (Comparator::Lt, Some(o)) => o == Ordering::Less,
                (Comparator::Le, Some(o)) => o != Ordering::Greater,
                (Comparator::Gt, Some(o)) => o == Ordering::Greater,
                (Comparator::Ge, Some(o)) => o != Ordering::Less,
            },
            Self::Between(low, high) => le(low, value) && le(value, high),
            Self::BeginsWith(prefix) => match (value, prefix) {
                (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
                (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
                _ => false,
            },
        }
    }

    /// The constants of the condition, for the type check against the schema.
    fn values(&self) -> Vec<&AttributeValue> {
        match self {
            Self::Compare(_, v) | Self::BeginsWith(v) => vec![v],
            Self::Between(low, high) => vec![low, high],
        }
    }
}

impl KeyCondition {
    /// Whether an item's key satisfies the condition.
    pub fn matches(&self, item: &Item) -> bool {
        let (name, value) = &self.partition;
        if item.get(name) != Some(value) {
            return false;
        }
        match &self.sort {
            Some((name, condition)) => item.get(name).is_some_and(|v| condition.matches(v)),
            None => true,
        }
    }
}

fn refuse(message: &str) -> Error {
    Error::KeyCondition(message.to_owned())
}

fn invalid_operator(name: &str) -> Error {
    Error::KeyCondition(format!("Invalid operator used in KeyConditionExpression: {name}"))
}

/// The first operator a key condition may not use, in reading order.
fn check_operators(condition: &Condition) -> Result<(), Error> {
    match condition {
        Condition::And(a, b) => {
            check_operators(a)?;
            check_operators(b)
        }
        Condition::Or(..) => Err(invalid_operator("OR")),
        Condition::Not(_) => Err(invalid_operator("NOT")),
        Condition::In(..) => Err(invalid_operator("IN")),
        Condition::Compare(Comparator::Ne, ..) => Err(invalid_operator("<>")),
        Condition::AttributeExists(_) => Err(invalid_operator("attribute_exists")),
        Condition::AttributeNotExists(_) => Err(invalid_operator("attribute_not_exists")),
        Condition::Contains(..) => Err(invalid_operator("contains")),
        Condition::AttributeType(..) => Err(invalid_operator("attribute_type")),
        Condition::Compare(..) | Condition::Between(..) | Condition::BeginsWith(..) => Ok(()),
    }
}

fn flatten<'c>(condition: &'c Condition, out: &mut Vec<&'c Condition>) {
    match condition {
        Condition::And(a, b) => {
            flatten(a, out);
            flatten(b, out);
        }
        other => out.push(other),
    }
}

/// The key attribute of one condition: exactly one top-level path among its operands.
fn key_attribute<'c>(operands: &[&'c Operand]) -> Result<&'c Path, Error> {
    let mut found: Option<&Path> = None;
    for operand in operands {
        match operand {
            Operand::Size(_) => {
                return Err(refuse("KeyConditionExpressions cannot contain nested operations"));
            }
            Operand::Path(path) => {
                if found.is_some() {
                    return Err(refuse(
                        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
                    ));
                }
                if !path.is_top_level() {
                    return Err(refuse(
                        "KeyConditionExpressions cannot have conditions on nested attributes",
                    ));
                }
                found = Some(path);
            }
            Operand::Value(_) => {}
        }
    }
    found.ok_or_else(|| refuse("Invalid condition in KeyConditionExpression: No key attribute specified"))
}

fn constant(operand: &Operand) -> AttributeValue {
    match operand {
        Operand::Value(v) => v.clone(),
        // `key_attribute` allowed exactly one path, and it is the key, not this operand.
        _ => AttributeValue::Null,
    }
}

/// One condition of the AND chain as (key name, sort-style condition).
fn leaf(condition: &Condition) -> Result<(String, SortCondition), Error> {
    let first_operand = |op: &Operand, name: &str| {
        if matches!(op, Operand::Value(_)) {
            Err(refuse(&format!(
                "Invalid condition in KeyConditionExpression: {name} operator must have the key attribute as its first operand"
            )))
        } else {
            Ok(())
        }
    };
    match condition {
        Condition::Compare(op, a, b) => {
            let key = key_attribute(&[a, b])?;
            // `:v < k` reads as `k > :v`.
            let (op, value) =
                if matches!(a, Operand::Path(_)) { (*op, constant(b)) } else { (op.flipped(), constant(a)) };
            Ok((key.top().to_owned(), SortCondition::Compare(op, value)))
        }
        Condition::Between(x, low, high) => {
            first_operand(x, "BETWEEN")?;
            let key = key_attribute(&[x, low, high])?;
            Ok((key.top().to_owned(), SortCondition::Between(constant(low), constant(high))))
        }
        Condition::BeginsWith(a, prefix) => {
            first_operand(a, "begins_with")?;
            let key = key_attribute(&[a, prefix])?;
            Ok((key.top().to_owned(), SortCondition::BeginsWith(constant(prefix))))
        }
        _ => Err(refuse("Query key condition not supported")),
    }
}

pub(crate) fn from_condition(condition: &Condition, schema: &KeySchema) -> Result<KeyCondition, Error> {
    check_operators(condition)?;
    let mut leaves = Vec::new();
    flatten(condition, &mut leaves);
    let conditions = leaves.into_iter().map(leaf).collect::<Result<Vec<_>, _>>()?;
    from_parts(conditions, schema)
}

/// Checks per-key conditions (from an expression or from the legacy KeyConditions) against
/// the schema.
pub(crate) fn from_parts(
    conditions: Vec<(String, SortCondition)>,
    schema: &KeySchema,
) -> Result<KeyCondition, Error> {
    for (i, (name, _)) in conditions.iter().enumerate() {
        if conditions[..i].iter().any(|(n, _)| n == name) {
            return Err(refuse("KeyConditionExpressions must only contain one condition per key"));
        }
    }
    if conditions.len() > 2 {
        return Err(refuse("Conditions can be of length 1 or 2 only"));
    }
    let partition_name = &schema.partition.name;
    let Some(partition_at) = conditions.iter().position(|(n, _)| n == partition_name) else {
        return Err(Error::KeyCondition(format!(
            "Query condition missed key schema element: {partition_name}"
        )));
    };
    if conditions.iter().any(|(n, _)| !schema.is_key(n)) {
        return Err(refuse("Query key condition not supported"));
    }
    let mut conditions = conditions;
    let (_, partition) = conditions.remove(partition_at);
    let SortCondition::Compare(Comparator::Eq, partition_value) = partition else {
        return Err(refuse("Query key condition not supported"));
    };
    let type_mismatch =
        || Error::InvalidParameter("Condition parameter type does not match schema type".to_owned());
    if partition_value.value_type() != schema.partition.kind.value_type() {
        return Err(type_mismatch());
    }
    let sort = conditions.pop();
    if let (Some((_, condition)), Some(attribute)) = (&sort, &schema.sort)
        && condition.values().iter().any(|v| v.value_type() != attribute.kind.value_type())
    {
        return Err(type_mismatch());
    }
    Ok(KeyCondition { partition: (partition_name.clone(), partition_value), sort })
}
