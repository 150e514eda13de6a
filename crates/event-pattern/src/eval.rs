//! The direct meaning of a pattern: what each condition accepts, and a backtracking search for
//! one branch whose fields all match from consistent array elements. It serves one-off checks
//! (TestEventPattern) and is the oracle the compiled matcher is tested against.

use crate::event::{self, Flat, Scalar};
use crate::ip::{self, IpRange};
use crate::number;
use crate::pattern::{AnythingBut, Branch, Condition, Field, Literal, Pattern, fold};

impl Condition {
    /// Whether one leaf value satisfies this condition. `exists` is about the field, not a
    /// value: `exists: true` accepts any leaf, `exists: false` none (it is handled per field).
    pub(crate) fn accepts(&self, value: &Scalar<'_>) -> bool {
        let text = match value {
            Scalar::String(s) => Some(s.as_ref()),
            _ => None,
        };
        match self {
            Condition::Exact(literal) => literal_matches(literal, value),
            Condition::Prefix(p) => text.is_some_and(|s| s.starts_with(p.as_str())),
            Condition::Suffix(p) => text.is_some_and(|s| s.ends_with(p.as_str())),
            Condition::PrefixIgnoreCase(p) => text.is_some_and(|s| fold(s).starts_with(p.as_str())),
            Condition::SuffixIgnoreCase(p) => text.is_some_and(|s| fold(s).ends_with(p.as_str())),
            Condition::EqualsIgnoreCase(p) => text.is_some_and(|s| fold(s) == *p),
            Condition::Wildcard(w) => text.is_some_and(|s| w.matches(s)),
            Condition::AnythingBut(but) => !excluded(but, value),
            Condition::Numeric(range) => matches!(value, Scalar::Number(_, Some(v)) if range.contains(*v)),
            Condition::Exists(present) => *present,
            Condition::Cidr(block) => text.and_then(ip::parse_ip).is_some_and(|a| block.contains(a)),
        }
    }
}

fn literal_matches(literal: &Literal, value: &Scalar<'_>) -> bool {
    match (literal, value) {
        (Literal::String(p), Scalar::String(s)) => {
            // An address in a pattern matches the same address however the event spells it.
            p == s
                || ip::parse_ip(p)
                    .is_some_and(|a| ip::parse_ip(s).is_some_and(|b| IpRange::single(a).contains(b)))
        }
        (Literal::Number { text, value: pv }, Scalar::Number(t, v)) => text == t || (pv.is_some() && pv == v),
        (Literal::Bool(a), Scalar::Bool(b)) => a == b,
        (Literal::Null, Scalar::Null) => true,
        _ => false,
    }
}

/// Whether `value` is one of the values an anything-but excludes. Only strings can be excluded
/// by the string forms, only comparable numbers by the number form; null and booleans never are.
fn excluded(but: &AnythingBut, value: &Scalar<'_>) -> bool {
    match (but, value) {
        (AnythingBut::Strings(list), Scalar::String(s)) => list.iter().any(|x| x == s),
        (AnythingBut::Numbers(list), Scalar::Number(_, Some(v))) => {
            list.iter().any(|x| number::key(*x) == number::key(*v))
        }
        (AnythingBut::Prefixes(list), Scalar::String(s)) => list.iter().any(|p| s.starts_with(p.as_str())),
        (AnythingBut::Suffixes(list), Scalar::String(s)) => list.iter().any(|p| s.ends_with(p.as_str())),
        (AnythingBut::IgnoreCase(list), Scalar::String(s)) => list.contains(&fold(s)),
        (AnythingBut::Wildcards(list), Scalar::String(s)) => list.iter().any(|w| w.matches(s)),
        _ => false,
    }
}

/// Whether any branch of `pattern` matches the flattened event.
pub(crate) fn matches(pattern: &Pattern, flat: &Flat<'_>) -> bool {
    pattern.branches.iter().any(|b| branch_matches(b, flat))
}

fn branch_matches(branch: &Branch, flat: &Flat<'_>) -> bool {
    search(&branch.fields, flat, &[])
}

fn search(fields: &[Field], flat: &Flat<'_>, constraint: &[(u32, u32)]) -> bool {
    let Some((field, rest)) = fields.split_first() else { return true };
    let leaves = flat.at(field.id);
    if leaves.is_empty() {
        return field.conditions.contains(&Condition::Exists(false)) && search(rest, flat, constraint);
    }
    leaves.iter().any(|leaf| {
        let trail = flat.trail(leaf);
        field.conditions.iter().any(|c| c.accepts(&leaf.value))
            && event::consistent(constraint, trail)
            && search(rest, flat, &event::merge(constraint, trail))
    })
}

impl Pattern {
    /// Whether `event` (JSON text) matches this one pattern, as TestEventPattern answers. To
    /// match many rules, compile them into a [`crate::Matcher`] instead.
    pub fn matches(&self, event: &str) -> Result<bool, crate::PatternError> {
        let flat = event::flatten(event, &self.paths).map_err(crate::PatternError::InvalidEvent)?;
        Ok(matches(self, &flat))
    }

    /// [`Pattern::matches`] for an event already parsed by serde_json.
    pub fn matches_value(&self, event: &serde_json::Value) -> bool {
        // serde_json's own text is always valid JSON, so the error arm cannot happen.
        self.matches(&event.to_string()).unwrap_or(false)
    }
}
