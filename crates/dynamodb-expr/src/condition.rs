//! Conditions (ConditionExpression, FilterExpression and the legacy Expected/QueryFilter/
//! ScanFilter): the resolved tree and its evaluation against an item, with DynamoDB's rules:
//! a missing attribute or a comparison between different types is false, never an error.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use crate::{AttributeValue, Item, Number, Path, ValueType};

/// A value in a condition: an attribute, a constant, or `size(...)` of either.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(AttributeValue),
    Size(Box<Operand>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// The comparator with its operands swapped: `:v < a` is `a > :v`.
    pub fn flipped(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            other => other,
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A resolved condition: placeholders substituted, functions checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Compare(Comparator, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Whether `item` satisfies the condition. A missing item is an empty one.
    pub fn evaluate(&self, item: &Item) -> bool {
        match self {
            Self::Compare(op, a, b) => compare(*op, a.evaluate(item).as_deref(), b.evaluate(item).as_deref()),
            Self::Between(x, low, high) => {
                let (Some(x), Some(low), Some(high)) =
                    (x.evaluate(item), low.evaluate(item), high.evaluate(item))
                else {
                    return false;
                };
                matches!(order(&low, &x), Some(Ordering::Less | Ordering::Equal))
                    && matches!(order(&x, &high), Some(Ordering::Less | Ordering::Equal))
            }
            Self::In(x, list) => {
                let Some(x) = x.evaluate(item) else { return false };
                list.iter().any(|candidate| candidate.evaluate(item).is_some_and(|c| *c == *x))
            }
            Self::AttributeExists(path) => path.resolve(item).is_some(),
            Self::AttributeNotExists(path) => path.resolve(item).is_none(),
            Self::AttributeType(path, kind) => match (path.resolve(item), kind.evaluate(item).as_deref()) {
                (Some(value), Some(AttributeValue::S(tag))) => value.value_type().tag() == tag,
                _ => false,
            },
            Self::BeginsWith(a, prefix) => {
                match (a.evaluate(item).as_deref(), prefix.evaluate(item).as_deref()) {
                    (Some(AttributeValue::S(s)), Some(AttributeValue::S(p))) => s.starts_with(p.as_str()),
                    (Some(AttributeValue::B(b)), Some(AttributeValue::B(p))) => b.starts_with(p),
                    _ => false,
                }
            }
            Self::Contains(a, member) => match (a.evaluate(item), member.evaluate(item)) {
                (Some(a), Some(member)) => contains(&a, &member),
                _ => false,
            },
            Self::And(a, b) => a.evaluate(item) && b.evaluate(item),
            Self::Or(a, b) => a.evaluate(item) || b.evaluate(item),
            Self::Not(a) => !a.evaluate(item),
        }
    }
}

impl Operand {
    /// The operand's value in `item`; `None` for a missing attribute or a `size` of a type that
    /// has none.
    pub fn evaluate<'a>(&'a self, item: &'a Item) -> Option<Cow<'a, AttributeValue>> {
        match self {
            Self::Path(path) => path.resolve(item).map(Cow::Borrowed),
            Self::Value(value) => Some(Cow::Borrowed(value)),
            Self::Size(inner) => {
                let size = size_of(inner.evaluate(item)?.as_ref())?;
                Some(Cow::Owned(AttributeValue::N(Number::from(size as i64))))
            }
        }
    }

    /// The type this operand is known to have before any item is seen (constants and `size`).
    pub(crate) fn static_type(&self) -> Option<ValueType> {
        match self {
            Self::Path(_) => None,
            Self::Value(v) => Some(v.value_type()),
            Self::Size(_) => Some(ValueType::N),
        }
    }
}

/// `size()`: string length in UTF-8 bytes, binary length, element count of sets, lists and
/// maps; numbers, booleans and null have no size.
pub(crate) fn size_of(value: &AttributeValue) -> Option<usize> {
    Some(match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::SS(v) => v.len(),
        AttributeValue::NS(v) => v.len(),
        AttributeValue::BS(v) => v.len(),
        AttributeValue::L(v) => v.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    })
}

/// The order of two scalars of the same orderable type (N, S, B); `None` otherwise.
pub(crate) fn order(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        // DynamoDB orders strings by their UTF-8 bytes, which is `str`'s order.
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.cmp(y)),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn compare(op: Comparator, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    match op {
        Comparator::Eq => matches!((a, b), (Some(a), Some(b)) if a == b),
        // Not equal is the negation of equal, so a missing attribute is "not equal" to anything.
        Comparator::Ne => !matches!((a, b), (Some(a), Some(b)) if a == b),
        _ => {
            let (Some(a), Some(b)) = (a, b) else { return false };
            let Some(ordering) = order(a, b) else { return false };
            match op {
                Comparator::Lt => ordering == Ordering::Less,
                Comparator::Le => ordering != Ordering::Greater,
                Comparator::Gt => ordering == Ordering::Greater,
                Comparator::Ge => ordering != Ordering::Less,
                Comparator::Eq | Comparator::Ne => unreachable!("handled above"),
            }
        }
    }
}

/// `contains(a, member)`: a substring of a string, a member of a set of the member's type, or an
/// element of a list.
pub(crate) fn contains(a: &AttributeValue, member: &AttributeValue) -> bool {
    match (a, member) {
        (AttributeValue::S(s), AttributeValue::S(m)) => s.contains(m.as_str()),
        (AttributeValue::SS(set), AttributeValue::S(m)) => set.contains(m),
        (AttributeValue::NS(set), AttributeValue::N(m)) => set.contains(m),
        (AttributeValue::BS(set), AttributeValue::B(m)) => set.contains(m),
        (AttributeValue::L(list), m) => list.contains(m),
        _ => false,
    }
}
