//! The legacy (pre-expression) parameters, translated into the same trees as the expressions:
//! `Expected` and `QueryFilter`/`ScanFilter` into a [`Condition`], `KeyConditions` into a
//! [`KeyCondition`], `AttributeUpdates` into an [`UpdateExpression`], `AttributesToGet` into a
//! [`Projection`]; and the rule that a request may not mix the two styles.
//!
//! Legacy names are attribute names as they are (no paths, no placeholders, no reserved words).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::condition::{Comparator, Condition, Operand, order};
use crate::key_condition::{self, KeyCondition, SortCondition};
use crate::{AttributeValue, Error, KeySchema, Path, Projection, UpdateExpression, UpdateValue, ValueType};

/// `ComparisonOperator` of the legacy conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComparisonOperator {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
    NotNull,
    Null,
    Contains,
    NotContains,
    BeginsWith,
    In,
    Between,
}

impl ComparisonOperator {
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "EQ",
            Self::Ne => "NE",
            Self::Le => "LE",
            Self::Lt => "LT",
            Self::Ge => "GE",
            Self::Gt => "GT",
            Self::NotNull => "NOT_NULL",
            Self::Null => "NULL",
            Self::Contains => "CONTAINS",
            Self::NotContains => "NOT_CONTAINS",
            Self::BeginsWith => "BEGINS_WITH",
            Self::In => "IN",
            Self::Between => "BETWEEN",
        }
    }

    fn arity_ok(self, count: usize) -> bool {
        match self {
            Self::NotNull | Self::Null => count == 0,
            Self::In => count > 0,
            Self::Between => count == 2,
            _ => count == 1,
        }
    }

    /// The value types the operator accepts.
    fn accepts(self, kind: ValueType) -> bool {
        let scalar = matches!(kind, ValueType::S | ValueType::N | ValueType::B);
        match self {
            Self::Lt | Self::Le | Self::Gt | Self::Ge | Self::In | Self::Between => scalar,
            Self::Contains | Self::NotContains => scalar || matches!(kind, ValueType::Bool | ValueType::Null),
            Self::BeginsWith => matches!(kind, ValueType::S | ValueType::B),
            _ => true,
        }
    }
}

/// `ConditionalOperator`: how several legacy conditions combine (AND by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConditionalOperator {
    #[default]
    And,
    Or,
}

/// One entry of `Expected`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpectedAttributeValue {
    pub value: Option<AttributeValue>,
    pub exists: Option<bool>,
    pub comparison_operator: Option<ComparisonOperator>,
    pub attribute_value_list: Option<Vec<AttributeValue>>,
}

/// One entry of `KeyConditions`, `QueryFilter` or `ScanFilter` (the `Condition` shape).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LegacyCondition {
    pub comparison_operator: ComparisonOperator,
    #[serde(default)]
    pub attribute_value_list: Vec<AttributeValue>,
}

/// `AttributeUpdates`' `Action`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AttributeAction {
    #[default]
    Put,
    Add,
    Delete,
}

/// One entry of `AttributeUpdates`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValueUpdate {
    pub value: Option<AttributeValue>,
    pub action: Option<AttributeAction>,
}

fn invalid(message: String) -> Error {
    Error::InvalidParameter(message)
}

/// Checks an operator's operands: count, types, and for IN and BETWEEN that they agree.
fn check_operands(op: ComparisonOperator, values: &[AttributeValue]) -> Result<(), Error> {
    if !op.arity_ok(values.len()) {
        return Err(invalid(format!(
            "Invalid number of argument(s) for the {} ComparisonOperator",
            op.name()
        )));
    }
    if let Some(bad) = values.iter().find(|v| !op.accepts(v.value_type())) {
        return Err(invalid(format!(
            "ComparisonOperator {} is not valid for {} AttributeValue type",
            op.name(),
            bad.value_type().tag()
        )));
    }
    if matches!(op, ComparisonOperator::In | ComparisonOperator::Between)
        && values.windows(2).any(|w| w[0].value_type() != w[1].value_type())
    {
        return Err(invalid("AttributeValues inside AttributeValueList must be of same type".to_owned()));
    }
    if op == ComparisonOperator::Between && order(&values[0], &values[1]) == Some(std::cmp::Ordering::Greater)
    {
        return Err(Error::LegacyBetweenOrder);
    }
    Ok(())
}

/// One checked operator on one attribute as a condition. Legacy `NOT_CONTAINS` is false for a
/// missing attribute (unlike `NOT contains(...)`), while `NE` is true.
fn translate(name: &str, op: ComparisonOperator, values: &[AttributeValue]) -> Condition {
    let path = || Operand::Path(Path::attribute(name));
    let value = |i: usize| Operand::Value(values[i].clone());
    let compare = |c| Condition::Compare(c, path(), value(0));
    match op {
        ComparisonOperator::Eq => compare(Comparator::Eq),
        ComparisonOperator::Ne => compare(Comparator::Ne),
        ComparisonOperator::Le => compare(Comparator::Le),
        ComparisonOperator::Lt => compare(Comparator::Lt),
        ComparisonOperator::Ge => compare(Comparator::Ge),
        ComparisonOperator::Gt => compare(Comparator::Gt),
        ComparisonOperator::NotNull => Condition::AttributeExists(Path::attribute(name)),
        ComparisonOperator::Null => Condition::AttributeNotExists(Path::attribute(name)),
        ComparisonOperator::Contains => Condition::Contains(path(), value(0)),
        ComparisonOperator::NotContains => Condition::And(
            Box::new(Condition::AttributeExists(Path::attribute(name))),
            Box::new(Condition::Not(Box::new(Condition::Contains(path(), value(0))))),
        ),
        ComparisonOperator::BeginsWith => Condition::BeginsWith(path(), value(0)),
        ComparisonOperator::In => Condition::In(path(), (0..values.len()).map(value).collect()),
        ComparisonOperator::Between => Condition::Between(path(), value(0), value(1)),
    }
}

fn combine(conditions: Vec<Condition>, op: ConditionalOperator) -> Option<Condition> {
    conditions.into_iter().reduce(|a, b| match op {
        ConditionalOperator::And => Condition::And(Box::new(a), Box::new(b)),
        ConditionalOperator::Or => Condition::Or(Box::new(a), Box::new(b)),
    })
}

/// `Expected` (+ `ConditionalOperator`) as a condition; `None` when it is empty.
pub fn expected(
    expected: &BTreeMap<String, ExpectedAttributeValue>,
    op: Option<ConditionalOperator>,
) -> Result<Option<Condition>, Error> {
    let mut conditions = Vec::with_capacity(expected.len());
    for (name, entry) in expected {
        conditions.push(expected_one(name, entry)?);
    }
    Ok(combine(conditions, op.unwrap_or_default()))
}

fn expected_one(name: &str, entry: &ExpectedAttributeValue) -> Result<Condition, Error> {
    if let Some(op) = entry.comparison_operator {
        if entry.exists.is_some() {
            return Err(invalid(format!(
                "Exists and ComparisonOperator cannot be used together for Attribute: {name}"
            )));
        }
        let values = match (&entry.value, &entry.attribute_value_list) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "Value and AttributeValueList cannot be used together for Attribute: {name}"
                )));
            }
            (Some(v), None) => std::slice::from_ref(v),
            (None, Some(list)) => list.as_slice(),
            (None, None) => &[],
        };
        check_operands(op, values)?;
        return Ok(translate(name, op, values));
    }
    if entry.attribute_value_list.is_some() {
        return Err(invalid(format!(
            "AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
        )));
    }
    match (entry.exists, &entry.value) {
        (None | Some(true), Some(value)) => {
            Ok(translate(name, ComparisonOperator::Eq, std::slice::from_ref(value)))
        }
        (Some(false), None) => Ok(Condition::AttributeNotExists(Path::attribute(name))),
        (Some(false), Some(_)) => {
            Err(invalid(format!("Value cannot be used when Exists is false for Attribute: {name}")))
        }
        (exists, None) => Err(invalid(format!(
            "Value must be provided when Exists is {} for Attribute: {name}",
            if exists.is_none() { "null" } else { "true" }
        ))),
    }
}

/// `QueryFilter` or `ScanFilter` (+ `ConditionalOperator`) as a condition.
pub fn filter(
    conditions: &BTreeMap<String, LegacyCondition>,
    op: Option<ConditionalOperator>,
) -> Result<Option<Condition>, Error> {
    let mut out = Vec::with_capacity(conditions.len());
    for (name, c) in conditions {
        check_operands(c.comparison_operator, &c.attribute_value_list)?;
        out.push(translate(name, c.comparison_operator, &c.attribute_value_list));
    }
    Ok(combine(out, op.unwrap_or_default()))
}

/// `KeyConditions` checked against the key schema, as a key condition.
pub fn key_conditions(
    conditions: &BTreeMap<String, LegacyCondition>,
    schema: &KeySchema,
) -> Result<KeyCondition, Error> {
    for c in conditions.values() {
        check_operands(c.comparison_operator, &c.attribute_value_list)?;
    }
    if conditions.is_empty() || conditions.len() > 2 {
        return Err(Error::KeyCondition("Conditions can be of length 1 or 2 only".to_owned()));
    }
    let mut parts = Vec::with_capacity(conditions.len());
    for (name, c) in conditions {
        let v = &c.attribute_value_list;
        let sort = match c.comparison_operator {
            ComparisonOperator::Eq => SortCondition::Compare(Comparator::Eq, v[0].clone()),
            ComparisonOperator::Lt => SortCondition::Compare(Comparator::Lt, v[0].clone()),
            ComparisonOperator::Le => SortCondition::Compare(Comparator::Le, v[0].clone()),
            ComparisonOperator::Gt => SortCondition::Compare(Comparator::Gt, v[0].clone()),
            ComparisonOperator::Ge => SortCondition::Compare(Comparator::Ge, v[0].clone()),
            ComparisonOperator::BeginsWith => SortCondition::BeginsWith(v[0].clone()),
            ComparisonOperator::Between => SortCondition::Between(v[0].clone(), v[1].clone()),
            _ => return Err(Error::NotIndexable),
        };
        parts.push((name.clone(), sort));
    }
    key_condition::from_parts(parts, schema)
}

/// `AttributeUpdates` as an update. ADD of a list appends to it, as legacy ADD does.
pub fn attribute_updates(
    updates: &BTreeMap<String, AttributeValueUpdate>,
) -> Result<UpdateExpression, Error> {
    let mut update = UpdateExpression::default();
    for (name, entry) in updates {
        let path = Path::attribute(name);
        let action = entry.action.unwrap_or_default();
        let Some(value) = &entry.value else {
            if action != AttributeAction::Delete {
                return Err(invalid(
                    "Only DELETE action is allowed when no attribute value is specified".to_owned(),
                ));
            }
            update.remove.push(path);
            continue;
        };
        let kind = value.value_type();
        match action {
            AttributeAction::Put => update.set.push((path, UpdateValue::Value(value.clone()))),
            AttributeAction::Add if kind == ValueType::N || kind.is_set() => {
                update.add.push((path, value.clone()))
            }
            AttributeAction::Add if kind == ValueType::L => {
                let existing = UpdateValue::IfNotExists(
                    path.clone(),
                    Box::new(UpdateValue::Value(AttributeValue::L(Vec::new()))),
                );
                let appended =
                    UpdateValue::ListAppend(Box::new(existing), Box::new(UpdateValue::Value(value.clone())));
                update.set.push((path, appended));
            }
            AttributeAction::Delete if kind.is_set() => update.delete.push((path, value.clone())),
            AttributeAction::Add | AttributeAction::Delete => {
                let verb = if action == AttributeAction::Add { "ADD" } else { "DELETE" };
                return Err(invalid(format!("{verb} action is not supported for the type {}", kind.tag())));
            }
        }
    }
    Ok(update)
}

/// `AttributesToGet` as a projection of top-level attributes.
pub fn attributes_to_get(names: &[String]) -> Result<Projection, Error> {
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(invalid(format!("Duplicate value in attribute name: {name}")));
        }
    }
    Ok(Projection { paths: names.iter().map(Path::attribute).collect() })
}

/// Refuses a request that uses both styles. Each list names the parameters present, in the
/// operation's order (`Expected`, `ConditionExpression`, ...).
pub fn check_not_mixed(legacy: &[&str], expressions: &[&str]) -> Result<(), Error> {
    if legacy.is_empty() || expressions.is_empty() {
        return Ok(());
    }
    Err(Error::MixedParameters { legacy: legacy.join(", "), expression: expressions.join(", ") })
}

/// Refuses ExpressionAttributeNames/Values in a request that has no expression. `expressions`
/// lists every expression parameter of the operation with whether the request has it.
pub fn check_placeholders_need_expressions(
    has_names: bool,
    has_values: bool,
    expressions: &[(&str, bool)],
) -> Result<(), Error> {
    if expressions.iter().any(|(_, present)| *present) {
        return Ok(());
    }
    if has_names {
        return Err(Error::NamesWithoutExpressions);
    }
    if has_values {
        let names: Vec<&str> = expressions.iter().map(|(name, _)| *name).collect();
        return Err(Error::ValuesWithoutExpressions(format!("{} is null", names.join(" and "))));
    }
    Ok(())
}
