//! Filter patterns (FilterLogEvents' `filterPattern`): parse once, then match messages. Pure.
//!
//! Supported, as CloudWatch Logs defines them:
//! - the empty pattern, which matches every event;
//! - terms: `ERROR Exception` (every term), `"quoted phrase"`, `?ERROR ?WARN` (any of them),
//!   `-DEBUG` (none of them). A bare term matches a whole word (case-sensitive, bounded by
//!   non-alphanumeric characters), a quoted one anywhere in the message;
//! - JSON patterns: `{ $.level = "ERROR" }`, `!=`, numeric `< <= > >= = !=`, `IS NULL`,
//!   `IS TRUE|FALSE`, `NOT EXISTS`, `*` wildcards in string values, `&&`, `||` and parentheses;
//!   selectors `$.a.b` and `$.a[0]`.
//!
//! Anything else (space-delimited `[…]` patterns, `%regex%`, array wildcards) is refused with
//! `InvalidParameterException` rather than matched wrongly.

use serde_json::Value;

use crate::error::Error;

#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    All,
    Terms(Terms),
    Json(Expr),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Terms {
    pub all: Vec<Term>,
    pub any: Vec<Term>,
    pub none: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    Word(String),
    Phrase(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare { path: Vec<Step>, op: Op, value: Literal },
    IsNull(Vec<Step>),
    IsBool(Vec<Step>, bool),
    NotExists(Vec<Step>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
}

fn invalid() -> Error {
    Error::InvalidParameterException("Invalid filter pattern".to_owned())
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, Error> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Pattern::All);
        }
        if text.starts_with('{') {
            let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
                return Err(Error::InvalidParameterException(
                    "If a filter pattern starts with '{' it must end with '}'".to_owned(),
                ));
            };
            let tokens = lex(inner)?;
            let mut p = Parser { tokens, pos: 0 };
            let expr = p.or()?;
            if p.pos != p.tokens.len() {
                return Err(invalid());
            }
            return Ok(Pattern::Json(expr));
        }
        if text.starts_with('[') || text.starts_with('%') {
            return Err(invalid());
        }
        parse_terms(text).map(Pattern::Terms)
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms(t) => {
                t.all.iter().all(|x| x.found_in(message))
                    && (t.any.is_empty() || t.any.iter().any(|x| x.found_in(message)))
                    && !t.none.iter().any(|x| x.found_in(message))
            }
            Pattern::Json(expr) => match serde_json::from_str::<Value>(message) {
                Ok(doc) => expr.eval(&doc),
                Err(_) => false,
            },
        }
    }
}

fn parse_terms(text: &str) -> Result<Terms, Error> {
    let mut terms = Terms::default();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let kind = match first {
            '?' | '-' => {
                chars.next();
                first
            }
            _ => ' ',
        };
        let term = if chars.next_if_eq(&'"').is_some() {
            Term::Phrase(quoted(&mut chars)?)
        } else {
            let mut word = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
            // A bare term is a word: quote anything else, as AWS requires.
            if word.is_empty()
                || !word
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '@' | '-'))
            {
                return Err(Error::InvalidParameterException(format!(
                    "Invalid filter pattern: Invalid character(s) in term '{word}'"
                )));
            }
            Term::Word(word)
        };
        match kind {
            '?' => terms.any.push(term),
            '-' => terms.none.push(term),
            _ => terms.all.push(term),
        }
    }
    Ok(terms)
}

/// The rest of a double-quoted string whose opening quote was read; `\` escapes a character.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, Error> {
    let mut text = String::new();
    loop {
        match chars.next() {
            Some('"') => return Ok(text),
            Some('\\') => text.extend(chars.next()),
            Some(c) => text.push(c),
            None => return Err(invalid()),
        }
    }
}

impl Term {
    fn found_in(&self, message: &str) -> bool {
        match self {
            Term::Phrase(p) => message.contains(p.as_str()),
            Term::Word(w) => message.match_indices(w.as_str()).any(|(at, _)| {
                let before = message[..at].chars().next_back();
                let after = message[at + w.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Path(Vec<Step>),
    Op(Op),
    Str(String),
    Bare(String),
    And,
    Or,
    Open,
    Close,
}

fn lex(s: &str) -> Result<Vec<Token>, Error> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                out.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '&' | '|' => {
                chars.next();
                if chars.next() != Some(c) {
                    return Err(invalid());
                }
                out.push(if c == '&' { Token::And } else { Token::Or });
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let eq = chars.next_if_eq(&'=').is_some();
                out.push(Token::Op(match (c, eq) {
                    ('=', false) => Op::Eq,
                    ('!', true) => Op::Ne,
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    ('>', true) => Op::Ge,
                    _ => return Err(invalid()),
                }));
            }
            '"' => {
                chars.next();
                out.push(Token::Str(quoted(&mut chars)?));
            }
            '$' => {
                chars.next();
                let mut raw = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && !"=!<>()&|".contains(*c)) {
                    raw.push(c);
                }
                out.push(Token::Path(parse_path(&raw)?));
            }
            _ => {
                let mut v = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && !"=!<>()&|\"".contains(*c)) {
                    v.push(c);
                }
                out.push(Token::Bare(v));
            }
        }
    }
    Ok(out)
}

/// `.a.b[0].c` (what follows the `$`).
fn parse_path(raw: &str) -> Result<Vec<Step>, Error> {
    let mut steps = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() || key.contains('*') {
                return Err(invalid());
            }
            steps.push(Step::Key(key.to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(invalid)?;
            let index = r[..end].parse().map_err(|_| invalid())?;
            steps.push(Step::Index(index));
            rest = &r[end + 1..];
        } else {
            return Err(invalid());
        }
    }
    if steps.is_empty() {
        return Err(invalid());
    }
    Ok(steps)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<Expr, Error> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Error> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        match self.next() {
            Some(Token::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(e),
                    _ => Err(invalid()),
                }
            }
            Some(Token::Path(path)) => self.condition(path),
            _ => Err(invalid()),
        }
    }

    fn condition(&mut self, path: Vec<Step>) -> Result<Expr, Error> {
        match self.next() {
            Some(Token::Op(op)) => {
                let value = match self.next() {
                    Some(Token::Str(s)) => Literal::Str(s),
                    Some(Token::Bare(b)) => match b.parse::<f64>() {
                        Ok(n) if n.is_finite() => Literal::Num(n),
                        _ => Literal::Str(b),
                    },
                    _ => return Err(invalid()),
                };
                if matches!(value, Literal::Str(_)) && !matches!(op, Op::Eq | Op::Ne) {
                    return Err(invalid());
                }
                Ok(Expr::Compare { path, op, value })
            }
            Some(Token::Bare(word)) if word == "IS" => match self.next() {
                Some(Token::Bare(w)) if w == "NULL" => Ok(Expr::IsNull(path)),
                Some(Token::Bare(w)) if w == "TRUE" => Ok(Expr::IsBool(path, true)),
                Some(Token::Bare(w)) if w == "FALSE" => Ok(Expr::IsBool(path, false)),
                _ => Err(invalid()),
            },
            Some(Token::Bare(word)) if word == "NOT" => match self.next() {
                Some(Token::Bare(w)) if w == "EXISTS" => Ok(Expr::NotExists(path)),
                _ => Err(invalid()),
            },
            _ => Err(invalid()),
        }
    }
}

fn select<'a>(doc: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// `*` in a JSON string value matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

impl Expr {
    fn eval(&self, doc: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.eval(doc) && b.eval(doc),
            Expr::Or(a, b) => a.eval(doc) || b.eval(doc),
            Expr::IsNull(p) => select(doc, p).is_some_and(Value::is_null),
            Expr::IsBool(p, b) => select(doc, p).and_then(Value::as_bool) == Some(*b),
            Expr::NotExists(p) => select(doc, p).is_none(),
            Expr::Compare { path, op, value } => {
                let Some(found) = select(doc, path) else { return false };
                match value {
                    Literal::Str(s) => {
                        let text = match found {
                            Value::String(t) => t.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            _ => return false,
                        };
                        let equal = glob(s, &text);
                        if *op == Op::Eq { equal } else { !equal }
                    }
                    Literal::Num(n) => {
                        let Some(x) = found.as_f64() else { return false };
                        match op {
                            Op::Eq => x == *n,
                            Op::Ne => x != *n,
                            Op::Lt => x < *n,
                            Op::Le => x <= *n,
                            Op::Gt => x > *n,
                            Op::Ge => x >= *n,
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
