//! The compiled matcher: every rule of a bus in one automaton, so matching costs about the
//! event's size, not the number of rules.
//!
//! Each `$or` branch of each rule is a path through the automaton, one step per field in path
//! order; branches that start with the same (field, conditions) share their states, as in a trie.
//! A state holds, per field path, a [`ValueIndex`]: hash maps for exact values, byte tries for
//! prefixes and suffixes, and so on, each giving the next states for a value in one lookup. To
//! match, the event is flattened once (only the paths some rule names), then a worklist walks
//! from the root: at each state, each wanted field's leaves are looked up in that state's index.
//! Leaves inside arrays carry a constraint (which array elements have been used) so a branch's
//! fields come from one element of any array they share.
//!
//! The exceptions to "one lookup": CIDR blocks and wildcards are scanned, but only those on the
//! field being looked at; numeric ranges are an interval tree per field (`interval.rs`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::{FastMap, FastSet};

use crate::PatternError;
use crate::event::{self, PathIndex, Scalar};
use crate::interval::Intervals;
use crate::ip::{self, IpRange};
use crate::number;
use crate::pattern::{AnythingBut, Condition, Literal, Pattern, fold};
use crate::trie::Trie;
use crate::wildcard::Wildcard;

type StateId = u32;

/// Many rules compiled together. `R` names a rule (a rule name, an index, ...).
#[derive(Debug, Clone)]
pub struct Matcher<R> {
    rules: BTreeMap<R, Pattern>,
    /// Rule number → name; states refer to rules by number.
    names: Vec<R>,
    paths: PathIndex,
    states: Vec<State>,
    /// (from, path, conditions) → to: how branches with a common start share states.
    edges: FastMap<(StateId, u32, String), StateId>,
    /// Rule number → position of its name in name order, and back, so matches come out sorted
    /// without comparing names; made on the first match after a change.
    ranks: OnceLock<(Vec<u32>, Vec<u32>)>,
}

#[derive(Debug, Default, Clone)]
struct State {
    next: FastMap<u32, ValueIndex>,
    /// `exists: false` steps: taken when the event has no leaf at the path.
    absent: Vec<(u32, StateId)>,
    /// Rules (by number) matched once this state is reached.
    accepts: Vec<u32>,
}

impl<R: Ord + Clone> Default for Matcher<R> {
    fn default() -> Self {
        Matcher::new()
    }
}

impl<R: Ord + Clone> Matcher<R> {
    pub fn new() -> Self {
        Matcher {
            rules: BTreeMap::new(),
            names: Vec::new(),
            paths: PathIndex::default(),
            states: vec![State::default()],
            edges: FastMap::default(),
            ranks: OnceLock::new(),
        }
    }

    /// Builds a matcher from many rules at once.
    pub fn with_rules(rules: impl IntoIterator<Item = (R, Pattern)>) -> Self {
        let mut m = Matcher::new();
        for (id, pattern) in rules {
            m.add(id, pattern);
        }
        m
    }

    /// Adds a rule, or replaces the rule of the same name.
    pub fn add(&mut self, id: R, pattern: Pattern) {
        if let Some(existing) = self.rules.get_mut(&id) {
            *existing = pattern;
            self.rebuild();
            return;
        }
        let number = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.compile(number, &pattern);
        self.ranks = OnceLock::new();
        self.names.push(id.clone());
        self.rules.insert(id, pattern);
    }

    /// Removes a rule; returns whether it was there. The automaton is rebuilt from the rules
    /// that remain (removal is rare next to matching).
    pub fn remove(&mut self, id: &R) -> bool {
        let removed = self.rules.remove(id).is_some();
        if removed {
            self.rebuild();
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The names of the rules `event` (JSON text) matches, sorted, each once.
    pub fn matches(&self, event: &str) -> Result<Vec<&R>, PatternError> {
        let flat = event::flatten(event, &self.paths).map_err(PatternError::InvalidEvent)?;
        let rules = self.walk(&flat);
        let (ranks, by_rank) = self.ranks.get_or_init(|| self.rank_names());
        // In name order, each once: a bitmap over ranks when many rules matched (as with
        // anything-but), a sort otherwise.
        let mut ordered: Vec<u32> = rules.iter().map(|&n| ranks[n as usize]).collect();
        if ordered.len() > ranks.len() / 64 {
            let mut bits = vec![0u64; ranks.len().div_ceil(64)];
            for &r in &ordered {
                bits[r as usize / 64] |= 1 << (r % 64);
            }
            ordered.clear();
            for (word, &b) in bits.iter().enumerate() {
                let mut b = b;
                while b != 0 {
                    ordered.push(word as u32 * 64 + b.trailing_zeros());
                    b &= b - 1;
                }
            }
        } else {
            ordered.sort_unstable();
            ordered.dedup();
        }
        Ok(ordered.into_iter().map(|r| &self.names[by_rank[r as usize] as usize]).collect())
    }

    fn rank_names(&self) -> (Vec<u32>, Vec<u32>) {
        let mut by_rank: Vec<u32> = (0..self.names.len() as u32).collect();
        by_rank.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut ranks = vec![0u32; by_rank.len()];
        for (rank, &n) in by_rank.iter().enumerate() {
            ranks[n as usize] = rank as u32;
        }
        (ranks, by_rank)
    }

    /// [`Matcher::matches`] for an event already parsed by serde_json.
    pub fn matches_value(&self, event: &serde_json::Value) -> Vec<&R> {
        // serde_json's own text is always valid JSON, so the error arm cannot happen.
        self.matches(&event.to_string()).unwrap_or_default()
    }

    fn rebuild(&mut self) {
        let rules = std::mem::take(&mut self.rules);
        *self = Matcher::new();
        for (id, pattern) in rules {
            self.add(id, pattern);
        }
    }

    fn compile(&mut self, rule: u32, pattern: &Pattern) {
        for branch in &pattern.branches {
            let mut at: StateId = 0;
            for field in &branch.fields {
                let path = self.paths.intern(&field.path);
                let key = (at, path, conditions_key(&field.conditions));
                at = match self.edges.get(&key) {
                    Some(&to) => to,
                    None => {
                        let to = StateId::try_from(self.states.len()).unwrap_or(StateId::MAX);
                        self.states.push(State::default());
                        self.edges.insert(key, to);
                        let from = &mut self.states[at as usize];
                        for condition in &field.conditions {
                            match condition {
                                Condition::Exists(false) => from.absent.push((path, to)),
                                c => from.next.entry(path).or_default().add(c, to),
                            }
                        }
                        to
                    }
                };
            }
            self.states[at as usize].accepts.push(rule);
        }
    }

    fn walk(&self, flat: &event::Flat<'_>) -> Vec<u32> {
        let mut matched = Vec::new();
        // States reached with no array constraint (the common case) are remembered apart, so
        // most checks hash one integer and clone nothing.
        let mut seen_free: FastSet<StateId> = FastSet::default();
        let mut seen: FastSet<(StateId, Vec<(u32, u32)>)> = FastSet::default();
        let mut work: Vec<(StateId, Vec<(u32, u32)>)> = vec![(0, Vec::new())];
        let mut targets = Vec::new();
        while let Some((at, constraint)) = work.pop() {
            let first_visit = if constraint.is_empty() {
                seen_free.insert(at)
            } else {
                seen.insert((at, constraint.clone()))
            };
            if !first_visit {
                continue;
            }
            let state = &self.states[at as usize];
            matched.extend_from_slice(&state.accepts);
            for &(path, to) in &state.absent {
                if flat.at(path).is_empty() {
                    work.push((to, constraint.clone()));
                }
            }
            let mut step = |leaves: &[event::Leaf<'_>], index: &ValueIndex| {
                for leaf in leaves {
                    targets.clear();
                    index.query(&leaf.value, &mut targets);
                    if targets.is_empty() {
                        continue;
                    }
                    let trail = flat.trail(leaf);
                    if trail.is_empty() {
                        work.extend(targets.iter().map(|&t| (t, constraint.clone())));
                    } else if event::consistent(&constraint, trail) {
                        let merged = event::merge(&constraint, trail);
                        work.extend(targets.iter().map(|&t| (t, merged.clone())));
                    }
                }
            };
            // Whichever side is smaller drives: the state's fields or the event's.
            if state.next.len() <= flat.group_count() {
                for (&path, index) in &state.next {
                    step(flat.at(path), index);
                }
            } else {
                for (path, leaves) in flat.groups() {
                    if let Some(index) = state.next.get(&path) {
                        step(leaves, index);
                    }
                }
            }
        }
        matched
    }
}

/// Two fields lead to the same state only if their condition lists are the same set.
fn conditions_key(conditions: &[Condition]) -> String {
    let mut parts: Vec<String> = conditions.iter().map(|c| format!("{c:?}")).collect();
    parts.sort_unstable();
    parts.dedup();
    parts.join("\u{1}")
}

/// Everything one state knows about one field path: value → next states.
#[derive(Debug, Default, Clone)]
struct ValueIndex {
    /// `exists: true`: any leaf.
    any: Vec<StateId>,
    strings: FastMap<Box<str>, Vec<StateId>>,
    /// Exact string patterns that are IP addresses, by address.
    addresses: FastMap<(bool, u128), Vec<StateId>>,
    /// true, false, null.
    literals: [Vec<StateId>; 3],
    number_texts: FastMap<Box<str>, Vec<StateId>>,
    numbers: FastMap<u64, Vec<StateId>>,
    ranges: Intervals,
    prefixes: Trie,
    suffixes: Trie,
    prefixes_folded: Trie,
    suffixes_folded: Trie,
    folded: FastMap<Box<str>, Vec<StateId>>,
    wildcards: Vec<(Wildcard, StateId)>,
    blocks: Vec<(IpRange, StateId)>,
    anything_but: AnythingButIndex,
}

impl ValueIndex {
    fn add(&mut self, condition: &Condition, to: StateId) {
        match condition {
            Condition::Exact(Literal::String(s)) => {
                self.strings.entry(s.as_str().into()).or_default().push(to);
                if let Some(address) = ip::parse_ip(s) {
                    self.addresses.entry(address).or_default().push(to);
                }
            }
            Condition::Exact(Literal::Number { text, value }) => {
                self.number_texts.entry(text.as_str().into()).or_default().push(to);
                if let Some(v) = value {
                    self.numbers.entry(number::key(*v)).or_default().push(to);
                }
            }
            Condition::Exact(Literal::Bool(true)) => self.literals[0].push(to),
            Condition::Exact(Literal::Bool(false)) => self.literals[1].push(to),
            Condition::Exact(Literal::Null) => self.literals[2].push(to),
            Condition::Prefix(p) => self.prefixes.insert(p.bytes(), to),
            Condition::Suffix(p) => self.suffixes.insert(p.bytes().rev(), to),
            Condition::PrefixIgnoreCase(p) => self.prefixes_folded.insert(p.bytes(), to),
            Condition::SuffixIgnoreCase(p) => self.suffixes_folded.insert(p.bytes().rev(), to),
            Condition::EqualsIgnoreCase(p) => self.folded.entry(p.as_str().into()).or_default().push(to),
            Condition::Wildcard(w) => self.wildcards.push((w.clone(), to)),
            Condition::AnythingBut(but) => self.anything_but.add(but, to),
            Condition::Numeric(range) => {
                match (range.low, range.high) {
                    // `["=", x]` is a point: a hash lookup, not a scan.
                    (Some(l), Some(h)) if l.value == h.value && l.inclusive && h.inclusive => {
                        self.numbers.entry(number::key(l.value)).or_default().push(to);
                    }
                    _ => self.ranges.add(*range, to),
                }
            }
            Condition::Exists(_) => self.any.push(to),
            Condition::Cidr(block) => self.blocks.push((*block, to)),
        }
    }

    fn query(&self, value: &Scalar<'_>, out: &mut Vec<StateId>) {
        out.extend_from_slice(&self.any);
        match value {
            Scalar::String(s) => {
                if let Some(t) = self.strings.get(s.as_ref()) {
                    out.extend_from_slice(t);
                }
                self.prefixes.walk(s.bytes(), out);
                self.suffixes.walk(s.bytes().rev(), out);
                if !(self.folded.is_empty()
                    && self.prefixes_folded.is_empty()
                    && self.suffixes_folded.is_empty())
                {
                    let f = fold(s);
                    if let Some(t) = self.folded.get(f.as_str()) {
                        out.extend_from_slice(t);
                    }
                    self.prefixes_folded.walk(f.bytes(), out);
                    self.suffixes_folded.walk(f.bytes().rev(), out);
                }
                out.extend(self.wildcards.iter().filter(|(w, _)| w.matches(s)).map(|(_, t)| *t));
                if !(self.blocks.is_empty() && self.addresses.is_empty())
                    && let Some(address) = ip::parse_ip(s)
                {
                    out.extend(self.blocks.iter().filter(|(b, _)| b.contains(address)).map(|(_, t)| *t));
                    if let Some(t) = self.addresses.get(&address) {
                        out.extend_from_slice(t);
                    }
                }
            }
            Scalar::Number(text, v) => {
                if let Some(t) = self.number_texts.get(*text) {
                    out.extend_from_slice(t);
                }
                if let Some(v) = v {
                    if let Some(t) = self.numbers.get(&number::key(*v)) {
                        out.extend_from_slice(t);
                    }
                    self.ranges.query(*v, out);
                }
            }
            Scalar::Bool(true) => out.extend_from_slice(&self.literals[0]),
            Scalar::Bool(false) => out.extend_from_slice(&self.literals[1]),
            Scalar::Null => out.extend_from_slice(&self.literals[2]),
        }
        self.anything_but.query(value, out);
    }
}

/// All anything-but conditions of one (state, path): each is an entry that matches unless the
/// value hits one of its exclusions, and the exclusions are indexed like positive conditions.
#[derive(Debug, Default, Clone)]
struct AnythingButIndex {
    /// Entry → next state.
    targets: Vec<StateId>,
    strings: FastMap<Box<str>, Vec<u32>>,
    numbers: FastMap<u64, Vec<u32>>,
    prefixes: Trie,
    suffixes: Trie,
    folded: FastMap<Box<str>, Vec<u32>>,
    wildcards: Vec<(Wildcard, u32)>,
}

impl AnythingButIndex {
    fn add(&mut self, but: &AnythingBut, to: StateId) {
        let entry = u32::try_from(self.targets.len()).unwrap_or(u32::MAX);
        self.targets.push(to);
        match but {
            AnythingBut::Strings(list) => {
                for s in list {
                    self.strings.entry(s.as_str().into()).or_default().push(entry);
                }
            }
            AnythingBut::Numbers(list) => {
                for n in list {
                    self.numbers.entry(number::key(*n)).or_default().push(entry);
                }
            }
            AnythingBut::Prefixes(list) => list.iter().for_each(|p| self.prefixes.insert(p.bytes(), entry)),
            AnythingBut::Suffixes(list) => {
                list.iter().for_each(|p| self.suffixes.insert(p.bytes().rev(), entry))
            }
            AnythingBut::IgnoreCase(list) => {
                for s in list {
                    self.folded.entry(s.as_str().into()).or_default().push(entry);
                }
            }
            AnythingBut::Wildcards(list) => self.wildcards.extend(list.iter().map(|w| (w.clone(), entry))),
        }
    }

    fn query(&self, value: &Scalar<'_>, out: &mut Vec<StateId>) {
        if self.targets.is_empty() {
            return;
        }
        let mut excluded = Vec::new();
        match value {
            Scalar::String(s) => {
                if let Some(e) = self.strings.get(s.as_ref()) {
                    excluded.extend_from_slice(e);
                }
                self.prefixes.walk(s.bytes(), &mut excluded);
                self.suffixes.walk(s.bytes().rev(), &mut excluded);
                if !self.folded.is_empty()
                    && let Some(e) = self.folded.get(fold(s).as_str())
                {
                    excluded.extend_from_slice(e);
                }
                excluded.extend(self.wildcards.iter().filter(|(w, _)| w.matches(s)).map(|(_, e)| *e));
            }
            Scalar::Number(_, Some(v)) => {
                if let Some(e) = self.numbers.get(&number::key(*v)) {
                    excluded.extend_from_slice(e);
                }
            }
            _ => {}
        }
        if excluded.is_empty() {
            out.extend_from_slice(&self.targets);
            return;
        }
        excluded.sort_unstable();
        for (entry, &to) in self.targets.iter().enumerate() {
            if excluded.binary_search(&(entry as u32)).is_err() {
                out.push(to);
            }
        }
    }
}

#[cfg(test)]
impl<R> Matcher<R> {
    pub(crate) fn state_count(&self) -> usize {
        self.states.len()
    }
}
