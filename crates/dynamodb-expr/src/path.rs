//! Document paths (`a.b[3].c`): reading a value at a path, writing and removing at a path with
//! DynamoDB's rules, and the overlap/conflict relation between two paths.

use std::fmt;

use crate::{AttributeValue, Error, Item};

/// One step of a document path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElement {
    /// A map key (or, first in a path, a top-level attribute name).
    Attribute(String),
    /// A list index.
    Index(u32),
}

/// A document path; the first element is always an attribute name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(Vec<PathElement>);

/// How two paths of one expression relate, when they may not stand together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clash {
    /// One is a prefix of the other (or they are equal).
    Overlap,
    /// At the same depth one indexes a list and the other names a map key.
    Conflict,
}

impl Path {
    /// A path to a top-level attribute.
    pub fn attribute(name: impl Into<String>) -> Self {
        Self(vec![PathElement::Attribute(name.into())])
    }

    /// Builds a path from elements; `None` if it is empty or does not start with a name.
    pub fn from_elements(elements: Vec<PathElement>) -> Option<Self> {
        match elements.first() {
            Some(PathElement::Attribute(_)) => Some(Self(elements)),
            _ => None,
        }
    }

    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }

    /// The top-level attribute this path is in.
    pub fn top(&self) -> &str {
        match self.0.first() {
            Some(PathElement::Attribute(name)) => name,
            _ => unreachable!("a path starts with an attribute name"),
        }
    }

    pub fn is_top_level(&self) -> bool {
        self.0.len() == 1
    }

    /// The value at this path, if every step exists and has the right type.
    pub fn resolve<'a>(&self, item: &'a Item) -> Option<&'a AttributeValue> {
        let mut current = item.get(self.top())?;
        for element in &self.0[1..] {
            current = step(current, element)?;
        }
        Some(current)
    }

    pub(crate) fn clash(&self, other: &Path) -> Option<Clash> {
        for (a, b) in self.0.iter().zip(&other.0) {
            match (a, b) {
                (PathElement::Attribute(x), PathElement::Attribute(y)) if x != y => return None,
                (PathElement::Index(x), PathElement::Index(y)) if x != y => return None,
                (PathElement::Attribute(_), PathElement::Index(_))
                | (PathElement::Index(_), PathElement::Attribute(_)) => return Some(Clash::Conflict),
                _ => {}
            }
        }
        Some(Clash::Overlap)
    }

    /// Writes `value` at this path as SET does: the parent must exist and be a map (for a name)
    /// or a list (for an index); an index past the end appends.
    pub(crate) fn assign(&self, item: &mut Item, value: AttributeValue) -> Result<(), Error> {
        let Some((last, parents)) = self.0.split_last() else { return Ok(()) };
        if parents.is_empty() {
            item.insert(self.top().to_owned(), value);
            return Ok(());
        }
        let parent = resolve_mut(item, parents).ok_or(Error::InvalidUpdatePath)?;
        match (parent, last) {
            (AttributeValue::M(map), PathElement::Attribute(name)) => {
                map.insert(name.clone(), value);
            }
            (AttributeValue::L(list), PathElement::Index(i)) => match list.get_mut(*i as usize) {
                Some(slot) => *slot = value,
                None => list.push(value),
            },
            _ => return Err(Error::InvalidUpdatePath),
        }
        Ok(())
    }

    /// Removes the value at this path as REMOVE does: a missing attribute, key or index is
    /// nothing to do, but a missing or mistyped parent is an invalid path.
    pub(crate) fn remove(&self, item: &mut Item) -> Result<(), Error> {
        let Some((last, parents)) = self.0.split_last() else { return Ok(()) };
        if parents.is_empty() {
            item.remove(self.top());
            return Ok(());
        }
        let parent = resolve_mut(item, parents).ok_or(Error::InvalidUpdatePath)?;
        match (parent, last) {
            (AttributeValue::M(map), PathElement::Attribute(name)) => {
                map.remove(name);
            }
            (AttributeValue::L(list), PathElement::Index(i)) => {
                if (*i as usize) < list.len() {
                    list.remove(*i as usize);
                }
            }
            _ => return Err(Error::InvalidUpdatePath),
        }
        Ok(())
    }
}

fn step<'a>(value: &'a AttributeValue, element: &PathElement) -> Option<&'a AttributeValue> {
    match (value, element) {
        (AttributeValue::M(map), PathElement::Attribute(name)) => map.get(name),
        (AttributeValue::L(list), PathElement::Index(i)) => list.get(*i as usize),
        _ => None,
    }
}

fn resolve_mut<'a>(item: &'a mut Item, elements: &[PathElement]) -> Option<&'a mut AttributeValue> {
    let (PathElement::Attribute(first), rest) = elements.split_first()? else { return None };
    let mut current = item.get_mut(first)?;
    for element in rest {
        current = match (current, element) {
            (AttributeValue::M(map), PathElement::Attribute(name)) => map.get_mut(name)?,
            (AttributeValue::L(list), PathElement::Index(i)) => list.get_mut(*i as usize)?,
            _ => return None,
        };
    }
    Some(current)
}

/// DynamoDB's rendering in messages: `[a, b, [3]]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, element) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match element {
                PathElement::Attribute(name) => f.write_str(name)?,
                PathElement::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}
