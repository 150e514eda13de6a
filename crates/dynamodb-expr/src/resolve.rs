//! `Placeholders`: a request's ExpressionAttributeNames and ExpressionAttributeValues, and the
//! checks that turn a parsed expression into a resolved one: placeholder substitution, reserved
//! words, function names, arity and operand types, overlapping paths; then, once every
//! expression of the request is read, the unused-placeholder check.
//!
//! DynamoDB reports one error per expression even when there are several, and which one wins
//! depends on its kind, not its position (an undefined `:value` is reported before a bad
//! operand type even if it comes later). So the checks note what they find per kind and the
//! highest-ranked finding is reported at the end.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::condition::{Condition, Operand, order};
use crate::key_condition::{self, KeyCondition};
use crate::parse::{Clause, Parser, Raw, RawAction, RawElement};
use crate::path::Clash;
use crate::reserved::is_reserved;
use crate::update::{UpdateExpression, UpdateValue};
use crate::{AttributeValue, Error, ExpressionKind, KeySchema, Path, PathElement, Projection, ValueType};

/// The longest expression DynamoDB accepts, in bytes.
pub const MAX_EXPRESSION_SIZE: usize = 4096;

/// The most operands `IN` takes after the first.
const MAX_IN_OPERANDS: usize = 100;

/// A request's placeholders and which of them its expressions used.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    used_names: HashSet<String>,
    used_values: HashSet<String>,
}

impl Placeholders {
    /// Placeholders as the request gave them, checked as DynamoDB checks them: a map that is
    /// present may not be empty, and every key must be `#word` / `:word`.
    pub fn new(
        names: Option<HashMap<String, String>>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<Self, Error> {
        if let Some(names) = &names {
            if names.is_empty() {
                return Err(Error::EmptyNames);
            }
            if let Some(bad) = names.keys().find(|k| !is_placeholder(k, '#')) {
                return Err(Error::InvalidNameKey(bad.clone()));
            }
        }
        if let Some(values) = &values {
            if values.is_empty() {
                return Err(Error::EmptyValues);
            }
            if let Some(bad) = values.keys().find(|k| !is_placeholder(k, ':')) {
                return Err(Error::InvalidValueKey(bad.clone()));
            }
        }
        Ok(Self { names: names.unwrap_or_default(), values: values.unwrap_or_default(), ..Self::default() })
    }

    /// Reads the two request members in DynamoDB JSON, validating every value (a bad value is
    /// reported with its key).
    pub fn from_json(names: Option<&Value>, values: Option<&Value>) -> Result<Self, Error> {
        let names = match names {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(
                map.iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k.clone(), s.clone())),
                        _ => Err(Error::Serialization("Unexpected value type in payload".to_owned())),
                    })
                    .collect::<Result<HashMap<_, _>, _>>()?,
            ),
            Some(_) => return Err(Error::Serialization("Expected map or null".to_owned())),
        };
        let values = match values {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(
                map.iter()
                    .map(|(k, v)| {
                        AttributeValue::from_json(v).map(|v| (k.clone(), v)).map_err(|e| match e {
                            Error::Serialization(_) => e,
                            other => Error::InvalidValue { key: k.clone(), reason: Box::new(other) },
                        })
                    })
                    .collect::<Result<HashMap<_, _>, _>>()?,
            ),
            Some(_) => return Err(Error::Serialization("Expected map or null".to_owned())),
        };
        Self::new(names, values)
    }

    /// Parses and resolves a ConditionExpression or FilterExpression.
    pub fn condition(&mut self, kind: ExpressionKind, text: &str) -> Result<Condition, Error> {
        check_length(kind, text)?;
        let raw = Parser::new(kind, text).condition()?;
        let mut checker = Checker::new(self, kind);
        let condition = checker.condition(&raw);
        checker.finish()?;
        Ok(condition)
    }

    /// Parses a KeyConditionExpression and checks it against the key schema of the table or
    /// index queried.
    pub fn key_condition(&mut self, text: &str, schema: &KeySchema) -> Result<KeyCondition, Error> {
        let condition = self.condition(ExpressionKind::KeyCondition, text)?;
        key_condition::from_condition(&condition, schema)
    }

    /// Parses and resolves an UpdateExpression.
    pub fn update(&mut self, text: &str) -> Result<UpdateExpression, Error> {
        let kind = ExpressionKind::Update;
        check_length(kind, text)?;
        let clauses = Parser::new(kind, text).update()?;
        let mut checker = Checker::new(self, kind);
        let update = checker.update(&clauses);
        checker.finish()?;
        Ok(update)
    }

    /// Parses and resolves a ProjectionExpression.
    pub fn projection(&mut self, text: &str) -> Result<Projection, Error> {
        let kind = ExpressionKind::Projection;
        check_length(kind, text)?;
        let raw = Parser::new(kind, text).projection()?;
        let mut checker = Checker::new(self, kind);
        let paths: Vec<Path> = raw.iter().map(|p| checker.path(p)).collect();
        checker.check_clashes(&paths);
        checker.finish()?;
        Ok(Projection { paths })
    }

    /// After every expression of the request: refuses placeholders no expression used.
    pub fn finish(&self) -> Result<(), Error> {
        let unused = |all: &mut dyn Iterator<Item = &String>, used: &HashSet<String>| {
            let unused: BTreeSet<&str> = all.filter(|k| !used.contains(*k)).map(String::as_str).collect();
            (!unused.is_empty()).then(|| unused.into_iter().collect::<Vec<_>>().join(", "))
        };
        if let Some(keys) = unused(&mut self.names.keys(), &self.used_names) {
            return Err(Error::UnusedNames(keys));
        }
        if let Some(keys) = unused(&mut self.values.keys(), &self.used_values) {
            return Err(Error::UnusedValues(keys));
        }
        Ok(())
    }
}

fn is_placeholder(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
}

fn check_length(kind: ExpressionKind, text: &str) -> Result<(), Error> {
    if text.is_empty() {
        return Err(Error::EmptyExpression { kind });
    }
    if text.len() > MAX_EXPRESSION_SIZE {
        return Err(Error::ExpressionTooLong { kind, size: text.len() });
    }
    Ok(())
}

/// What a check can find, in the order DynamoDB ranks them (see `rank`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finding {
    RedundantParens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    Section,
    UndefinedName,
    UndefinedValue,
    Overlap,
    Conflict,
    UpdateOperand,
    OperandCount,
    NotDistinct,
    OperandType,
}

/// Lower ranks win. Conditions report undefined names and values in one slot (the first found
/// wins); updates rank reserved words first and names before values.
fn rank(kind: ExpressionKind, finding: Finding) -> u8 {
    use Finding::*;
    match kind {
        ExpressionKind::Update => match finding {
            Reserved => 0,
            UnknownFunction | MisusedFunction => 1,
            Section => 2,
            UndefinedName => 3,
            UndefinedValue => 4,
            Overlap => 5,
            Conflict => 6,
            UpdateOperand => 7,
            RedundantParens | OperandCount | NotDistinct | OperandType => 8,
        },
        _ => match finding {
            RedundantParens => 0,
            UnknownFunction => 1,
            MisusedFunction => 2,
            Reserved => 3,
            UndefinedName | UndefinedValue => 4,
            OperandCount => 5,
            NotDistinct => 6,
            OperandType => 7,
            Overlap => 8,
            Conflict => 9,
            Section | UpdateOperand => 10,
        },
    }
}

struct Checker<'p> {
    placeholders: &'p mut Placeholders,
    kind: ExpressionKind,
    /// The first finding of each rank.
    found: Vec<(u8, Error)>,
}

/// The functions of conditions; in an update they are refused by name.
const CONDITION_FUNCTIONS: [&str; 6] =
    ["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size"];

fn unwrap_parens<'r, 's>(mut raw: &'r Raw<'s>) -> &'r Raw<'s> {
    while let Raw::Paren { inner, .. } = raw {
        raw = inner;
    }
    raw
}

/// How DynamoDB shows a constant in messages: `{N:1}`.
fn show_constant(value: &AttributeValue) -> String {
    let json = value.to_json();
    let inner = match json.as_object().and_then(|m| m.values().next()) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    format!("{{{}:{inner}}}", value.value_type().tag())
}

impl<'p> Checker<'p> {
    fn new(placeholders: &'p mut Placeholders, kind: ExpressionKind) -> Self {
        Self { placeholders, kind, found: Vec::new() }
    }

    fn note(&mut self, finding: Finding, reason: impl FnOnce() -> String) {
        let rank = rank(self.kind, finding);
        if !self.found.iter().any(|(r, _)| *r == rank) {
            self.found.push((rank, Error::invalid(self.kind, reason())));
        }
    }

    fn note_parens(&mut self, redundant: bool) {
        if redundant {
            self.note(Finding::RedundantParens, || "The expression has redundant parentheses;".to_owned());
        }
    }

    fn finish(self) -> Result<(), Error> {
        match self.found.into_iter().min_by_key(|(rank, _)| *rank) {
            Some((_, error)) => Err(error),
            None => Ok(()),
        }
    }

    // --- Names, values, paths ----------------------------------------------------------------

    fn path(&mut self, raw: &[RawElement<'_>]) -> Path {
        let mut elements = Vec::with_capacity(raw.len());
        for element in raw {
            elements.push(match element {
                RawElement::Ident(name) => {
                    if is_reserved(name) {
                        self.note(Finding::Reserved, || format!("Attribute name is a reserved keyword; reserved keyword: {name}"));
                    }
                    PathElement::Attribute((*name).to_owned())
                }
                RawElement::Name(placeholder) => match self.placeholders.names.get(*placeholder) {
                    Some(name) => {
                        self.placeholders.used_names.insert((*placeholder).to_owned());
                        PathElement::Attribute(name.clone())
                    }
                    None => {
                        self.note(Finding::UndefinedName, || {
                            format!("An expression attribute name used in the document path is not defined; attribute name: {placeholder}")
                        });
                        PathElement::Attribute((*placeholder).to_owned())
                    }
                },
                RawElement::Index(i) => PathElement::Index(*i),
            });
        }
        Path::from_elements(elements).unwrap_or_else(|| Path::attribute(""))
    }

    fn value(&mut self, placeholder: &str) -> AttributeValue {
        match self.placeholders.values.get(placeholder) {
            Some(value) => {
                self.placeholders.used_values.insert(placeholder.to_owned());
                value.clone()
            }
            None => {
                self.note(Finding::UndefinedValue, || {
                    format!("An expression attribute value used in expression is not defined; attribute value: {placeholder}")
                });
                AttributeValue::Null
            }
        }
    }

    fn check_clashes(&mut self, paths: &[Path]) {
        for (i, later) in paths.iter().enumerate() {
            for earlier in &paths[..i] {
                match earlier.clash(later) {
                    Some(Clash::Overlap) => self.note(Finding::Overlap, || {
                        format!("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}")
                    }),
                    Some(Clash::Conflict) => self.note(Finding::Conflict, || {
                        format!("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}")
                    }),
                    None => {}
                }
            }
        }
    }

    fn arity(&mut self, name: &str, args: &[Raw<'_>], expected: usize) -> bool {
        if args.len() == expected {
            return true;
        }
        let count = args.len();
        self.note(Finding::OperandCount, || {
            format!("Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {count}")
        });
        false
    }

    fn operand_type(&mut self, name: &str, found: ValueType) {
        self.note(Finding::OperandType, || {
            format!("Incorrect operand type for operator or function; operator or function: {name}, operand type: {}", found.tag())
        });
    }

    fn requires_path(&mut self, name: &str, raw: &Raw<'_>) -> Path {
        match unwrap_parens(raw) {
            Raw::Path(p) => self.path(p),
            other => {
                // Resolve it anyway so that its placeholders count as used.
                self.operand(other);
                self.note(Finding::OperandType, || {
                    format!("Operator or function requires a document path; operator or function: {name}")
                });
                Path::attribute("")
            }
        }
    }

    // --- Conditions --------------------------------------------------------------------------

    fn condition(&mut self, raw: &Raw<'_>) -> Condition {
        match raw {
            Raw::Paren { inner, redundant } => {
                self.note_parens(*redundant);
                self.condition(inner)
            }
            Raw::And(a, b) => Condition::And(Box::new(self.condition(a)), Box::new(self.condition(b))),
            Raw::Or(a, b) => Condition::Or(Box::new(self.condition(a)), Box::new(self.condition(b))),
            Raw::Not(a) => Condition::Not(Box::new(self.condition(a))),
            Raw::Compare(op, a, b) => {
                let (a, b) = (self.operand(a), self.operand(b));
                self.check_distinct(op.symbol(), &a, &b);
                Condition::Compare(*op, a, b)
            }
            Raw::Between(x, low, high) => {
                let (x, low, high) = (self.operand(x), self.operand(low), self.operand(high));
                self.check_bounds(&low, &high);
                Condition::Between(x, low, high)
            }
            Raw::In(x, list) => {
                let x = self.operand(x);
                let list: Vec<Operand> = list.iter().map(|o| self.operand(o)).collect();
                if list.len() > MAX_IN_OPERANDS {
                    let count = list.len();
                    self.note(Finding::OperandCount, || {
                        format!(
                            "The IN operator is provided with too many operands; number of operands: {count}"
                        )
                    });
                }
                Condition::In(x, list)
            }
            Raw::Call { name, args } => self.function_condition(name, args),
            // The parser never leaves an operand where a condition belongs.
            Raw::Path(_) | Raw::Value(_) | Raw::Plus(..) | Raw::Minus(..) => {
                Condition::AttributeExists(Path::attribute(""))
            }
        }
    }

    fn check_distinct(&mut self, operator: &str, a: &Operand, b: &Operand) {
        if let (Operand::Path(a), Operand::Path(b)) = (a, b)
            && a == b
        {
            self.note(Finding::NotDistinct, || {
                format!("The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {a}")
            });
        }
    }

    fn check_bounds(&mut self, low: &Operand, high: &Operand) {
        let (Operand::Value(low), Operand::Value(high)) = (low, high) else { return };
        let shown = || {
            format!(
                "lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                show_constant(low),
                show_constant(high)
            )
        };
        if low.value_type() != high.value_type() {
            self.note(Finding::OperandType, || {
                format!(
                    "The BETWEEN operator requires same data type for lower and upper bounds; {}",
                    shown()
                )
            });
        } else if order(low, high) == Some(std::cmp::Ordering::Greater) {
            self.note(Finding::OperandType, || {
                format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {}", shown())
            });
        }
    }

    fn function_condition(&mut self, name: &str, args: &[Raw<'_>]) -> Condition {
        let fallback = Condition::AttributeExists(Path::attribute(""));
        match name {
            "attribute_exists" | "attribute_not_exists" => {
                if !self.arity(name, args, 1) {
                    self.resolve_all(args);
                    return fallback;
                }
                let path = self.requires_path(name, &args[0]);
                if name == "attribute_exists" {
                    Condition::AttributeExists(path)
                } else {
                    Condition::AttributeNotExists(path)
                }
            }
            "attribute_type" => {
                if !self.arity(name, args, 2) {
                    self.resolve_all(args);
                    return fallback;
                }
                let path = self.requires_path(name, &args[0]);
                let kind = self.operand(&args[1]);
                match &kind {
                    Operand::Value(AttributeValue::S(tag)) if ValueType::from_tag(tag).is_none() => {
                        self.note(Finding::OperandType, || {
                            format!("Invalid attribute type name found; type: {tag}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}")
                        })
                    }
                    Operand::Value(AttributeValue::S(_)) => {}
                    other => {
                        let shown = other.static_type().map_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}", ValueType::tag);
                        self.note(Finding::OperandType, || {
                            format!("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {shown}")
                        })
                    }
                }
                Condition::AttributeType(path, kind)
            }
            "begins_with" | "contains" => {
                if !self.arity(name, args, 2) {
                    self.resolve_all(args);
                    return fallback;
                }
                let (a, b) = (self.operand(&args[0]), self.operand(&args[1]));
                self.check_distinct(name, &a, &b);
                if name == "contains" {
                    return Condition::Contains(a, b);
                }
                for operand in [&a, &b] {
                    if let Some(t) =
                        operand.static_type().filter(|t| !matches!(t, ValueType::S | ValueType::B))
                    {
                        self.operand_type(name, t);
                    }
                }
                Condition::BeginsWith(a, b)
            }
            "size" => {
                self.resolve_all(args);
                self.note(Finding::MisusedFunction, || {
                    "The function is not allowed to be used this way in an expression; function: size"
                        .to_owned()
                });
                fallback
            }
            _ => {
                self.resolve_all(args);
                self.note(Finding::UnknownFunction, || format!("Invalid function name; function: {name}"));
                fallback
            }
        }
    }

    fn resolve_all(&mut self, args: &[Raw<'_>]) {
        for arg in args {
            self.operand(arg);
        }
    }

    fn operand(&mut self, raw: &Raw<'_>) -> Operand {
        match raw {
            Raw::Paren { inner, redundant } => {
                self.note_parens(*redundant);
                self.operand(inner)
            }
            Raw::Path(p) => Operand::Path(self.path(p)),
            Raw::Value(v) => Operand::Value(self.value(v)),
            Raw::Call { name: "size", args } => {
                if !self.arity("size", args, 1) {
                    self.resolve_all(args);
                    return Operand::Value(AttributeValue::Null);
                }
                let inner = self.operand(&args[0]);
                if let Some(t) = inner
                    .static_type()
                    .filter(|t| matches!(t, ValueType::N | ValueType::Bool | ValueType::Null))
                {
                    self.operand_type("size", t);
                }
                Operand::Size(Box::new(inner))
            }
            Raw::Call { name, args } => {
                self.resolve_all(args);
                if CONDITION_FUNCTIONS.contains(name) {
                    self.note(Finding::MisusedFunction, || {
                        format!("The function is not allowed to be used this way in an expression; function: {name}")
                    });
                } else {
                    self.note(Finding::UnknownFunction, || {
                        format!("Invalid function name; function: {name}")
                    });
                }
                Operand::Value(AttributeValue::Null)
            }
            // The parser never puts a condition or arithmetic where an operand belongs here.
            _ => Operand::Value(AttributeValue::Null),
        }
    }

    // --- Updates -----------------------------------------------------------------------------

    fn update(&mut self, clauses: &[(Clause, Vec<RawAction<'_>>)]) -> UpdateExpression {
        let mut update = UpdateExpression::default();
        let mut seen: Vec<Clause> = Vec::new();
        let mut targets: Vec<Path> = Vec::new();
        for (clause, actions) in clauses {
            if seen.contains(clause) {
                self.note(Finding::Section, || {
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        clause.keyword()
                    )
                });
            }
            seen.push(*clause);
            for action in actions {
                match action {
                    RawAction::Set(path, value) => {
                        let path = self.path(path);
                        let value = self.update_value(value);
                        targets.push(path.clone());
                        update.set.push((path, value));
                    }
                    RawAction::Remove(path) => {
                        let path = self.path(path);
                        targets.push(path.clone());
                        update.remove.push(path);
                    }
                    RawAction::Operand(path, value) => {
                        let path = self.path(path);
                        let value = self.value(value);
                        targets.push(path.clone());
                        let (operator, allowed) = if *clause == Clause::Add {
                            ("ADD", value.value_type() == ValueType::N || value.value_type().is_set())
                        } else {
                            ("DELETE", value.value_type().is_set())
                        };
                        // An undefined value's stand-in fails this too, but ranks below it.
                        if !allowed {
                            let found = value.value_type().long_name();
                            self.note(Finding::UpdateOperand, || {
                                format!("Incorrect operand type for operator or function; operator: {operator}, operand type: {found}, typeSet: ALLOWED_FOR_{operator}_OPERAND")
                            });
                        }
                        if *clause == Clause::Add {
                            update.add.push((path, value))
                        } else {
                            update.delete.push((path, value))
                        }
                    }
                }
            }
        }
        self.check_clashes(&targets);
        update
    }

    fn update_value(&mut self, raw: &Raw<'_>) -> UpdateValue {
        match raw {
            Raw::Paren { inner, .. } => self.update_value(inner),
            Raw::Path(p) => UpdateValue::Path(self.path(p)),
            Raw::Value(v) => UpdateValue::Value(self.value(v)),
            Raw::Plus(a, b) | Raw::Minus(a, b) => {
                let symbol = if matches!(raw, Raw::Plus(..)) { "+" } else { "-" };
                let (a, b) = (self.update_value(a), self.update_value(b));
                for operand in [&a, &b] {
                    if let UpdateValue::Value(v) = operand
                        && v.value_type() != ValueType::N
                    {
                        self.operand_type(symbol, v.value_type());
                    }
                }
                if symbol == "+" {
                    UpdateValue::Plus(Box::new(a), Box::new(b))
                } else {
                    UpdateValue::Minus(Box::new(a), Box::new(b))
                }
            }
            Raw::Call { name, args } => self.update_function(name, args),
            // Conditions cannot appear in the update grammar.
            _ => UpdateValue::Value(AttributeValue::Null),
        }
    }

    fn update_function(&mut self, name: &str, args: &[Raw<'_>]) -> UpdateValue {
        let fallback = UpdateValue::Value(AttributeValue::Null);
        let known = matches!(name, "if_not_exists" | "list_append");
        if !known {
            for arg in args {
                self.update_value(arg);
            }
            if CONDITION_FUNCTIONS.contains(&name) {
                self.note(Finding::MisusedFunction, || {
                    format!("The function is not allowed in a update expression; function: {name}")
                });
            } else {
                self.note(Finding::UnknownFunction, || format!("Invalid function name; function: {name}"));
            }
            return fallback;
        }
        if !self.arity(name, args, 2) {
            for arg in args {
                self.update_value(arg);
            }
            return fallback;
        }
        if name == "if_not_exists" {
            let path = match unwrap_parens(&args[0]) {
                Raw::Path(p) => self.path(p),
                other => {
                    self.update_value(other);
                    self.note(Finding::OperandType, || {
                        "Operator or function requires a document path; operator or function: if_not_exists"
                            .to_owned()
                    });
                    Path::attribute("")
                }
            };
            return UpdateValue::IfNotExists(path, Box::new(self.update_value(&args[1])));
        }
        let (a, b) = (self.update_value(&args[0]), self.update_value(&args[1]));
        for operand in [&a, &b] {
            if let UpdateValue::Value(v) = operand
                && v.value_type() != ValueType::L
            {
                self.operand_type(name, v.value_type());
            }
        }
        UpdateValue::ListAppend(Box::new(a), Box::new(b))
    }
}
