//! EventBridge's event pattern language, sans IO: parse → validate → compile → match.
//!
//! - [`Pattern::parse`] reads a pattern and refuses an invalid one with the reason EventBridge
//!   gives ([`PatternError`]'s Display is the `InvalidEventPatternException` message);
//!   [`Pattern::matches`] answers for one event (TestEventPattern).
//! - [`FilterPolicy`] reads SNS subscription filter policies (the same language, SNS's limits
//!   and wording) and matches them on message attributes or a message body.
//! - [`Matcher`] compiles every rule of a bus into one automaton over field paths and values;
//!   [`Matcher::matches`] names the rules an event matches, at a cost that follows the event's
//!   size rather than the number of rules.
//!
//! Semantics follow aws/event-ruler (the library EventBridge runs) where AWS's documentation and
//! its behaviour differ: numbers compare by value (`300` = `300.0` = `3e2`), dot-joined keys
//! equal nesting, the last duplicate key wins, and the fields of one rule must match inside the
//! same element of any array they share. Start reading at `pattern.rs`, then `machine.rs`.

mod error;
mod eval;
mod event;
mod filter_policy;
mod interval;
mod ip;
mod json;
mod machine;
mod number;
mod pattern;
mod trie;
mod wildcard;

pub use error::PatternError;
pub use filter_policy::{
    AttributeValue, FilterPolicy, FilterPolicyError, FilterScope, MAX_COMBINATIONS, MAX_KEYS,
};
pub use machine::Matcher;
pub use pattern::{Dialect, Pattern};

/// Maps keyed by what the rules name (field paths, literals) and probed for every leaf of every
/// event: a fast hasher, since only rules, not events, put keys in them.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

#[cfg(test)]
mod tests;
