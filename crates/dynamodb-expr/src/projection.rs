//! Projections (ProjectionExpression, AttributesToGet, and UPDATED_OLD/UPDATED_NEW): the part of
//! an item that a list of document paths selects, shaped as DynamoDB shapes it.
//!
//! Nested paths keep their maps (`a.b` gives `{a: {b: …}}`); list indexes keep their lists but
//! not their positions (`a[1], a[3]` give `{a: [a[1], a[3]]}`, in index order). A path that does
//! not resolve contributes nothing, not even its parents.

use std::collections::BTreeMap;

use crate::{AttributeValue, Item, Path, PathElement};

/// A resolved projection: the paths to keep.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub paths: Vec<Path>,
}

impl Projection {
    /// The selected part of `item`.
    pub fn apply(&self, item: &Item) -> Item {
        project(item, &self.paths)
    }
}

/// The projection being built: the same shape as the item, with lists as sparse maps until the
/// end so that several indexes of one list can land in it.
enum Node {
    Leaf(AttributeValue),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<u32, Node>),
}

pub(crate) fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root = Node::Map(BTreeMap::new());
    for path in paths {
        // Only resolvable paths are inserted, so the depth is bounded by the item's nesting.
        if let Some(value) = path.resolve(item) {
            insert(&mut root, path.elements(), value.clone());
        }
    }
    match root.into_value() {
        AttributeValue::M(item) => item,
        _ => unreachable!("the root is a map"),
    }
}

fn insert(node: &mut Node, path: &[PathElement], value: AttributeValue) {
    let Some((first, rest)) = path.split_first() else {
        *node = Node::Leaf(value);
        return;
    };
    let empty = || match rest.first() {
        Some(PathElement::Index(_)) => Node::List(BTreeMap::new()),
        _ => Node::Map(BTreeMap::new()),
    };
    let child = match (node, first) {
        (Node::Map(map), PathElement::Attribute(name)) => map.entry(name.clone()).or_insert_with(empty),
        (Node::List(list), PathElement::Index(i)) => list.entry(*i).or_insert_with(empty),
        // A whole value is already selected above this path (paths of one projection never
        // overlap, but the caller's list may).
        _ => return,
    };
    insert(child, rest, value);
}

impl Node {
    fn into_value(self) -> AttributeValue {
        match self {
            Node::Leaf(value) => value,
            Node::Map(map) => AttributeValue::M(map.into_iter().map(|(k, v)| (k, v.into_value())).collect()),
            Node::List(list) => AttributeValue::L(list.into_values().map(Node::into_value).collect()),
        }
    }
}
