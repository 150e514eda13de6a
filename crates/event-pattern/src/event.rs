//! Flattening an event into the leaves rules look at: (dot-joined path, scalar value, the array
//! elements it sits in), reading the JSON once and skipping every subtree no rule names.
//!
//! Arrays are "crushed out" of paths (`{"a":[{"b":1}]}` has a leaf at `a.b`), but each leaf
//! remembers its trail of (array, index) pairs so a rule's fields can be required to come from
//! the same element of an array they share, as Ruler's array-consistent matching does.

use crate::{FastMap, FastSet};
use std::borrow::Cow;

use crate::json::{Token, Tokens};
use crate::number;

/// The field paths some rule names, with ids, and every proper dotted prefix of them (so a
/// subtree whose path is no prefix of a wanted path is skipped without building paths).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PathIndex {
    ids: FastMap<Box<str>, u32>,
    prefixes: FastSet<Box<str>>,
}

impl PathIndex {
    pub(crate) fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.ids.get(path) {
            return id;
        }
        let id = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.insert(path.into(), id);
        for (i, _) in path.match_indices('.') {
            self.prefixes.insert(path[..i].into());
        }
        id
    }

    /// How many distinct paths were interned.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    fn id(&self, path: &str) -> Option<u32> {
        self.ids.get(path).copied()
    }

    /// Whether something below `path` (as an object or array) may be wanted.
    fn wanted_below(&self, path: &str) -> bool {
        path.is_empty() || self.prefixes.contains(path)
    }
}

/// A leaf value of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    String(Cow<'a, str>),
    /// The literal text and its comparable value (see `number.rs`).
    Number(&'a str, Option<f64>),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
pub(crate) struct Leaf<'a> {
    pub path: u32,
    pub value: Scalar<'a>,
    /// Start and length of this leaf's trail in `Flat::trails`.
    trail: (u32, u32),
}

/// The wanted leaves of one event, grouped by path.
#[derive(Debug, Default)]
pub(crate) struct Flat<'a> {
    leaves: Vec<Leaf<'a>>,
    trails: Vec<(u32, u32)>,
    /// (path, start, end) into `leaves`, sorted by path.
    groups: Vec<(u32, u32, u32)>,
}

impl<'a> Flat<'a> {
    /// The leaves at `path`, in document order.
    pub(crate) fn at(&self, path: u32) -> &[Leaf<'a>] {
        match self.groups.binary_search_by_key(&path, |g| g.0) {
            Ok(i) => &self.leaves[self.groups[i].1 as usize..self.groups[i].2 as usize],
            Err(_) => &[],
        }
    }

    /// Each path present with its leaves.
    pub(crate) fn groups(&self) -> impl Iterator<Item = (u32, &[Leaf<'a>])> {
        self.groups.iter().map(|&(p, s, e)| (p, &self.leaves[s as usize..e as usize]))
    }

    pub(crate) fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The (array id, element index) pairs enclosing `leaf`, outermost first.
    pub(crate) fn trail(&self, leaf: &Leaf<'_>) -> &[(u32, u32)] {
        let (start, len) = leaf.trail;
        &self.trails[start as usize..(start + len) as usize]
    }
}

struct Frame {
    object: bool,
    /// Length of `path` for this container's own path.
    base: usize,
    array: u32,
    next_index: u32,
}

/// Reads `src` and keeps the leaves whose paths `index` knows.
pub(crate) fn flatten<'a>(src: &'a str, index: &PathIndex) -> Result<Flat<'a>, String> {
    let mut tokens = Tokens::new(src);
    let mut flat = Flat::default();
    let mut path = String::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut trail: Vec<(u32, u32)> = Vec::new();
    let mut arrays = 0u32;
    while let Some(token) = tokens.next_token()? {
        match token {
            Token::Key(key) => {
                let frame = frames.last().ok_or("a key outside an object")?;
                path.truncate(frame.base);
                if frame.base > 0 {
                    path.push('.');
                }
                path.push_str(&key);
            }
            Token::EndObject => {
                frames.pop();
            }
            Token::EndArray => {
                frames.pop();
                trail.pop();
            }
            value => {
                if let Some(frame) = frames.last_mut()
                    && !frame.object
                {
                    // An array element: it lives at the array's own path, at the next index.
                    path.truncate(frame.base);
                    if let Some(last) = trail.last_mut() {
                        *last = (frame.array, frame.next_index);
                    }
                    frame.next_index = frame.next_index.saturating_add(1);
                }
                match value {
                    // A subtree no rule names is read past, not walked.
                    Token::BeginObject if !index.wanted_below(&path) => tokens.skip_container()?,
                    Token::BeginArray if index.id(&path).is_none() && !index.wanted_below(&path) => {
                        tokens.skip_container()?
                    }
                    Token::BeginObject => {
                        frames.push(Frame { object: true, base: path.len(), array: 0, next_index: 0 });
                    }
                    Token::BeginArray => {
                        frames.push(Frame { object: false, base: path.len(), array: arrays, next_index: 0 });
                        trail.push((arrays, 0));
                        arrays = arrays.saturating_add(1);
                    }
                    scalar => {
                        // A scalar document has no fields at all.
                        if frames.is_empty() {
                            continue;
                        }
                        let Some(id) = index.id(&path) else { continue };
                        let value = match scalar {
                            Token::String(s) => Scalar::String(s),
                            Token::Number(n) => Scalar::Number(n, number::comparable(n)),
                            Token::Bool(b) => Scalar::Bool(b),
                            _ => Scalar::Null,
                        };
                        let start = u32::try_from(flat.trails.len()).unwrap_or(u32::MAX);
                        flat.trails.extend_from_slice(&trail);
                        let len = u32::try_from(trail.len()).unwrap_or(u32::MAX);
                        flat.leaves.push(Leaf { path: id, value, trail: (start, len) });
                    }
                }
            }
        }
    }
    flat.leaves.sort_by_key(|l| l.path);
    let mut start = 0;
    while start < flat.leaves.len() {
        let path = flat.leaves[start].path;
        let end = start + flat.leaves[start..].iter().take_while(|l| l.path == path).count();
        flat.groups.push((path, start as u32, end as u32));
        start = end;
    }
    Ok(flat)
}

/// Whether a leaf with `trail` can join leaves whose trails are merged in `constraint`: no array
/// may be entered at two different elements.
pub(crate) fn consistent(constraint: &[(u32, u32)], trail: &[(u32, u32)]) -> bool {
    trail.iter().all(|&(array, index)| constraint.iter().all(|&(a, i)| a != array || i == index))
}

/// `constraint` with `trail` merged in (assumes [`consistent`]).
pub(crate) fn merge(constraint: &[(u32, u32)], trail: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = constraint.to_vec();
    for pair in trail {
        if !out.contains(pair) {
            out.push(*pair);
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(paths: &[&str]) -> PathIndex {
        let mut i = PathIndex::default();
        for p in paths {
            i.intern(p);
        }
        i
    }

    #[test]
    fn nested_and_dotted_keys_share_a_path() {
        let idx = index(&["a.b", "c"]);
        let flat = flatten(r#"{"a":{"b":1,"x":{"y":2}},"a.b":"s","c":[true,null],"d":{"e":3}}"#, &idx)
            .expect("json");
        let ab: Vec<_> = flat.at(0).iter().map(|l| l.value.clone()).collect();
        assert_eq!(ab, [Scalar::Number("1", Some(1.0)), Scalar::String("s".into())]);
        let c: Vec<_> = flat.at(1).iter().map(|l| l.value.clone()).collect();
        assert_eq!(c, [Scalar::Bool(true), Scalar::Null]);
        assert_eq!(flat.group_count(), 2);
    }

    #[test]
    fn leaves_remember_their_array_elements() {
        let idx = index(&["a.b", "a.c"]);
        let flat = flatten(r#"{"a":[{"b":1,"c":2},{"b":3,"c":[4,5]}]}"#, &idx).expect("json");
        let b = flat.at(0);
        let c = flat.at(1);
        assert_eq!(flat.trail(&b[0]), [(0, 0)]);
        assert_eq!(flat.trail(&b[1]), [(0, 1)]);
        assert_eq!(flat.trail(&c[2]), [(0, 1), (1, 1)]);
        assert!(consistent(flat.trail(&b[1]), flat.trail(&c[1])));
        assert!(!consistent(flat.trail(&b[0]), flat.trail(&c[1])));
    }

    #[test]
    fn skipped_subtrees_are_still_checked() {
        // Nothing under `skip` is wanted, so it is read past; it must fail as a full read does.
        let idx = index(&["a"]);
        for doc in [
            r#"{"a":1,"skip":{"x":[1,2,]}}"#,
            r#"{"a":1,"skip":[{"x" 1}]}"#,
            r#"{"a":1,"skip":[01]}"#,
            r#"{"a":1,"skip":{"x":"\q"}}"#,
            r#"{"a":1,"skip":{"x":tru}}"#,
            r#"{"a":1,"skip":[[[]]}"#,
            r#"{"a":1,"skip":{"x":[1,{"y":null}],"z":"ok"}}"#,
            r#"{"skip":{"x":[1,{"y":"\u00e9"}]},"a":[true]}"#,
        ] {
            let full = crate::json::parse(doc).map(drop);
            let flat = flatten(doc, &idx).map(drop);
            assert_eq!(flat, full, "{doc}");
        }
        let flat = flatten(r#"{"skip":{"a":5,"x":[{"a":6}]},"a":7}"#, &idx).expect("json");
        let a: Vec<_> = flat.at(0).iter().map(|l| l.value.clone()).collect();
        assert_eq!(a, [Scalar::Number("7", Some(7.0))]);
    }

    #[test]
    fn malformed_events_are_errors_not_panics() {
        let idx = index(&["a"]);
        for bad in ["", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "nul", "{\"a\":1}x", "\"\\u12\""] {
            assert!(flatten(bad, &idx).is_err(), "{bad}");
        }
        assert_eq!(flatten("42", &idx).expect("a scalar is JSON").group_count(), 0);
    }
}
