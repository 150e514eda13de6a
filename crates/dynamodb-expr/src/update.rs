//! Updates (UpdateExpression and the legacy AttributeUpdates): the resolved actions and their
//! application to an item, as DynamoDB applies them.
//!
//! Every operand is read from the item as it was before the update, so the order of actions in
//! the expression does not matter (their paths may not overlap). SETs are applied first, then
//! ADDs and DELETEs, then REMOVEs from the highest list index down, so that the indexes in an
//! expression all refer to the original lists.

use std::collections::BTreeSet;

use crate::projection::project;
use crate::{AttributeValue, Error, Item, Number, Path};

/// The value side of a SET action.
#[derive(Clone, Debug, PartialEq)]
pub enum UpdateValue {
    Path(Path),
    Value(AttributeValue),
    /// `if_not_exists(path, value)`.
    IfNotExists(Path, Box<UpdateValue>),
    /// `list_append(a, b)`.
    ListAppend(Box<UpdateValue>, Box<UpdateValue>),
    Plus(Box<UpdateValue>, Box<UpdateValue>),
    Minus(Box<UpdateValue>, Box<UpdateValue>),
}

/// A resolved update: its actions by clause, each list in expression order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateExpression {
    pub set: Vec<(Path, UpdateValue)>,
    pub remove: Vec<Path>,
    /// ADD: a number to add, or a set to merge.
    pub add: Vec<(Path, AttributeValue)>,
    /// DELETE: members to take out of a set.
    pub delete: Vec<(Path, AttributeValue)>,
}

/// The result of applying an update.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateOutcome {
    /// The item after the update.
    pub item: Item,
    /// The paths the update wrote or removed, in expression order.
    pub paths: Vec<Path>,
}

impl UpdateOutcome {
    /// The top-level attributes the update touched.
    pub fn updated_attributes(&self) -> BTreeSet<&str> {
        self.paths.iter().map(Path::top).collect()
    }

    /// `ReturnValues: UPDATED_OLD`: the updated paths as they were in `old`.
    pub fn updated_old(&self, old: &Item) -> Item {
        project(old, &self.paths)
    }

    /// `ReturnValues: UPDATED_NEW`: the updated paths as they are now.
    pub fn updated_new(&self) -> Item {
        project(&self.item, &self.paths)
    }
}

impl UpdateExpression {
    /// Every path the update writes or removes, in clause order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.set
            .iter()
            .map(|(p, _)| p)
            .chain(&self.remove)
            .chain(self.add.iter().map(|(p, _)| p))
            .chain(self.delete.iter().map(|(p, _)| p))
    }

    /// Refuses an update of a key attribute (DynamoDB checks this before reading the item).
    pub fn check_keys_untouched<'a>(&self, mut keys: impl Iterator<Item = &'a str>) -> Result<(), Error> {
        match keys.find(|key| self.paths().any(|p| p.top() == *key)) {
            Some(key) => Err(Error::KeyAttributeUpdated(key.to_owned())),
            None => Ok(()),
        }
    }

    /// Applies the update to `old` (an empty item when the item does not exist yet; the caller
    /// adds the key attributes).
    pub fn apply(&self, old: &Item) -> Result<UpdateOutcome, Error> {
        let set_values = self
            .set
            .iter()
            .map(|(path, value)| Ok((path, value.evaluate(old)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut writes = Vec::new();
        let mut removals: Vec<&Path> = self.remove.iter().collect();
        for (path, operand) in &self.add {
            writes.push((path, add(path.resolve(old), operand)?));
        }
        for (path, operand) in &self.delete {
            match delete(path.resolve(old), operand)? {
                Some(Some(remaining)) => writes.push((path, remaining)),
                Some(None) => removals.push(path),
                None => {}
            }
        }
        let mut item = old.clone();
        for (path, value) in set_values.into_iter().chain(writes) {
            path.assign(&mut item, value)?;
        }
        // Descending order removes higher list indexes first, so lower ones stay valid.
        removals.sort_unstable_by(|a, b| b.cmp(a));
        for path in removals {
            path.remove(&mut item)?;
        }
        Ok(UpdateOutcome { item, paths: self.paths().cloned().collect() })
    }
}

impl UpdateValue {
    /// The value against the item as it was before the update.
    pub fn evaluate(&self, item: &Item) -> Result<AttributeValue, Error> {
        match self {
            Self::Path(path) => path.resolve(item).cloned().ok_or(Error::MissingAttribute),
            Self::Value(value) => Ok(value.clone()),
            Self::IfNotExists(path, fallback) => match path.resolve(item) {
                Some(value) => Ok(value.clone()),
                None => fallback.evaluate(item),
            },
            Self::ListAppend(a, b) => match (a.evaluate(item)?, b.evaluate(item)?) {
                (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                    a.extend(b);
                    Ok(AttributeValue::L(a))
                }
                _ => Err(Error::IncorrectOperandType),
            },
            Self::Plus(a, b) => arithmetic(a.evaluate(item)?, b.evaluate(item)?, Number::checked_add),
            Self::Minus(a, b) => arithmetic(a.evaluate(item)?, b.evaluate(item)?, Number::checked_sub),
        }
    }
}

fn arithmetic(
    a: AttributeValue,
    b: AttributeValue,
    op: fn(&Number, &Number) -> Result<Number, Error>,
) -> Result<AttributeValue, Error> {
    match (a, b) {
        (AttributeValue::N(a), AttributeValue::N(b)) => Ok(AttributeValue::N(op(&a, &b)?)),
        _ => Err(Error::IncorrectOperandType),
    }
}

/// ADD: a missing attribute becomes the operand; a number is incremented; a set gains the
/// members it lacks.
fn add(existing: Option<&AttributeValue>, operand: &AttributeValue) -> Result<AttributeValue, Error> {
    use AttributeValue::{BS, N, NS, SS};
    Ok(match (existing, operand) {
        (None, operand) => operand.clone(),
        (Some(N(a)), N(b)) => N(a.checked_add(b)?),
        (Some(SS(a)), SS(b)) => SS(union(a, b)),
        (Some(NS(a)), NS(b)) => NS(union(a, b)),
        (Some(BS(a)), BS(b)) => BS(union(a, b)),
        _ => return Err(Error::IncorrectOperandType),
    })
}

fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|m| !a.contains(m)).cloned());
    out
}

/// DELETE: `None` when there is nothing to do, `Some(None)` when the set becomes empty (and so
/// the attribute goes away), `Some(Some(rest))` otherwise.
fn delete(
    existing: Option<&AttributeValue>,
    operand: &AttributeValue,
) -> Result<Option<Option<AttributeValue>>, Error> {
    use AttributeValue::{BS, NS, SS};
    let Some(existing) = existing else { return Ok(None) };
    let rest = match (existing, operand) {
        (SS(a), SS(b)) => difference(a, b).map(SS),
        (NS(a), NS(b)) => difference(a, b).map(NS),
        (BS(a), BS(b)) => difference(a, b).map(BS),
        _ => return Err(Error::IncorrectOperandType),
    };
    Ok(Some(rest))
}

fn difference<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Option<Vec<T>> {
    let rest: Vec<T> = a.iter().filter(|m| !b.contains(m)).cloned().collect();
    (!rest.is_empty()).then_some(rest)
}
