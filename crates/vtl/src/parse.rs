//! The Velocity parser: template text to an AST, once, with line/column errors. Whitespace
//! is gobbled the way Velocity 1.7 (API Gateway's engine) does: a directive's closing `)`,
//! `#else` and `#end` eat the spaces and the one newline that follow them, and `#set` also eats
//! the indentation before it.

use crate::value::Value;

/// Nesting of blocks, brackets and interpolated strings the parser accepts; deeper input is
/// refused rather than risking the stack.
const MAX_NESTING: usize = 64;

/// A template that failed to parse, with where (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// A parsed template; render it any number of times with `Template::render`.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) nodes: Vec<Node>,
    /// Source characters, kept to turn node offsets into lines and columns at render time.
    pub(crate) source: std::sync::Arc<[char]>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Ref(Reference),
    /// Backslashes right before a reference: `\$x` prints `$x` when `$x` is defined.
    Escaped {
        slashes: usize,
        reference: Reference,
    },
    Set {
        target: Reference,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        iterable: Expr,
        body: Vec<Node>,
        at: usize,
    },
    Break,
    Stop,
}

#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub quiet: bool,
    pub root: String,
    pub segments: Vec<Segment>,
    /// The reference as written, printed when it has no value.
    pub text: String,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Segment {
    Property(String),
    Call(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Ref(Reference),
    Literal(Value),
    /// A double-quoted string with references or directives in it.
    Interpolated(Vec<Node>),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Where a block of nodes stopped.
enum Stop {
    Eof,
    End,
    Else,
    ElseIf(Expr),
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, ParseError> {
        let chars: Vec<char> = text.chars().collect();
        let mut p = Parser { end: chars.len(), chars: &chars, pos: 0, depth: 0, last_directive: 0 };
        let (nodes, stop) = p.block()?;
        match stop {
            Stop::Eof => {}
            Stop::End => return Err(p.error_at(p.last_directive, "unexpected #end")),
            Stop::Else | Stop::ElseIf(_) => {
                return Err(p.error_at(p.last_directive, "#else or #elseif without #if"));
            }
        }
        Ok(Template { nodes, source: chars.into() })
    }

    pub(crate) fn position(&self, at: usize) -> (usize, usize) {
        position(&self.source, at)
    }
}

fn position(chars: &[char], at: usize) -> (usize, usize) {
    let at = at.min(chars.len());
    let line = 1 + chars[..at].iter().filter(|c| **c == '\n').count();
    let column = 1 + chars[..at].iter().rev().take_while(|c| **c != '\n').count();
    (line, column)
}

struct Parser<'a> {
    chars: &'a [char],
    /// Where the last `#end`/`#else`/`#elseif` began, for errors about a stray one.
    last_directive: usize,
    /// Exclusive end: interpolated strings are parsed in place, as a window of the source.
    end: usize,
    pos: usize,
    depth: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        (self.pos < self.end).then(|| self.chars[self.pos])
    }
    fn peek_at(&self, off: usize) -> Option<char> {
        let i = self.pos + off;
        (i < self.end).then(|| self.chars[i])
    }
    fn error(&self, message: &str) -> ParseError {
        self.error_at(self.pos, message)
    }
    fn error_at(&self, at: usize, message: &str) -> ParseError {
        let (line, column) = position(self.chars, at);
        ParseError { message: message.to_owned(), line, column }
    }
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error("template nested too deeply"));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.pos + k < self.end && self.chars[self.pos + k] == c)
    }

    fn ident(&mut self) -> Option<String> {
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        let start = self.pos;
        while self.peek().is_some_and(is_ident) {
            self.pos += 1;
        }
        Some(self.chars[start..self.pos].iter().collect())
    }

    /// A property or method name. Velocity 1.7 allows `-` inside names, which header names
    /// need (`$context.responseOverride.header.X-Trace`); roots do not take it here, so that
    /// `$a-$b` in text stays two references.
    fn property_name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_ident)
            || (self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c.is_ascii_alphanumeric()))
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Spaces, tabs and one newline after a directive, if that is what follows.
    fn gobble_newline(&mut self) {
        let save = self.pos;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        if self.starts_with("\r\n") {
            self.pos += 2;
        } else if matches!(self.peek(), Some('\n' | '\r')) {
            self.pos += 1;
        } else {
            self.pos = save;
        }
    }

    fn block(&mut self) -> Result<(Vec<Node>, Stop), ParseError> {
        self.enter()?;
        let mut nodes: Vec<Node> = Vec::new();
        let mut text = String::new();
        let stop = loop {
            let Some(c) = self.peek() else { break Stop::Eof };
            match c {
                '$' => {
                    if let Some(r) = self.reference()? {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Ref(r));
                    } else {
                        text.push('$');
                        self.pos += 1;
                    }
                }
                '\\' => {
                    let start = self.pos;
                    while self.peek() == Some('\\') {
                        self.pos += 1;
                    }
                    let slashes = self.pos - start;
                    match self.peek() {
                        Some('$') => match self.reference()? {
                            Some(reference) => {
                                flush(&mut text, &mut nodes);
                                nodes.push(Node::Escaped { slashes, reference });
                            }
                            None => text.extend(std::iter::repeat_n('\\', slashes)),
                        },
                        Some('#') if self.peek_at(1).is_some_and(|c| is_ident_start(c) || c == '{') => {
                            text.extend(std::iter::repeat_n('\\', slashes / 2));
                            if slashes % 2 == 1 {
                                text.push('#');
                                self.pos += 1;
                            }
                        }
                        _ => text.extend(std::iter::repeat_n('\\', slashes)),
                    }
                }
                '#' => {
                    let at = self.pos;
                    match self.peek_at(1) {
                        Some('#') => {
                            while let Some(c) = self.peek() {
                                self.pos += 1;
                                if c == '\n' {
                                    break;
                                }
                            }
                        }
                        Some('*') => {
                            self.pos += 2;
                            loop {
                                if self.peek().is_none() {
                                    return Err(self.error_at(at, "unterminated comment"));
                                }
                                if self.starts_with("*#") {
                                    self.pos += 2;
                                    break;
                                }
                                self.pos += 1;
                            }
                        }
                        Some('[') if self.peek_at(2) == Some('[') => {
                            self.pos += 3;
                            loop {
                                if self.peek().is_none() {
                                    return Err(self.error_at(at, "unterminated #[[ ]]# block"));
                                }
                                if self.starts_with("]]#") {
                                    self.pos += 3;
                                    break;
                                }
                                text.push(self.chars[self.pos]);
                                self.pos += 1;
                            }
                        }
                        _ => {
                            if let Some(done) = self.directive(&mut text, &mut nodes)? {
                                flush(&mut text, &mut nodes);
                                break done;
                            }
                            if self.pos == at {
                                text.push('#');
                                self.pos += 1;
                            }
                        }
                    }
                }
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        };
        flush(&mut text, &mut nodes);
        self.leave();
        Ok((nodes, stop))
    }

    /// A directive at `#`. Pushes nodes it completes; returns the stop for `#end`, `#else` and
    /// `#elseif`; leaves `pos` untouched when the word is no directive (it is text then).
    fn directive(&mut self, text: &mut String, nodes: &mut Vec<Node>) -> Result<Option<Stop>, ParseError> {
        let at = self.pos;
        self.pos += 1;
        let braced = self.peek() == Some('{');
        if braced {
            self.pos += 1;
        }
        let Some(name) = self.ident() else {
            self.pos = at;
            return Ok(None);
        };
        if braced {
            if self.peek() != Some('}') {
                self.pos = at;
                return Ok(None);
            }
            self.pos += 1;
        }
        if matches!(name.as_str(), "end" | "else" | "elseif") {
            self.last_directive = at;
        }
        match name.as_str() {
            "set" => {
                trim_indentation(text, nodes);
                flush(text, nodes);
                self.open_paren(&name)?;
                self.skip_ws();
                if self.peek() != Some('$') {
                    return Err(self.error("#set needs a reference on its left"));
                }
                let Some(target) = self.reference()? else {
                    return Err(self.error("#set needs a reference on its left"));
                };
                if target.segments.iter().any(|s| matches!(s, Segment::Call(..))) {
                    return Err(self.error_at(target.at, "cannot #set a method call"));
                }
                self.skip_ws();
                if self.peek() != Some('=') {
                    return Err(self.error("expected '=' in #set"));
                }
                self.pos += 1;
                let value = self.expr()?;
                self.close_paren()?;
                nodes.push(Node::Set { target, value });
                Ok(None)
            }
            "if" => {
                flush(text, nodes);
                self.open_paren(&name)?;
                let cond = self.expr()?;
                self.close_paren()?;
                let mut branches = Vec::new();
                let mut cond = cond;
                let otherwise = loop {
                    let (body, stop) = self.block()?;
                    branches.push((cond, body));
                    match stop {
                        Stop::End => break None,
                        Stop::ElseIf(next) => cond = next,
                        Stop::Else => {
                            let (body, stop) = self.block()?;
                            match stop {
                                Stop::End => break Some(body),
                                _ => return Err(self.error_at(at, "#if without #end")),
                            }
                        }
                        Stop::Eof => return Err(self.error_at(at, "#if without #end")),
                    }
                };
                nodes.push(Node::If { branches, otherwise });
                Ok(None)
            }
            "elseif" => {
                self.open_paren(&name)?;
                let cond = self.expr()?;
                self.close_paren()?;
                Ok(Some(Stop::ElseIf(cond)))
            }
            "else" => {
                self.gobble_newline();
                Ok(Some(Stop::Else))
            }
            "end" => {
                self.gobble_newline();
                Ok(Some(Stop::End))
            }
            "foreach" => {
                flush(text, nodes);
                self.open_paren(&name)?;
                self.skip_ws();
                if self.peek() != Some('$') {
                    return Err(self.error("#foreach needs a $variable"));
                }
                self.pos += 1;
                if self.peek() == Some('{') {
                    return Err(self.error("#foreach needs a plain $variable"));
                }
                let Some(var) = self.ident() else { return Err(self.error("#foreach needs a $variable")) };
                self.skip_ws();
                if !self.starts_with("in") || self.peek_at(2).is_some_and(is_ident) {
                    return Err(self.error("expected 'in' in #foreach"));
                }
                self.pos += 2;
                let iterable = self.expr()?;
                self.close_paren()?;
                let (body, stop) = self.block()?;
                if !matches!(stop, Stop::End) {
                    return Err(self.error_at(at, "#foreach without #end"));
                }
                nodes.push(Node::Foreach { var, iterable, body, at });
                Ok(None)
            }
            "break" | "stop" => {
                flush(text, nodes);
                self.gobble_newline();
                nodes.push(if name == "break" { Node::Break } else { Node::Stop });
                Ok(None)
            }
            _ => {
                self.pos = at;
                Ok(None)
            }
        }
    }

    fn open_paren(&mut self, name: &str) -> Result<(), ParseError> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        if self.peek() != Some('(') {
            return Err(self.error(&format!("expected '(' after #{name}")));
        }
        self.pos += 1;
        Ok(())
    }

    fn close_paren(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error("expected ')'"));
        }
        self.pos += 1;
        self.gobble_newline();
        Ok(())
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A reference at `$`, or `None` (position unchanged) when the `$` starts none.
    fn reference(&mut self) -> Result<Option<Reference>, ParseError> {
        let at = self.pos;
        self.pos += 1;
        let quiet = self.peek() == Some('!');
        if quiet {
            self.pos += 1;
        }
        let braced = self.peek() == Some('{');
        if braced {
            self.pos += 1;
        }
        let Some(root) = self.ident() else {
            self.pos = at;
            return Ok(None);
        };
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some('.') if self.peek_at(1).is_some_and(is_ident_start) => {
                    self.pos += 1;
                    let name = self.property_name();
                    if self.peek() == Some('(') {
                        self.pos += 1;
                        let args = self.args(')')?;
                        segments.push(Segment::Call(name, args));
                    } else {
                        segments.push(Segment::Property(name));
                    }
                }
                Some('[') => {
                    let save = self.pos;
                    self.pos += 1;
                    let index = self.enter().and_then(|()| self.expr());
                    self.leave();
                    self.skip_ws();
                    match index {
                        Ok(index) if self.peek() == Some(']') => {
                            self.pos += 1;
                            segments.push(Segment::Index(index));
                        }
                        _ => {
                            self.pos = save;
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if braced {
            if self.peek() != Some('}') {
                self.pos = at;
                return Ok(None);
            }
            self.pos += 1;
        }
        let text = self.chars[at..self.pos].iter().collect();
        Ok(Some(Reference { quiet, root, segments, text, at }))
    }

    /// Comma-separated expressions up to `close` (consumed).
    fn args(&mut self, close: char) -> Result<Vec<Expr>, ParseError> {
        self.enter()?;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.leave();
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error(&format!("expected ',' or '{close}'"))),
            }
        }
        self.leave();
        Ok(args)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let e = self.binary(0);
        self.leave();
        e
    }

    /// The operator at the cursor, if any, with its precedence level and length.
    fn operator(&self) -> Option<(BinOp, usize, usize)> {
        let two: String = [self.peek(), self.peek_at(1)].iter().flatten().collect();
        let sym = match two.as_str() {
            "||" => Some((BinOp::Or, 2)),
            "&&" => Some((BinOp::And, 2)),
            "==" => Some((BinOp::Eq, 2)),
            "!=" => Some((BinOp::Ne, 2)),
            "<=" => Some((BinOp::Le, 2)),
            ">=" => Some((BinOp::Ge, 2)),
            _ => match self.peek() {
                Some('<') => Some((BinOp::Lt, 1)),
                Some('>') => Some((BinOp::Gt, 1)),
                Some('+') => Some((BinOp::Add, 1)),
                Some('-') => Some((BinOp::Sub, 1)),
                Some('*') => Some((BinOp::Mul, 1)),
                Some('/') => Some((BinOp::Div, 1)),
                Some('%') => Some((BinOp::Rem, 1)),
                _ => None,
            },
        };
        let (op, len) = match sym {
            Some(s) => s,
            None => {
                let word = |w: &str| self.starts_with(w) && !self.peek_at(w.len()).is_some_and(is_ident);
                let words = [
                    ("or", BinOp::Or),
                    ("and", BinOp::And),
                    ("eq", BinOp::Eq),
                    ("ne", BinOp::Ne),
                    ("lt", BinOp::Lt),
                    ("le", BinOp::Le),
                    ("gt", BinOp::Gt),
                    ("ge", BinOp::Ge),
                ];
                let (w, op) = words.into_iter().find(|(w, _)| word(w))?;
                (op, w.len())
            }
        };
        let level = match op {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne => 3,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
        };
        Some((op, level, len))
    }

    /// Precedence climbing over left-associative levels.
    fn binary(&mut self, min_level: usize) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            let Some((op, level, len)) = self.operator() else { break };
            if level <= min_level {
                break;
            }
            let at = self.pos;
            self.pos += len;
            self.enter()?;
            let right = self.binary(level);
            self.leave();
            left = Expr::Binary(op, Box::new(left), Box::new(right?), at);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let not_word = self.starts_with("not") && !self.peek_at(3).is_some_and(is_ident);
        if (self.peek() == Some('!') && self.peek_at(1) != Some('=')) || not_word {
            self.pos += if not_word { 3 } else { 1 };
            self.enter()?;
            let inner = self.unary();
            self.leave();
            return Ok(Expr::Not(Box::new(inner?)));
        }
        if self.peek() == Some('-') && !self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.enter()?;
            let inner = self.unary();
            self.leave();
            return Ok(Expr::Neg(Box::new(inner?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let Some(c) = self.peek() else { return Err(self.error("expected an expression")) };
        match c {
            '$' => match self.reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.error("expected a reference")),
            },
            '"' | '\'' => self.string(c),
            '(' => {
                self.pos += 1;
                let e = self.expr()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error("expected ')'"));
                }
                self.pos += 1;
                Ok(e)
            }
            '[' => {
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(']') {
                    self.pos += 1;
                    self.leave();
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                self.skip_ws();
                if self.starts_with("..") {
                    self.pos += 2;
                    let last = self.expr()?;
                    self.skip_ws();
                    if self.peek() != Some(']') {
                        return Err(self.error("expected ']'"));
                    }
                    self.pos += 1;
                    self.leave();
                    return Ok(Expr::Range(Box::new(first), Box::new(last)));
                }
                let mut items = vec![first];
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.pos += 1;
                            items.push(self.expr()?);
                        }
                        Some(']') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.error("expected ',' or ']'")),
                    }
                }
                self.leave();
                Ok(Expr::List(items))
            }
            '{' => {
                self.pos += 1;
                self.enter()?;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.pos += 1;
                } else {
                    loop {
                        let key = self.expr()?;
                        self.skip_ws();
                        if self.peek() != Some(':') {
                            return Err(self.error("expected ':' in map literal"));
                        }
                        self.pos += 1;
                        let value = self.expr()?;
                        entries.push((key, value));
                        self.skip_ws();
                        match self.peek() {
                            Some(',') => self.pos += 1,
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.error("expected ',' or '}'")),
                        }
                    }
                }
                self.leave();
                Ok(Expr::Map(entries))
            }
            c if c.is_ascii_digit() || c == '-' => self.number(),
            c if is_ident_start(c) => {
                let at = self.pos;
                let word = self.ident().unwrap_or_default();
                match word.as_str() {
                    "true" => Ok(Expr::Literal(Value::Bool(true))),
                    "false" => Ok(Expr::Literal(Value::Bool(false))),
                    "null" => Ok(Expr::Literal(Value::Null)),
                    _ => Err(self.error_at(at, &format!("unexpected word '{word}'"))),
                }
            }
            _ => Err(self.error(&format!("unexpected '{c}'"))),
        }
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) && float {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            } else {
                self.pos = save;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if float {
            text.parse::<f64>()
                .map(|f| Expr::Literal(Value::Float(f)))
                .map_err(|_| self.error_at(start, "bad number"))
        } else {
            match text.parse::<i64>() {
                Ok(n) => Ok(Expr::Literal(Value::Int(n))),
                Err(_) => Err(self.error_at(start, "bad number")),
            }
        }
    }

    /// A string literal. Single quotes are verbatim; double quotes interpolate references and
    /// directives. Backslashes stay in the text, as in Velocity; a doubled quote is one quote.
    fn string(&mut self, quote: char) -> Result<Expr, ParseError> {
        let at = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut doubled = false;
        loop {
            match self.peek() {
                None => return Err(self.error_at(at, "unterminated string")),
                Some('\\') => self.pos += if self.pos + 1 < self.end { 2 } else { 1 },
                Some(c) if c == quote => {
                    if self.peek_at(1) == Some(quote) {
                        doubled = true;
                        self.pos += 2;
                    } else {
                        break;
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
        let end = self.pos;
        self.pos += 1;
        let body = &self.chars[start..end];
        if quote == '"' && !doubled && body.iter().any(|c| *c == '$' || *c == '#') {
            let mut inner =
                Parser { chars: self.chars, end, pos: start, depth: self.depth, last_directive: start };
            inner.enter()?;
            let (nodes, stop) = inner.block()?;
            if !matches!(stop, Stop::Eof) {
                return Err(self.error_at(start, "unbalanced directive in string"));
            }
            return Ok(Expr::Interpolated(nodes));
        }
        let mut s: String = body.iter().collect();
        if doubled {
            let q = quote.to_string();
            s = s.replace(&format!("{quote}{quote}"), &q);
        }
        Ok(Expr::Literal(Value::String(s)))
    }
}

fn flush(text: &mut String, nodes: &mut Vec<Node>) {
    if !text.is_empty() {
        nodes.push(Node::Text(std::mem::take(text)));
    }
}

/// Drops the spaces and tabs that start the current line, when nothing else precedes the
/// directive on it (Velocity's `#set` takes its indentation with it).
fn trim_indentation(text: &mut String, nodes: &[Node]) {
    let kept = text.trim_end_matches([' ', '\t']).len();
    let at_line_start = if kept == 0 {
        match nodes.last() {
            None => true,
            Some(Node::Text(t)) => t.ends_with('\n'),
            // After a directive that ate its newline we are at a line start too; after a
            // reference we are not. Being conservative keeps the spaces.
            Some(_) => false,
        }
    } else {
        text[..kept].ends_with('\n')
    };
    if at_line_start {
        text.truncate(kept);
    }
}
