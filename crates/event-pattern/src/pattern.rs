//! The pattern language: reading a pattern into `$or`-expanded branches of (field path,
//! conditions), refusing invalid ones with the reasons Ruler (and so EventBridge) gives.
//!
//! The walk follows Ruler's compiler step by step, because which error a bad pattern reports
//! depends on the order checks happen in: fields in document order, the first key of a match
//! expression before its extra keys, structure before number conversion.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::PatternError;
use crate::event::PathIndex;
use crate::ip::{self, IpRange};
use crate::json::{self, Json};
use crate::number::{self, Bound, Range};
use crate::wildcard::{self, Wildcard};

/// Which service's flavour of the language to read. SNS filter policies are read by
/// [`crate::FilterPolicy`], which adds SNS's limits on top of this dialect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    #[default]
    EventBridge,
}

/// At most this many branches after expanding `$or` (EventBridge documents 1000 combinations).
pub(crate) const MAX_BRANCHES: usize = 1000;

/// Field names a `$or` branch may not use (Ruler's `Constants`), current operators and the ones
/// it holds for future use.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

/// A literal value in a pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    String(String),
    /// The literal text and, when a double holds it exactly, its value.
    Number {
        text: String,
        value: Option<f64>,
    },
    Bool(bool),
    Null,
}

/// One entry of a field's array: the field matches when any of its conditions does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Exact(Literal),
    Prefix(String),
    /// Stored case-folded, as are all ignore-case strings.
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(Range),
    Exists(bool),
    Cidr(IpRange),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

/// One field of a branch: a dot-joined path and the conditions ORed on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub path: String,
    /// The path's id in the pattern's own [`PathIndex`].
    pub id: u32,
    pub conditions: Vec<Condition>,
}

/// One way for the pattern to match (one combination of its `$or` choices): every field must
/// match, from the same array elements where fields share arrays.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    /// Sorted by path, one entry per path.
    pub fields: Vec<Field>,
}

/// A validated event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub(crate) branches: Vec<Branch>,
    pub(crate) paths: PathIndex,
}

impl Pattern {
    /// Reads and validates an EventBridge pattern.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse_with(text, Dialect::EventBridge)
    }

    /// Reads and validates a pattern in the given dialect.
    pub fn parse_with(text: &str, dialect: Dialect) -> Result<Pattern, PatternError> {
        let Dialect::EventBridge = dialect;
        read(text).map_err(PatternError::InvalidPattern)
    }

    /// Whether the pattern uses `wildcard` (EventBridge allows 30 such rules per bus).
    pub fn uses_wildcard(&self) -> bool {
        self.conditions().any(|c| matches!(c, Condition::Wildcard(_)))
    }

    pub(crate) fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.branches.iter().flat_map(|b| b.fields.iter()).flat_map(|f| f.conditions.iter())
    }
}

type Rule = BTreeMap<String, Vec<Condition>>;

fn read(text: &str) -> Result<Pattern, String> {
    let root = json::parse(text)?;
    let Json::Object(entries) = &root else {
        return Err("Filter is not an object".to_owned());
    };
    let mut rules: Vec<Rule> = Vec::new();
    object(&mut rules, "", entries, false)?;
    // Ruler measures wildcard complexity when the rule joins the machine, after every syntax
    // check has passed; so here, after the whole pattern has been read.
    for rule in &rules {
        for condition in rule.values().flatten() {
            if let Condition::Wildcard(w) = condition
                && w.complexity(wildcard::MAX_COMPLEXITY + 1) > wildcard::MAX_COMPLEXITY
            {
                return Err(wildcard::TOO_COMPLEX.to_owned());
            }
        }
    }
    let mut paths = PathIndex::default();
    let branches = rules
        .into_iter()
        .map(|rule| Branch {
            fields: rule
                .into_iter()
                .map(|(path, conditions)| Field { id: paths.intern(&path), path, conditions })
                .collect(),
        })
        .collect();
    Ok(Pattern { branches, paths })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn object(
    rules: &mut Vec<Rule>,
    path: &str,
    entries: &[(Cow<'_, str>, Json<'_>)],
    in_or: bool,
) -> Result<(), String> {
    if entries.is_empty() {
        return Err("Empty objects are not allowed".to_owned());
    }
    for (key, value) in entries {
        if key == "$or" {
            or(rules, path, value)?;
            continue;
        }
        if in_or && RESERVED_IN_OR.contains(&key.as_ref()) {
            return Err(format!("{key} is Ruler reserved fieldName which cannot be used inside $or."));
        }
        match value {
            Json::Object(inner) => object(rules, &join(path, key), inner, in_or)?,
            Json::Array(items) => field(rules, join(path, key), items)?,
            _ => return Err(format!("\"{key}\" must be an object or an array")),
        }
    }
    Ok(())
}

fn or(rules: &mut Vec<Rule>, path: &str, value: &Json<'_>) -> Result<(), String> {
    let before = std::mem::take(rules);
    let Json::Array(items) = value else {
        return Err("It must be an Array followed with $or.".to_owned());
    };
    for item in items {
        let Json::Object(entries) = item else {
            return Err("Only JSON object is allowed in array of $or relationship.".to_owned());
        };
        let mut forked = before.clone();
        if forked.is_empty() {
            forked.push(Rule::new());
        }
        object(&mut forked, path, entries, true)?;
        rules.extend(forked);
        if rules.len() > MAX_BRANCHES {
            // EventBridge refuses over 1000 combinations; its exact wording is not on record.
            return Err(format!("The pattern expands to more than {MAX_BRANCHES} combinations of $or"));
        }
    }
    if items.len() < 2 {
        return Err("There must have at least 2 Objects in $or relationship.".to_owned());
    }
    Ok(())
}

fn field(rules: &mut Vec<Rule>, path: String, items: &[Json<'_>]) -> Result<(), String> {
    let mut conditions = Vec::with_capacity(items.len());
    for item in items {
        conditions.push(match item {
            Json::Object(entries) => match_expression(entries)?,
            Json::String(s) => Condition::Exact(Literal::String(s.to_string())),
            Json::Number(n) => Condition::Exact(number_literal(n)),
            Json::Bool(b) => Condition::Exact(Literal::Bool(*b)),
            Json::Null => Condition::Exact(Literal::Null),
            Json::Array(_) => {
                return Err("Match value must be String, number, true, false, or null".to_owned());
            }
        });
    }
    if conditions.is_empty() {
        return Err("Empty arrays are not allowed".to_owned());
    }
    if rules.is_empty() {
        rules.push(Rule::new());
    }
    // A path given twice (directly, or once nested and once dot-joined): the last one wins.
    for rule in rules.iter_mut() {
        rule.insert(path.clone(), conditions.clone());
    }
    Ok(())
}

pub(crate) fn number_literal(text: &str) -> Literal {
    Literal::Number { text: text.to_owned(), value: number::comparable(text) }
}

const ONLY_ONE_KEY: &str = "Only one key allowed in match expression";
const TOO_MANY_ELEMENTS: &str = "Too many elements in numeric expression";

fn only_one(rest: &[(Cow<'_, str>, Json<'_>)], message: &str) -> Result<(), String> {
    if rest.is_empty() { Ok(()) } else { Err(message.to_owned()) }
}

fn string<'j>(value: &'j Json<'_>, message: &str) -> Result<&'j str, String> {
    match value {
        Json::String(s) => Ok(s),
        _ => Err(message.to_owned()),
    }
}

fn match_expression(entries: &[(Cow<'_, str>, Json<'_>)]) -> Result<Condition, String> {
    let Some(((op, value), rest)) = entries.split_first() else {
        return Err("Match expression name not found".to_owned());
    };
    let condition = match op.as_ref() {
        "exactly" => Condition::Exact(Literal::String(
            string(value, "exact match pattern must be a string")?.to_owned(),
        )),
        "prefix" => match value {
            Json::Object(inner) => {
                Condition::PrefixIgnoreCase(fold(affix_ignore_case(inner, "Prefix", "prefix")?))
            }
            _ => Condition::Prefix(string(value, "prefix match pattern must be a string")?.to_owned()),
        },
        "suffix" => match value {
            Json::Object(inner) => {
                Condition::SuffixIgnoreCase(fold(affix_ignore_case(inner, "Suffix", "suffix")?))
            }
            _ => Condition::Suffix(string(value, "suffix match pattern must be a string")?.to_owned()),
        },
        "numeric" => {
            let Json::Array(items) = value else {
                return Err("Value of numeric must be an array.".to_owned());
            };
            let range = numeric(items)?;
            only_one(rest, TOO_MANY_ELEMENTS)?;
            return Ok(Condition::Numeric(range));
        }
        "anything-but" => {
            let condition = anything_but(value)?;
            only_one(rest, TOO_MANY_ELEMENTS)?;
            return Ok(Condition::AnythingBut(condition));
        }
        "exists" => match value {
            Json::Bool(b) => Condition::Exists(*b),
            _ => return Err("exists match pattern must be either true or false.".to_owned()),
        },
        // Ruler's message for a non-string CIDR really does say "prefix".
        "cidr" => Condition::Cidr(ip::parse_cidr(string(value, "prefix match pattern must be a string")?)?),
        "equals-ignore-case" => Condition::EqualsIgnoreCase(fold(string(
            value,
            "equals-ignore-case match pattern must be a string",
        )?)),
        "wildcard" => {
            Condition::Wildcard(Wildcard::parse(string(value, "wildcard match pattern must be a string")?)?)
        }
        other => return Err(format!("Unrecognized match type {other}")),
    };
    only_one(rest, ONLY_ONE_KEY)?;
    Ok(condition)
}

/// `{"prefix": {"equals-ignore-case": "x"}}` (and the suffix form): returns the string.
fn affix_ignore_case<'j>(
    inner: &'j [(Cow<'_, str>, Json<'_>)],
    name: &str,
    op: &str,
) -> Result<&'j str, String> {
    let Some(((key, value), rest)) = inner.split_first() else {
        return Err(format!("{name} expression name not found"));
    };
    if key != "equals-ignore-case" {
        return Err(format!("Unsupported {op} pattern: {key}"));
    }
    let s = string(value, "equals-ignore-case match pattern must be a string")?;
    only_one(rest, ONLY_ONE_KEY)?;
    Ok(s)
}

fn numeric<'a>(items: &[Json<'a>]) -> Result<Range, String> {
    let mut it = items.iter();
    let op = match it.next() {
        Some(Json::String(s)) => s.as_ref(),
        Some(other) => return Err(format!("Invalid member in numeric match: {}", other.token_text())),
        None => return Err("Invalid member in numeric match: ]".to_owned()),
    };
    let operand = |token: Option<&Json<'a>>, name: &str| -> Result<&'a str, String> {
        match token {
            Some(Json::Number(n)) => Ok(*n),
            _ => Err(format!("Value of {name} must be numeric")),
        }
    };
    // Ruler checks the shape of the whole expression before converting any number.
    let (low, high) = match op {
        "=" => {
            let v = operand(it.next(), "equals")?;
            if it.next().is_some() {
                return Err(TOO_MANY_ELEMENTS.to_owned());
            }
            let v = comparable(v)?;
            (Some(Bound { value: v, inclusive: true }), Some(Bound { value: v, inclusive: true }))
        }
        ">" | ">=" => {
            let bottom = operand(it.next(), op)?;
            let top = match it.next() {
                None => None,
                Some(Json::String(top_op)) => {
                    let inclusive = match top_op.as_ref() {
                        "<" => false,
                        "<=" => true,
                        other => return Err(format!("Bad numeric range operator: {other}")),
                    };
                    let top = operand(it.next(), top_op)?;
                    if it.next().is_some() {
                        return Err("Too many terms in numeric range expression".to_owned());
                    }
                    Some((top, inclusive))
                }
                Some(other) => return Err(format!("Bad value in numeric range: {}", other.token_text())),
            };
            let low = Bound { value: comparable(bottom)?, inclusive: op == ">=" };
            let high = match top {
                None => None,
                Some((top, inclusive)) => Some(Bound { value: comparable(top)?, inclusive }),
            };
            if let Some(high) = high
                && low.value >= high.value
            {
                return Err("Bottom must be less than top".to_owned());
            }
            (Some(low), high)
        }
        "<" | "<=" => {
            let top = operand(it.next(), op)?;
            if it.next().is_some() {
                return Err(TOO_MANY_ELEMENTS.to_owned());
            }
            (None, Some(Bound { value: comparable(top)?, inclusive: op == "<=" }))
        }
        other => return Err(format!("Unrecognized numeric range operator: {other}")),
    };
    Ok(Range { low, high })
}

fn comparable(text: &str) -> Result<f64, String> {
    number::comparable(text).ok_or_else(|| format!("Cannot compare number : {text}"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetKind {
    IgnoreCase,
    Prefix,
    Suffix,
    Wildcard,
}

fn anything_but(value: &Json<'_>) -> Result<AnythingBut, String> {
    let (kind, value, inner_rest) = match value {
        Json::Object(entries) => {
            let Some(((op, inner), rest)) = entries.split_first() else {
                return Err("Anything-But expression name not found".to_owned());
            };
            let kind = match op.as_ref() {
                "equals-ignore-case" => SetKind::IgnoreCase,
                "prefix" => SetKind::Prefix,
                "suffix" => SetKind::Suffix,
                "wildcard" => SetKind::Wildcard,
                other => return Err(format!("Unsupported anything-but pattern: {other}")),
            };
            (Some(kind), inner, rest)
        }
        other => (None, other, &[][..]),
    };
    if !matches!(value, Json::Array(_) | Json::String(_) | Json::Number(_)) {
        return Err("Value of anything-but must be an array or single string/number value.".to_owned());
    }
    let items = match value {
        Json::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let result = match kind {
        None => plain_anything_but(items, matches!(value, Json::Array(_)))?,
        Some(kind) => {
            let mut strings = Vec::with_capacity(items.len());
            for item in items {
                let Json::String(s) = item else {
                    return Err(match kind {
                        SetKind::IgnoreCase => "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                        SetKind::Wildcard => "wildcard match pattern must be a string",
                        SetKind::Prefix | SetKind::Suffix => "prefix/suffix match pattern must be a string",
                    }
                    .to_owned());
                };
                if s.is_empty() && matches!(kind, SetKind::Prefix | SetKind::Suffix) {
                    return Err("Null prefix/suffix not allowed".to_owned());
                }
                strings.push(s.to_string());
            }
            match kind {
                SetKind::IgnoreCase => AnythingBut::IgnoreCase(strings.iter().map(|s| fold(s)).collect()),
                SetKind::Prefix => AnythingBut::Prefixes(strings),
                SetKind::Suffix => AnythingBut::Suffixes(strings),
                SetKind::Wildcard => AnythingBut::Wildcards(
                    strings.iter().map(|s| Wildcard::parse(s)).collect::<Result<_, _>>()?,
                ),
            }
        }
    };
    only_one(inner_rest, TOO_MANY_ELEMENTS)?;
    Ok(result)
}

fn plain_anything_but(items: &[Json<'_>], list: bool) -> Result<AnythingBut, String> {
    let (mut strings, mut numbers) = (Vec::new(), Vec::new());
    for item in items {
        match item {
            Json::String(s) => strings.push(s.to_string()),
            Json::Number(n) => numbers.push(comparable(n)?),
            _ => return Err("Inside anything but list, start|null|boolean is not supported.".to_owned()),
        }
    }
    if list && (strings.is_empty() == numbers.is_empty()) {
        return Err(
            "Inside anything but list, either all values are number or string, mixed type is not supported"
                .to_owned(),
        );
    }
    Ok(if numbers.is_empty() { AnythingBut::Strings(strings) } else { AnythingBut::Numbers(numbers) })
}

/// Case folding for equals-ignore-case: each character maps to its lowercase form when that is a
/// single character (so the folded text keeps one character per original character).
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}
