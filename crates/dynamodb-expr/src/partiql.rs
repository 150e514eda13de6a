//! PartiQL for DynamoDB, sans IO: the four statements DynamoDB accepts (SELECT, INSERT, UPDATE,
//! DELETE), parsed with their `?` parameters bound into a [`Statement`], and rendered back as
//! DynamoDB expressions with placeholders ([`Rendering`]) so that the item operations run them
//! exactly as they run any request, with the same validation.
//!
//! Keywords are case-insensitive; names are bare (`Artist`) or double-quoted (`"Artist"`);
//! strings are single-quoted with `''` for a quote; `<<...>>` is a set, `[...]` a list and
//! `{'k': v}` a map.

use std::collections::BTreeMap;

use crate::{AttributeValue, Comparator, Error, Item, Number, Path, PathElement};

/// A parsed statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    /// `EXISTS(SELECT ...)`: a transaction's condition check on the item the SELECT names.
    Exists(Select),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    pub table: String,
    pub index: Option<String>,
    /// Empty for `*`.
    pub projection: Vec<Path>,
    pub filter: Option<Expr>,
    /// The ORDER BY path and whether it is ascending.
    pub order: Option<(Path, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Insert {
    pub table: String,
    pub item: Item,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub table: String,
    pub actions: Vec<Action>,
    pub filter: Expr,
    pub returning: Option<Returning>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delete {
    pub table: String,
    pub filter: Expr,
    pub returning: Option<Returning>,
}

/// One SET or REMOVE of an UPDATE.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Set(Path, Expr),
    Remove(Path),
}

/// `RETURNING ... *`, as the ReturnValues it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returning {
    AllOld,
    ModifiedOld,
    AllNew,
    ModifiedNew,
}

impl Returning {
    pub fn return_values(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL_OLD",
            Returning::ModifiedOld => "UPDATED_OLD",
            Returning::AllNew => "ALL_NEW",
            Returning::ModifiedNew => "UPDATED_NEW",
        }
    }
}

/// A condition or an operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Path(Path),
    Value(AttributeValue),
    Compare(Box<Expr>, Comparator, Box<Expr>),
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// `IS MISSING` (true) or `IS NOT MISSING` (false).
    Missing(Box<Expr>, bool),
    /// `IS NULL` (true) or `IS NOT NULL` (false).
    Null(Box<Expr>, bool),
    /// A function call; the name in lower case.
    Call(String, Vec<Expr>),
    /// `a + b` or `a - b`.
    Arith(Box<Expr>, char, Box<Expr>),
}

impl Expr {
    /// The conditions joined by top-level ANDs, in order.
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match self {
            Expr::And(a, b) => {
                let mut out = a.conjuncts();
                out.extend(b.conjuncts());
                out
            }
            other => vec![other],
        }
    }

    /// The name and value of `name = value` (either way round) on a top-level attribute.
    pub fn equality(&self) -> Option<(&str, &AttributeValue)> {
        match self {
            Expr::Compare(a, Comparator::Eq, b) => match (a.as_ref(), b.as_ref()) {
                (Expr::Path(p), Expr::Value(v)) | (Expr::Value(v), Expr::Path(p)) if p.is_top_level() => {
                    Some((p.top(), v))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The top-level attribute a key condition on the sort key would constrain: a comparison
    /// or BETWEEN of the path against values, or `begins_with(path, value)`.
    pub fn sort_key_condition(&self) -> Option<&str> {
        let is_value = |e: &Expr| matches!(e, Expr::Value(_));
        match self {
            Expr::Compare(a, cmp, b) if *cmp != Comparator::Ne && is_value(b) => path_top(a),
            Expr::Between(a, lo, hi) if is_value(lo) && is_value(hi) => path_top(a),
            Expr::Call(f, args) if f == "begins_with" && args.len() == 2 && is_value(&args[1]) => {
                path_top(&args[0])
            }
            _ => None,
        }
    }

    /// This expression as DynamoDB expression text, its names and values added to `r`.
    pub fn render(&self, r: &mut Rendering) -> String {
        match self {
            Expr::Path(p) => r.path(p),
            Expr::Value(v) => r.value(v),
            Expr::Compare(a, cmp, b) => format!("{} {} {}", a.render(r), cmp.symbol(), b.render(r)),
            Expr::Between(a, lo, hi) => {
                format!("{} BETWEEN {} AND {}", a.render(r), lo.render(r), hi.render(r))
            }
            Expr::In(a, list) => {
                let a = a.render(r);
                let list: Vec<String> = list.iter().map(|e| e.render(r)).collect();
                format!("{a} IN ({})", list.join(", "))
            }
            Expr::And(a, b) => format!("({}) AND ({})", a.render(r), b.render(r)),
            Expr::Or(a, b) => format!("({}) OR ({})", a.render(r), b.render(r)),
            Expr::Not(a) => format!("NOT ({})", a.render(r)),
            Expr::Missing(a, true) => format!("attribute_not_exists({})", a.render(r)),
            Expr::Missing(a, false) => format!("attribute_exists({})", a.render(r)),
            Expr::Null(a, is) => {
                let test =
                    format!("attribute_type({}, {})", a.render(r), r.value(&AttributeValue::s("NULL")));
                if *is { test } else { format!("NOT {test}") }
            }
            Expr::Call(name, args) => {
                let args: Vec<String> = args.iter().map(|e| e.render(r)).collect();
                format!("{name}({})", args.join(", "))
            }
            Expr::Arith(a, op, b) => format!("{} {op} {}", a.render(r), b.render(r)),
        }
    }
}

fn path_top(e: &Expr) -> Option<&str> {
    match e {
        Expr::Path(p) if p.is_top_level() => Some(p.top()),
        _ => None,
    }
}

/// The placeholders a rendering uses: `#pN` names and `:pN` values, each name once.
#[derive(Debug, Default)]
pub struct Rendering {
    names: BTreeMap<String, String>,
    by_name: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
}

impl Rendering {
    pub fn name(&mut self, name: &str) -> String {
        if let Some(placeholder) = self.by_name.get(name) {
            return placeholder.clone();
        }
        let placeholder = format!("#p{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        self.by_name.insert(name.to_owned(), placeholder.clone());
        placeholder
    }

    pub fn value(&mut self, value: &AttributeValue) -> String {
        let placeholder = format!(":p{}", self.values.len());
        self.values.insert(placeholder.clone(), value.clone());
        placeholder
    }

    pub fn path(&mut self, path: &Path) -> String {
        let mut out = String::new();
        for element in path.elements() {
            match element {
                PathElement::Attribute(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&self.name(name));
                }
                PathElement::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// `#pN` → attribute name.
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }

    /// `:pN` → value.
    pub fn values(&self) -> &BTreeMap<String, AttributeValue> {
        &self.values
    }
}

/// Renders an UPDATE's actions as an update expression: `SET a = set_add(a, v)` becomes
/// `ADD a v` and `set_delete` becomes `DELETE`, the way DynamoDB itself maps them.
pub fn render_actions(actions: &[Action], r: &mut Rendering) -> String {
    let (mut set, mut remove, mut add, mut delete) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for action in actions {
        match action {
            Action::Remove(path) => remove.push(r.path(path)),
            Action::Set(path, Expr::Call(f, args))
                if (f == "set_add" || f == "set_delete")
                    && args.len() == 2
                    && matches!(&args[0], Expr::Path(p) if p == path) =>
            {
                let clause = format!("{} {}", r.path(path), args[1].render(r));
                if f == "set_add" { add.push(clause) } else { delete.push(clause) }
            }
            Action::Set(path, value) => {
                let target = r.path(path);
                set.push(format!("{target} = {}", value.render(r)));
            }
        }
    }
    let mut out = Vec::new();
    for (keyword, clauses) in [("SET", set), ("REMOVE", remove), ("ADD", add), ("DELETE", delete)] {
        if !clauses.is_empty() {
            out.push(format!("{keyword} {}", clauses.join(", ")));
        }
    }
    out.join(" ")
}

/// Parses `text`, binding its `?`s to `parameters` in order.
pub fn parse(text: &str, parameters: &[AttributeValue]) -> Result<Statement, Error> {
    let tokens = lex(text)?;
    let mut p = Parser { tokens, at: 0, parameters, used: 0, operators: 0 };
    let statement = p.statement()?;
    if p.peek() == Some(&Token::Semicolon) {
        p.at += 1;
    }
    if let Some(t) = p.peek() {
        return Err(syntax(format!("Unexpected token: {}", t.describe())));
    }
    if p.used != parameters.len() {
        return Err(Error::InvalidStatement(
            "Number of parameters in request and statement don't match.".to_owned(),
        ));
    }
    Ok(statement)
}

fn syntax(detail: impl Into<String>) -> Error {
    Error::StatementSyntax(detail.into())
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// A bare word: a keyword or a name.
    Word(String),
    /// A double-quoted name.
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    Star,
    Comma,
    Dot,
    Colon,
    Semicolon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LBag,
    RBag,
    Plus,
    Minus,
    Comparator(Comparator),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => format!("\"{q}\""),
            Token::Str(s) => format!("'{s}'"),
            Token::Num(n) => n.clone(),
            Token::Param => "?".into(),
            Token::Star => "*".into(),
            Token::Comma => ",".into(),
            Token::Dot => ".".into(),
            Token::Colon => ":".into(),
            Token::Semicolon => ";".into(),
            Token::LParen => "(".into(),
            Token::RParen => ")".into(),
            Token::LBracket => "[".into(),
            Token::RBracket => "]".into(),
            Token::LBrace => "{".into(),
            Token::RBrace => "}".into(),
            Token::LBag => "<<".into(),
            Token::RBag => ">>".into(),
            Token::Plus => "+".into(),
            Token::Minus => "-".into(),
            Token::Comparator(c) => c.symbol().into(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

fn lex(text: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' | '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax("Unterminated quoted text")),
                        Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                            s.push(c);
                            i += 2;
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                out.push(if c == '\'' { Token::Str(s) } else { Token::Quoted(s) });
            }
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    i += 1;
                    if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                        i += 1;
                    }
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                out.push(Token::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => {
                let (token, len) = match (c, next) {
                    ('<', Some('<')) => (Token::LBag, 2),
                    ('>', Some('>')) => (Token::RBag, 2),
                    ('<', Some('=')) => (Token::Comparator(Comparator::Le), 2),
                    ('>', Some('=')) => (Token::Comparator(Comparator::Ge), 2),
                    ('<', Some('>')) | ('!', Some('=')) => (Token::Comparator(Comparator::Ne), 2),
                    ('<', _) => (Token::Comparator(Comparator::Lt), 1),
                    ('>', _) => (Token::Comparator(Comparator::Gt), 1),
                    ('=', _) => (Token::Comparator(Comparator::Eq), 1),
                    ('?', _) => (Token::Param, 1),
                    ('*', _) => (Token::Star, 1),
                    (',', _) => (Token::Comma, 1),
                    ('.', _) => (Token::Dot, 1),
                    (':', _) => (Token::Colon, 1),
                    (';', _) => (Token::Semicolon, 1),
                    ('(', _) => (Token::LParen, 1),
                    (')', _) => (Token::RParen, 1),
                    ('[', _) => (Token::LBracket, 1),
                    (']', _) => (Token::RBracket, 1),
                    ('{', _) => (Token::LBrace, 1),
                    ('}', _) => (Token::RBrace, 1),
                    ('+', _) => (Token::Plus, 1),
                    ('-', _) => (Token::Minus, 1),
                    (other, _) => return Err(syntax(format!("Unexpected character: {other}"))),
                };
                out.push(token);
                i += len;
            }
        }
    }
    Ok(out)
}

/// Nesting beyond this is refused rather than recursed into.
const MAX_DEPTH: usize = 64;
/// Operators and function calls a statement may hold, as in a DynamoDB expression: it bounds
/// the chains (`a AND b AND ...`) that the depth limit does not, and everything that walks the
/// tree recursively.
const MAX_OPERATORS: usize = 300;

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    parameters: &'a [AttributeValue],
    used: usize,
    operators: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.at_keyword(keyword);
        if found {
            self.at += 1;
        }
        found
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), Error> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("Expected {}", keyword.to_ascii_uppercase())))
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        let found = self.peek() == Some(token);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, token: &Token) -> Result<(), Error> {
        if self.eat(token) { Ok(()) } else { Err(self.unexpected(&format!("Expected {}", token.describe()))) }
    }

    /// `item, item, ... close` (the opening token already read); empty when `close` comes first.
    fn separated<T>(
        &mut self,
        close: &Token,
        mut item: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(&Token::Comma)?;
        }
    }

    fn unexpected(&self, what: &str) -> Error {
        match self.peek() {
            Some(t) => syntax(format!("{what}, found {}", t.describe())),
            None => syntax(format!("{what}, found end of statement")),
        }
    }

    fn statement(&mut self) -> Result<Statement, Error> {
        if self.eat_keyword("select") {
            self.select().map(Statement::Select)
        } else if self.eat_keyword("insert") {
            self.insert().map(Statement::Insert)
        } else if self.eat_keyword("update") {
            self.update().map(Statement::Update)
        } else if self.eat_keyword("delete") {
            self.delete().map(Statement::Delete)
        } else if self.at_keyword("exists") && self.tokens.get(self.at + 1) == Some(&Token::LParen) {
            self.at += 2;
            self.keyword("select")?;
            let select = self.select()?;
            self.expect(&Token::RParen)?;
            Ok(Statement::Exists(select))
        } else {
            Err(syntax("Expected data manipulation"))
        }
    }

    fn select(&mut self) -> Result<Select, Error> {
        let mut projection = Vec::new();
        if !self.eat(&Token::Star) {
            loop {
                projection.push(self.path()?);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
        }
        self.keyword("from")?;
        let table = self.name()?;
        let index = if self.eat(&Token::Dot) { Some(self.name()?) } else { None };
        let filter = if self.eat_keyword("where") { Some(self.expr(0)?) } else { None };
        let order = if self.eat_keyword("order") {
            self.keyword("by")?;
            let path = self.path()?;
            let ascending = if self.eat_keyword("desc") {
                false
            } else {
                self.eat_keyword("asc");
                true
            };
            Some((path, ascending))
        } else {
            None
        };
        Ok(Select { table, index, projection, filter, order })
    }

    fn insert(&mut self) -> Result<Insert, Error> {
        self.keyword("into")?;
        let table = self.name()?;
        self.keyword("value")?;
        match self.value(0)? {
            AttributeValue::M(item) => Ok(Insert { table, item }),
            _ => Err(syntax("Expected a tuple as the VALUE of INSERT")),
        }
    }

    fn update(&mut self) -> Result<Update, Error> {
        let table = self.name()?;
        let mut actions = Vec::new();
        loop {
            if self.eat_keyword("set") {
                loop {
                    let path = self.path()?;
                    self.expect(&Token::Comparator(Comparator::Eq))?;
                    actions.push(Action::Set(path, self.additive(0)?));
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
            } else if self.eat_keyword("remove") {
                loop {
                    actions.push(Action::Remove(self.path()?));
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        if actions.is_empty() {
            return Err(self.unexpected("Expected SET or REMOVE"));
        }
        self.keyword("where")?;
        let filter = self.expr(0)?;
        let returning = self.returning()?;
        Ok(Update { table, actions, filter, returning })
    }

    fn delete(&mut self) -> Result<Delete, Error> {
        self.keyword("from")?;
        let table = self.name()?;
        self.keyword("where")?;
        let filter = self.expr(0)?;
        let returning = self.returning()?;
        if returning.is_some_and(|r| r != Returning::AllOld) {
            return Err(syntax("DELETE supports only RETURNING ALL OLD *"));
        }
        Ok(Delete { table, filter, returning })
    }

    fn returning(&mut self) -> Result<Option<Returning>, Error> {
        if !self.eat_keyword("returning") {
            return Ok(None);
        }
        let all = if self.eat_keyword("all") {
            true
        } else if self.eat_keyword("modified") {
            false
        } else {
            return Err(self.unexpected("Expected ALL or MODIFIED"));
        };
        let old = if self.eat_keyword("old") {
            true
        } else if self.eat_keyword("new") {
            false
        } else {
            return Err(self.unexpected("Expected OLD or NEW"));
        };
        self.expect(&Token::Star)?;
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (false, true) => Returning::ModifiedOld,
            (true, false) => Returning::AllNew,
            (false, false) => Returning::ModifiedNew,
        }))
    }

    fn name(&mut self) -> Result<String, Error> {
        match self.peek() {
            Some(Token::Quoted(q)) => {
                let q = q.clone();
                self.at += 1;
                Ok(q)
            }
            Some(Token::Word(w)) if !RESERVED.iter().any(|r| w.eq_ignore_ascii_case(r)) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected("Expected identifier")),
        }
    }

    fn path(&mut self) -> Result<Path, Error> {
        let mut elements = vec![PathElement::Attribute(self.name()?)];
        loop {
            if self.eat(&Token::Dot) {
                elements.push(PathElement::Attribute(self.name()?));
            } else if self.eat(&Token::LBracket) {
                let index = match self.next() {
                    Some(Token::Num(n)) => {
                        n.parse::<u32>().map_err(|_| syntax(format!("Invalid list index: {n}")))?
                    }
                    _ => return Err(syntax("Expected a list index")),
                };
                self.expect(&Token::RBracket)?;
                elements.push(PathElement::Index(index));
            } else {
                break;
            }
        }
        Ok(Path::from_elements(elements).expect("a path starts with a name"))
    }

    fn operator(&mut self) -> Result<(), Error> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(syntax(format!("Statement has more than {MAX_OPERATORS} operators")));
        }
        Ok(())
    }

    fn deeper(depth: usize) -> Result<usize, Error> {
        if depth >= MAX_DEPTH { Err(syntax("Statement is nested too deeply")) } else { Ok(depth + 1) }
    }

    /// `or := and (OR and)*`, `and := not (AND not)*`.
    fn expr(&mut self, depth: usize) -> Result<Expr, Error> {
        let depth = Self::deeper(depth)?;
        let mut left = self.and(depth)?;
        while self.eat_keyword("or") {
            self.operator()?;
            left = Expr::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, Error> {
        let mut left = self.not(depth)?;
        while self.eat_keyword("and") {
            self.operator()?;
            left = Expr::And(Box::new(left), Box::new(self.not(depth)?));
        }
        Ok(left)
    }

    fn not(&mut self, depth: usize) -> Result<Expr, Error> {
        if self.eat_keyword("not") {
            self.operator()?;
            let depth = Self::deeper(depth)?;
            return Ok(Expr::Not(Box::new(self.not(depth)?)));
        }
        self.predicate(depth)
    }

    fn predicate(&mut self, depth: usize) -> Result<Expr, Error> {
        let left = self.additive(depth)?;
        if let Some(Token::Comparator(cmp)) = self.peek() {
            let cmp = *cmp;
            self.at += 1;
            self.operator()?;
            let right = self.additive(depth)?;
            return Ok(Expr::Compare(Box::new(left), cmp, Box::new(right)));
        }
        if self.eat_keyword("between") {
            self.operator()?;
            let lo = self.additive(depth)?;
            self.keyword("and")?;
            let hi = self.additive(depth)?;
            return Ok(Expr::Between(Box::new(left), Box::new(lo), Box::new(hi)));
        }
        if self.eat_keyword("in") {
            self.operator()?;
            let close = if self.eat(&Token::LBracket) {
                Token::RBracket
            } else {
                self.expect(&Token::LParen)?;
                Token::RParen
            };
            let list = self.separated(&close, |p| p.additive(depth))?;
            return Ok(Expr::In(Box::new(left), list));
        }
        if self.eat_keyword("is") {
            self.operator()?;
            let negated = self.eat_keyword("not");
            return if self.eat_keyword("missing") {
                Ok(Expr::Missing(Box::new(left), !negated))
            } else if self.eat_keyword("null") {
                Ok(Expr::Null(Box::new(left), !negated))
            } else {
                Err(self.unexpected("Expected MISSING or NULL"))
            };
        }
        Ok(left)
    }

    fn additive(&mut self, depth: usize) -> Result<Expr, Error> {
        let mut left = self.primary(depth)?;
        loop {
            let op = if self.eat(&Token::Plus) {
                '+'
            } else if self.eat(&Token::Minus) {
                '-'
            } else {
                break;
            };
            self.operator()?;
            left = Expr::Arith(Box::new(left), op, Box::new(self.primary(depth)?));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, Error> {
        match self.peek() {
            Some(Token::LParen) => {
                self.at += 1;
                let inner = self.expr(depth)?;
                self.expect(&Token::RParen)?;
                Ok(inner)
            }
            Some(Token::Word(w))
                if self.tokens.get(self.at + 1) == Some(&Token::LParen) && !is_literal_word(w) =>
            {
                let name = w.to_ascii_lowercase();
                self.at += 2;
                self.operator()?;
                let inner = Self::deeper(depth)?;
                let args = self.separated(&Token::RParen, |p| p.additive(inner))?;
                if !FUNCTIONS.contains(&name.as_str()) {
                    return Err(Error::InvalidStatement(format!("Unsupported function: {name}")));
                }
                Ok(Expr::Call(name, args))
            }
            Some(Token::Word(w)) if is_literal_word(w) => Ok(Expr::Value(self.value(depth)?)),
            Some(Token::Word(_) | Token::Quoted(_)) => Ok(Expr::Path(self.path()?)),
            _ => Ok(Expr::Value(self.value(depth)?)),
        }
    }

    fn value(&mut self, depth: usize) -> Result<AttributeValue, Error> {
        let depth = Self::deeper(depth)?;
        match self.next() {
            Some(Token::Str(s)) => Ok(AttributeValue::S(s)),
            Some(Token::Num(n)) => Ok(AttributeValue::N(Number::parse(&n)?)),
            Some(Token::Minus) => match self.next() {
                Some(Token::Num(n)) => Ok(AttributeValue::N(Number::parse(&format!("-{n}"))?)),
                _ => Err(syntax("Expected a number after -")),
            },
            Some(Token::Param) => {
                let value = self.parameters.get(self.used).cloned();
                self.used += 1;
                // A missing parameter is reported once the whole statement is read.
                Ok(value.unwrap_or(AttributeValue::Null))
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(AttributeValue::Bool(true)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(AttributeValue::Bool(false)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(AttributeValue::Null),
            Some(Token::LBracket) => {
                Ok(AttributeValue::L(self.separated(&Token::RBracket, |p| p.value(depth))?))
            }
            Some(Token::LBrace) => {
                let pairs = self.separated(&Token::RBrace, |p| {
                    let key = match p.next() {
                        Some(Token::Str(k) | Token::Quoted(k)) => k,
                        _ => return Err(syntax("Expected a quoted attribute name in a tuple")),
                    };
                    p.expect(&Token::Colon)?;
                    Ok((key, p.value(depth)?))
                })?;
                // Duplicate names: the last wins, as in a map literal.
                Ok(AttributeValue::M(pairs.into_iter().collect()))
            }
            Some(Token::LBag) => set_of(self.separated(&Token::RBag, |p| p.value(depth))?),
            Some(t) => Err(syntax(format!("Unexpected token: {}", t.describe()))),
            None => Err(syntax("Unexpected end of statement")),
        }
    }
}

/// Words that start a value, not a name.
fn is_literal_word(w: &str) -> bool {
    ["true", "false", "null"].iter().any(|k| w.eq_ignore_ascii_case(k))
}

/// Keywords that cannot be bare names (quote them to use them as names).
const RESERVED: &[&str] = &[
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "insert",
    "into",
    "value",
    "update",
    "set",
    "remove",
    "delete",
    "returning",
    "between",
    "in",
    "is",
    "missing",
    "null",
    "true",
    "false",
    "order",
    "by",
];

/// The functions DynamoDB's PartiQL offers in conditions and SET.
const FUNCTIONS: &[&str] = &[
    "begins_with",
    "contains",
    "attribute_type",
    "size",
    "list_append",
    "set_add",
    "set_delete",
    "if_not_exists",
];

/// `<<...>>`: all strings, all numbers or all binaries, as one set.
fn set_of(members: Vec<AttributeValue>) -> Result<AttributeValue, Error> {
    let mismatch = || {
        Error::InvalidStatement(
            "A set must contain values of a single type: string, number or binary".to_owned(),
        )
    };
    match members.first() {
        None => Err(Error::InvalidStatement("A set may not be empty".to_owned())),
        Some(AttributeValue::S(_)) => members
            .into_iter()
            .map(|m| if let AttributeValue::S(s) = m { Ok(s) } else { Err(mismatch()) })
            .collect::<Result<_, _>>()
            .map(AttributeValue::SS),
        Some(AttributeValue::N(_)) => members
            .into_iter()
            .map(|m| if let AttributeValue::N(n) = m { Ok(n) } else { Err(mismatch()) })
            .collect::<Result<_, _>>()
            .map(AttributeValue::NS),
        Some(AttributeValue::B(_)) => members
            .into_iter()
            .map(|m| if let AttributeValue::B(b) = m { Ok(b) } else { Err(mismatch()) })
            .collect::<Result<_, _>>()
            .map(AttributeValue::BS),
        Some(_) => Err(mismatch()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Statement {
        parse(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Expression text, its attribute names and its values.
    type Rendered = (String, Vec<(String, String)>, Vec<(String, AttributeValue)>);

    fn rendered(e: &Expr) -> Rendered {
        let mut r = Rendering::default();
        let text = e.render(&mut r);
        (
            text,
            r.names().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            r.values().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )
    }

    #[test]
    fn select_with_index_projection_where_and_order() {
        let Statement::Select(s) = parsed(
            r#"select Artist, "Song".Title[2] FROM "Music"."ByYear" WHERE Artist = 'Acme' AND "year" > 2000 ORDER BY "year" DESC"#,
        ) else {
            panic!("not a select")
        };
        assert_eq!((s.table.as_str(), s.index.as_deref()), ("Music", Some("ByYear")));
        assert_eq!(s.projection.len(), 2);
        assert_eq!(s.projection[1].elements()[2], PathElement::Index(2));
        assert_eq!(s.order, Some((Path::attribute("year"), false)));
        let filter = s.filter.expect("where");
        let conjuncts = filter.conjuncts();
        assert_eq!(conjuncts[0].equality(), Some(("Artist", &AttributeValue::s("Acme"))));
        assert_eq!(conjuncts[1].sort_key_condition(), Some("year"));
        let (text, names, values) = rendered(&filter);
        assert_eq!(text, "(#p0 = :p0) AND (#p1 > :p1)");
        assert_eq!(names, vec![("#p0".into(), "Artist".into()), ("#p1".into(), "year".into())]);
        assert_eq!(values[1].1, AttributeValue::n("2000"));
    }

    #[test]
    fn values_of_every_type_and_parameters() {
        let params = [AttributeValue::s("p1"), AttributeValue::n("7")];
        let statement = parse(
            "INSERT INTO t VALUE {'pk': ?, 'n': -1.5e2, 'b': TRUE, 'z': null, 'l': [1, 'x'], 'm': {'it''s': ?}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>}",
            &params,
        )
        .expect("parse");
        let Statement::Insert(insert) = statement else { panic!("not an insert") };
        assert_eq!(insert.item["pk"], AttributeValue::s("p1"));
        assert_eq!(insert.item["n"], AttributeValue::n("-150"));
        assert_eq!(insert.item["b"], AttributeValue::Bool(true));
        assert_eq!(insert.item["z"], AttributeValue::Null);
        assert_eq!(insert.item["l"], AttributeValue::L(vec![AttributeValue::n("1"), AttributeValue::s("x")]));
        let AttributeValue::M(m) = &insert.item["m"] else { panic!("not a map") };
        assert_eq!(m["it's"], AttributeValue::n("7"));
        assert_eq!(insert.item["ss"], AttributeValue::SS(vec!["a".into(), "b".into()]));
        assert!(matches!(&insert.item["ns"], AttributeValue::NS(v) if v.len() == 2));
    }

    #[test]
    fn update_actions_render_as_an_update_expression() {
        let Statement::Update(u) = parsed(
            "UPDATE \"Music\" SET AwardsWon = AwardsWon + 1 SET Tags = set_add(Tags, <<'new'>>), Old = set_delete(Old, <<'x'>>) \
             REMOVE Notes[2], Draft SET L = list_append(L, [3]) WHERE Artist = 'A' AND SongTitle = 'B' AND Plays > 3 RETURNING MODIFIED NEW *",
        ) else {
            panic!("not an update")
        };
        assert_eq!(u.returning, Some(Returning::ModifiedNew));
        let mut r = Rendering::default();
        let text = render_actions(&u.actions, &mut r);
        assert_eq!(
            text,
            "SET #p0 = #p0 + :p0, #p5 = list_append(#p5, :p3) REMOVE #p3[2], #p4 ADD #p1 :p1 DELETE #p2 :p2"
        );
        assert_eq!(u.filter.conjuncts().len(), 3);
    }

    #[test]
    fn delete_and_conditions() {
        let Statement::Delete(d) = parsed(
            "delete from t where pk = 'a' and (x in ['1', '2'] or y between 1 and 5) and not z is missing and w is not null and begins_with(s, 'ab') RETURNING ALL OLD *",
        ) else {
            panic!("not a delete")
        };
        assert_eq!(d.returning, Some(Returning::AllOld));
        let (text, _, _) = rendered(&d.filter);
        assert_eq!(
            text,
            "((((#p0 = :p0) AND ((#p1 IN (:p1, :p2)) OR (#p2 BETWEEN :p3 AND :p4))) AND (NOT (attribute_not_exists(#p3)))) AND (NOT attribute_type(#p4, :p5))) AND (begins_with(#p5, :p6))"
        );
        let conjuncts = d.filter.conjuncts();
        assert_eq!(conjuncts.last().and_then(|c| c.sort_key_condition()), Some("s"));
    }

    #[test]
    fn exists_wraps_a_select() {
        let Statement::Exists(s) = parsed("EXISTS(SELECT * FROM \"t\" WHERE pk = 'a' AND n > 1)") else {
            panic!("not an exists")
        };
        assert_eq!((s.table.as_str(), s.filter.map(|f| f.conjuncts().len())), ("t", Some(2)));
        assert!(parse("EXISTS(SELECT * FROM t", &[]).is_err());
    }

    #[test]
    fn malformed_statements_are_refused_with_dynamodb_wording() {
        let err = |text: &str, params: &[AttributeValue]| parse(text, params).expect_err(text).to_string();
        assert_eq!(
            err("CREATE TABLE t", &[]),
            "Statement wasn't well formed, can't be processed: Expected data manipulation"
        );
        assert_eq!(
            err("SELECT * FROM t WHERE a = ?", &[]),
            "Number of parameters in request and statement don't match."
        );
        assert_eq!(
            err("SELECT * FROM t", &[AttributeValue::s("x")]),
            "Number of parameters in request and statement don't match."
        );
        for bad in [
            "SELECT * FROM",
            "SELECT * FROM t WHERE",
            "SELECT * FROM t WHERE a = 'unterminated",
            "INSERT INTO t VALUE 'x'",
            "INSERT INTO t VALUE {a: 1}",
            "UPDATE t WHERE a = 1",
            "DELETE FROM t WHERE a = 1 RETURNING ALL NEW *",
            "SELECT * FROM t WHERE a = <<'a', 1>>",
            "SELECT * FROM t WHERE a = <<>>",
            "SELECT * FROM t WHERE nosuch(a)",
            "SELECT * FROM t extra",
            "SELECT * FROM t WHERE a[x] = 1",
            "SELECT * FROM t WHERE a = 1 #",
        ] {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
        let deep = format!("SELECT * FROM t WHERE {}a = 1{}", "(".repeat(500), ")".repeat(500));
        assert!(err(&deep, &[]).contains("nested too deeply"));
        let long = format!("SELECT * FROM t WHERE a = 1{}", " AND a = 1".repeat(200));
        assert!(err(&long, &[]).contains("more than 300 operators"));
        let fine = format!("SELECT * FROM t WHERE a = 1{}", " AND a = 1".repeat(100));
        assert!(parse(&fine, &[]).is_ok());
    }
}
