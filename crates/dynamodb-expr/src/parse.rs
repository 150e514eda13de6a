//! The grammar of the four expression languages: a recursive-descent parser from tokens to a raw
//! tree that still holds `#name`/`:value` placeholders and unchecked function names.
//!
//! Only syntax is refused here. Everything DynamoDB reports with its own message (undefined
//! placeholders, reserved words, function arity and operand types, overlapping paths) is found
//! by `resolve`, which sees the whole tree and can report the error DynamoDB ranks first.

use crate::lex::{Tok, Token, syntax_error, tokenize};
use crate::{Comparator, Error, ExpressionKind};

/// How deep parentheses and function calls may nest. Real expressions stay far below it; the
/// limit keeps hostile input (4 KB of `(`) from exhausting the stack.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug)]
pub(crate) enum RawElement<'s> {
    /// A bare name, checked against the reserved words.
    Ident(&'s str),
    /// A `#name` placeholder.
    Name(&'s str),
    Index(u32),
}

pub(crate) type RawPath<'s> = Vec<RawElement<'s>>;

#[derive(Clone, Debug)]
pub(crate) enum Raw<'s> {
    Path(RawPath<'s>),
    /// A `:value` placeholder.
    Value(&'s str),
    Call {
        name: &'s str,
        args: Vec<Raw<'s>>,
    },
    /// `redundant` when the parentheses directly wrap another pair: `((a))`.
    Paren {
        inner: Box<Raw<'s>>,
        redundant: bool,
    },
    Compare(Comparator, Box<Raw<'s>>, Box<Raw<'s>>),
    Between(Box<Raw<'s>>, Box<Raw<'s>>, Box<Raw<'s>>),
    In(Box<Raw<'s>>, Vec<Raw<'s>>),
    And(Box<Raw<'s>>, Box<Raw<'s>>),
    Or(Box<Raw<'s>>, Box<Raw<'s>>),
    Not(Box<Raw<'s>>),
    /// `+` in an update's SET value.
    Plus(Box<Raw<'s>>, Box<Raw<'s>>),
    /// `-` in an update's SET value.
    Minus(Box<Raw<'s>>, Box<Raw<'s>>),
}

impl Raw<'_> {
    /// Whether this node is surely an operand (a path, a value, arithmetic), not a condition.
    fn is_operand(&self) -> bool {
        match self {
            Raw::Paren { inner, .. } => inner.is_operand(),
            Raw::Path(_) | Raw::Value(_) | Raw::Plus(..) | Raw::Minus(..) => true,
            _ => false,
        }
    }

    /// Whether this node is a condition rather than an operand (functions are decided later,
    /// by name, because DynamoDB reports their misuse with its own message).
    fn is_condition(&self) -> bool {
        match self {
            Raw::Paren { inner, .. } => inner.is_condition(),
            Raw::Compare(..) | Raw::Between(..) | Raw::In(..) | Raw::And(..) | Raw::Or(..) | Raw::Not(..) => {
                true
            }
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clause {
    Set,
    Remove,
    Add,
    Delete,
}

impl Clause {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Self::Set => "SET",
            Self::Remove => "REMOVE",
            Self::Add => "ADD",
            Self::Delete => "DELETE",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum RawAction<'s> {
    Set(RawPath<'s>, Raw<'s>),
    Remove(RawPath<'s>),
    /// ADD or DELETE: a path and a `:value`.
    Operand(RawPath<'s>, &'s str),
}

pub(crate) struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    kind: ExpressionKind,
    depth: usize,
}

type Parsed<T> = Result<T, Error>;

impl<'s> Parser<'s> {
    pub(crate) fn new(kind: ExpressionKind, src: &'s str) -> Self {
        Self { src, tokens: tokenize(src), pos: 0, kind, depth: 0 }
    }

    fn peek(&self) -> Tok {
        self.tokens[self.pos].tok
    }

    fn peek_at(&self, offset: usize) -> Tok {
        self.tokens.get(self.pos + offset).map_or(Tok::Eof, |t| t.tok)
    }

    fn text(&self) -> &'s str {
        let t = self.tokens[self.pos];
        &self.src[t.start..t.end]
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    fn error(&self) -> Error {
        syntax_error(self.kind, self.src, &self.tokens, self.pos)
    }

    fn expect(&mut self, tok: Tok) -> Parsed<()> {
        if self.peek() != tok {
            return Err(self.error());
        }
        self.advance();
        Ok(())
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        self.peek() == Tok::Ident && self.text().eq_ignore_ascii_case(keyword)
    }

    fn end(&self) -> Parsed<()> {
        if self.peek() == Tok::Eof { Ok(()) } else { Err(self.error()) }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(self.error()) } else { Ok(()) }
    }

    // --- Conditions --------------------------------------------------------------------------

    /// A whole condition (ConditionExpression, FilterExpression, KeyConditionExpression).
    pub(crate) fn condition(mut self) -> Parsed<Raw<'s>> {
        let raw = self.or()?;
        self.end()?;
        self.require_condition(&raw)?;
        Ok(raw)
    }

    fn or(&mut self) -> Parsed<Raw<'s>> {
        self.chain("OR", Self::and, Raw::Or)
    }

    fn and(&mut self) -> Parsed<Raw<'s>> {
        self.chain("AND", Self::not, Raw::And)
    }

    /// `operand (KEYWORD operand)*`, left-associative; both sides must be conditions.
    fn chain(
        &mut self,
        keyword: &str,
        operand: fn(&mut Self) -> Parsed<Raw<'s>>,
        build: fn(Box<Raw<'s>>, Box<Raw<'s>>) -> Raw<'s>,
    ) -> Parsed<Raw<'s>> {
        let mut left = operand(self)?;
        while self.is_keyword(keyword) {
            self.require_condition(&left)?;
            self.advance();
            let right = operand(self)?;
            self.require_condition(&right)?;
            left = build(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Parsed<Raw<'s>> {
        if self.is_keyword("NOT") {
            self.enter()?;
            self.advance();
            let inner = self.not()?;
            self.require_condition(&inner)?;
            self.depth -= 1;
            return Ok(Raw::Not(Box::new(inner)));
        }
        self.comparison()
    }

    /// A bare operand where a condition belongs: the syntax error points just past it. (Only
    /// parentheses may hold a bare operand, as in `(a) = :v`.)
    fn require_condition(&self, raw: &Raw<'s>) -> Parsed<()> {
        if raw.is_operand() { Err(self.error()) } else { Ok(()) }
    }

    fn comparator(&self) -> Option<Comparator> {
        Some(match self.peek() {
            Tok::Eq => Comparator::Eq,
            Tok::Ne => Comparator::Ne,
            Tok::Lt => Comparator::Lt,
            Tok::Le => Comparator::Le,
            Tok::Gt => Comparator::Gt,
            Tok::Ge => Comparator::Ge,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> Parsed<Raw<'s>> {
        let left = self.atom()?;
        let comparator = self.comparator();
        let between = self.is_keyword("BETWEEN");
        let is_in = self.is_keyword("IN");
        if comparator.is_none() && !between && !is_in {
            return Ok(left);
        }
        if left.is_condition() {
            return Err(self.error());
        }
        self.advance();
        if let Some(op) = comparator {
            let right = self.operand()?;
            return Ok(Raw::Compare(op, Box::new(left), Box::new(right)));
        }
        if between {
            let low = self.operand()?;
            if !self.is_keyword("AND") {
                return Err(self.error());
            }
            self.advance();
            let high = self.operand()?;
            return Ok(Raw::Between(Box::new(left), Box::new(low), Box::new(high)));
        }
        self.expect(Tok::LParen)?;
        let list = self.list(Self::operand)?;
        self.expect(Tok::RParen)?;
        Ok(Raw::In(Box::new(left), list))
    }

    /// An atom that must be an operand, not a condition.
    fn operand(&mut self) -> Parsed<Raw<'s>> {
        let at = self.pos;
        let raw = self.atom()?;
        if raw.is_condition() {
            return Err(syntax_error(self.kind, self.src, &self.tokens, at));
        }
        Ok(raw)
    }

    /// `item (, item)*`.
    fn list(&mut self, item: fn(&mut Self) -> Parsed<Raw<'s>>) -> Parsed<Vec<Raw<'s>>> {
        let mut list = vec![item(self)?];
        while self.peek() == Tok::Comma {
            self.advance();
            list.push(item(self)?);
        }
        Ok(list)
    }

    /// `name(arg, ...)`, at the name.
    fn call(&mut self, arg: fn(&mut Self) -> Parsed<Raw<'s>>) -> Parsed<Raw<'s>> {
        let name = self.text();
        self.enter()?;
        self.advance();
        self.advance();
        let args = self.list(arg)?;
        self.expect(Tok::RParen)?;
        self.depth -= 1;
        Ok(Raw::Call { name, args })
    }

    /// A `:value` placeholder, at it.
    fn value(&mut self) -> Raw<'s> {
        let value = self.text();
        self.advance();
        Raw::Value(value)
    }

    /// A parenthesized condition or operand, a function call, a path or a value.
    fn atom(&mut self) -> Parsed<Raw<'s>> {
        match self.peek() {
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let inner = self.or()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                let redundant = matches!(inner, Raw::Paren { .. });
                Ok(Raw::Paren { inner: Box::new(inner), redundant })
            }
            Tok::Ident if self.peek_at(1) == Tok::LParen => self.call(Self::operand),
            Tok::Value => Ok(self.value()),
            _ => Ok(Raw::Path(self.path()?)),
        }
    }

    // --- Paths -------------------------------------------------------------------------------

    fn path_element(&mut self) -> Parsed<RawElement<'s>> {
        let element = match self.peek() {
            Tok::Ident if !is_condition_keyword(self.text()) => RawElement::Ident(self.text()),
            Tok::Name => RawElement::Name(self.text()),
            _ => return Err(self.error()),
        };
        self.advance();
        Ok(element)
    }

    fn path(&mut self) -> Parsed<RawPath<'s>> {
        let mut path = vec![self.path_element()?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    path.push(self.path_element()?);
                }
                Tok::LBracket => {
                    self.advance();
                    if self.peek() != Tok::Int {
                        return Err(self.error());
                    }
                    let index = self.text().parse::<u32>().map_err(|_| self.error())?;
                    self.advance();
                    self.expect(Tok::RBracket)?;
                    path.push(RawElement::Index(index));
                }
                _ => return Ok(path),
            }
        }
    }

    // --- Projections -------------------------------------------------------------------------

    pub(crate) fn projection(mut self) -> Parsed<Vec<RawPath<'s>>> {
        let mut paths = vec![self.path()?];
        while self.peek() == Tok::Comma {
            self.advance();
            paths.push(self.path()?);
        }
        self.end()?;
        Ok(paths)
    }

    // --- Updates -----------------------------------------------------------------------------

    fn clause_keyword(&self) -> Option<Clause> {
        if self.peek() != Tok::Ident {
            return None;
        }
        [Clause::Set, Clause::Remove, Clause::Add, Clause::Delete]
            .into_iter()
            .find(|c| self.text().eq_ignore_ascii_case(c.keyword()))
    }

    pub(crate) fn update(mut self) -> Parsed<Vec<(Clause, Vec<RawAction<'s>>)>> {
        let mut clauses = Vec::new();
        loop {
            let Some(clause) = self.clause_keyword() else {
                if clauses.is_empty() || self.peek() != Tok::Eof {
                    return Err(self.error());
                }
                return Ok(clauses);
            };
            self.advance();
            let mut actions = vec![self.action(clause)?];
            while self.peek() == Tok::Comma {
                self.advance();
                actions.push(self.action(clause)?);
            }
            clauses.push((clause, actions));
        }
    }

    fn update_path(&mut self) -> Parsed<RawPath<'s>> {
        // A clause keyword where a path belongs is a syntax error, not an attribute name.
        if self.clause_keyword().is_some() {
            return Err(self.error());
        }
        self.path()
    }

    fn action(&mut self, clause: Clause) -> Parsed<RawAction<'s>> {
        let path = self.update_path()?;
        match clause {
            Clause::Set => {
                self.expect(Tok::Eq)?;
                Ok(RawAction::Set(path, self.set_value()?))
            }
            Clause::Remove => Ok(RawAction::Remove(path)),
            Clause::Add | Clause::Delete => {
                if self.peek() != Tok::Value {
                    return Err(self.error());
                }
                let value = self.text();
                self.advance();
                Ok(RawAction::Operand(path, value))
            }
        }
    }

    /// `operand`, `operand + operand` or `operand - operand`.
    fn set_value(&mut self) -> Parsed<Raw<'s>> {
        let left = self.set_operand()?;
        let plus = match self.peek() {
            Tok::Plus => true,
            Tok::Minus => false,
            _ => return Ok(left),
        };
        self.advance();
        let right = self.set_operand()?;
        Ok(if plus {
            Raw::Plus(Box::new(left), Box::new(right))
        } else {
            Raw::Minus(Box::new(left), Box::new(right))
        })
    }

    fn set_operand(&mut self) -> Parsed<Raw<'s>> {
        match self.peek() {
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let inner = self.set_value()?;
                self.expect(Tok::RParen)?;
                self.depth -= 1;
                Ok(Raw::Paren { inner: Box::new(inner), redundant: false })
            }
            Tok::Ident if self.peek_at(1) == Tok::LParen => self.call(Self::set_value),
            Tok::Value => Ok(self.value()),
            _ => Ok(Raw::Path(self.update_path()?)),
        }
    }
}

/// The words the condition grammar itself uses; they cannot name an attribute in a path.
fn is_condition_keyword(word: &str) -> bool {
    ["AND", "OR", "NOT", "BETWEEN", "IN"].iter().any(|k| word.eq_ignore_ascii_case(k))
}
