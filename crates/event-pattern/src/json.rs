//! A small pull tokenizer for JSON that keeps what `serde_json::Value` loses: the exact text of
//! numbers (`300` and `300.0` are different literals that must also compare equal), key order and
//! duplicate keys (a pattern's last duplicate wins, but errors come in document order).
//!
//! Patterns are turned into a [`Json`] tree; events are never built into a tree: `event.rs`
//! pulls tokens and keeps only the leaves some rule asks for.

use std::borrow::Cow;

/// Events nest up to 1000 levels in PutEvents; deeper input is refused rather than risking the
/// stack in the recursive pattern reader.
pub(crate) const MAX_DEPTH: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token<'a> {
    BeginObject,
    EndObject,
    BeginArray,
    EndArray,
    Key(Cow<'a, str>),
    String(Cow<'a, str>),
    /// The literal text, already checked against the JSON number grammar.
    Number(&'a str),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    TopValue,
    ObjectFirst,
    ObjectValue,
    ArrayFirst,
    AfterValue,
    AfterTop,
    Failed,
}

/// What the structure allows next, decided before reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Key,
    Value,
    /// `true` for `}`, `false` for `]`.
    Close(bool),
    End,
}

/// Pulls tokens one at a time and checks the structure (commas, colons, nesting) as it goes.
pub(crate) struct Tokens<'a> {
    src: &'a str,
    pos: usize,
    /// `true` for an object, `false` for an array.
    stack: Vec<bool>,
    expect: Expect,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Tokens { src, pos: 0, stack: Vec::new(), expect: Expect::TopValue }
    }

    /// The next token, `Ok(None)` at the clean end of the document.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token<'a>>, String> {
        let result = self.step();
        if result.is_err() {
            self.expect = Expect::Failed;
        }
        result
    }

    fn step(&mut self) -> Result<Option<Token<'a>>, String> {
        Ok(Some(match self.next_kind()? {
            Next::End => return Ok(None),
            Next::Key => self.key()?,
            Next::Value => self.value()?,
            Next::Close(object) => self.close(object)?,
        }))
    }

    /// Consumes the rest of the object or array whose opening token was just returned, checking
    /// its syntax exactly as [`Tokens::next_token`] would but building no tokens: the reader's
    /// fast path through subtrees no rule names (in CityLots-shaped events, most of the bytes).
    pub(crate) fn skip_container(&mut self) -> Result<(), String> {
        let floor = self.stack.len().saturating_sub(1);
        let mut result = Ok(());
        while self.stack.len() > floor && result.is_ok() {
            result = self.skip_step();
        }
        if result.is_err() {
            self.expect = Expect::Failed;
        }
        result
    }

    fn skip_step(&mut self) -> Result<(), String> {
        match self.next_kind()? {
            Next::End => Ok(()),
            Next::Key => self.key().map(drop),
            Next::Close(object) => self.close(object).map(drop),
            // Strings and numbers are checked in place; the rest goes the usual way.
            Next::Value => match self.peek() {
                Some(b'"') => {
                    self.string()?;
                    self.after_value();
                    Ok(())
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                    self.after_value();
                    Ok(())
                }
                _ => self.value().map(drop),
            },
        }
    }

    /// What comes next, given the structure so far; consumes a separating comma.
    fn next_kind(&mut self) -> Result<Next, String> {
        self.skip_ws();
        match self.expect {
            Expect::Failed => Err("the document was already found malformed".to_owned()),
            Expect::TopValue | Expect::ObjectValue => Ok(Next::Value),
            Expect::AfterTop => match self.peek() {
                None => Ok(Next::End),
                Some(_) => Err(self.unexpected("expected end of input")),
            },
            Expect::ObjectFirst => match self.peek() {
                Some(b'}') => Ok(Next::Close(true)),
                Some(b'"') => Ok(Next::Key),
                Some(_) => Err(self.unexpected("was expecting double-quote to start field name")),
                None => Err(self.end_of_input()),
            },
            Expect::ArrayFirst => match self.peek() {
                Some(b']') => Ok(Next::Close(false)),
                _ => Ok(Next::Value),
            },
            Expect::AfterValue => {
                let in_object = *self.stack.last().unwrap_or(&false);
                match (self.peek(), in_object) {
                    (Some(b','), true) => {
                        self.pos += 1;
                        self.skip_ws();
                        match self.peek() {
                            Some(b'"') => Ok(Next::Key),
                            Some(_) => Err(self.unexpected("was expecting double-quote to start field name")),
                            None => Err(self.end_of_input()),
                        }
                    }
                    (Some(b','), false) => {
                        self.pos += 1;
                        self.skip_ws();
                        Ok(Next::Value)
                    }
                    (Some(b'}'), true) => Ok(Next::Close(true)),
                    (Some(b']'), false) => Ok(Next::Close(false)),
                    (Some(_), true) => Err(self.unexpected("was expecting comma to separate Object entries")),
                    (Some(_), false) => Err(self.unexpected("was expecting comma to separate Array entries")),
                    (None, _) => Err(self.end_of_input()),
                }
            }
        }
    }

    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() { Expect::AfterTop } else { Expect::AfterValue };
    }

    fn close(&mut self, object: bool) -> Result<Token<'a>, String> {
        self.pos += 1;
        self.stack.pop();
        self.after_value();
        Ok(if object { Token::EndObject } else { Token::EndArray })
    }

    fn open(&mut self, object: bool) -> Result<Token<'a>, String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("Maximum nesting depth ({MAX_DEPTH}) exceeded"));
        }
        self.pos += 1;
        self.stack.push(object);
        self.expect = if object { Expect::ObjectFirst } else { Expect::ArrayFirst };
        Ok(if object { Token::BeginObject } else { Token::BeginArray })
    }

    fn key(&mut self) -> Result<Token<'a>, String> {
        let key = self.string()?;
        self.skip_ws();
        match self.peek() {
            Some(b':') => self.pos += 1,
            Some(_) => return Err(self.unexpected("was expecting a colon to separate field name and value")),
            None => return Err(self.end_of_input()),
        }
        self.expect = Expect::ObjectValue;
        Ok(Token::Key(key))
    }

    fn value(&mut self) -> Result<Token<'a>, String> {
        let token = match self.peek() {
            None => return Err(self.end_of_input()),
            Some(b'{') => return self.open(true),
            Some(b'[') => return self.open(false),
            Some(b'"') => Token::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Token::Number(self.number()?),
            Some(b't') if self.src[self.pos..].starts_with("true") => self.literal(4, Token::Bool(true))?,
            Some(b'f') if self.src[self.pos..].starts_with("false") => self.literal(5, Token::Bool(false))?,
            Some(b'n') if self.src[self.pos..].starts_with("null") => self.literal(4, Token::Null)?,
            Some(b) if b.is_ascii_alphabetic() => return Err(self.unrecognized_token()),
            Some(_) => return Err(self.unexpected(
                "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
            )),
        };
        self.after_value();
        Ok(token)
    }

    fn literal(&mut self, len: usize, token: Token<'a>) -> Result<Token<'a>, String> {
        // `trueish` is one unrecognised token, not `true` followed by garbage.
        if self.src.as_bytes().get(self.pos + len).is_some_and(|b| b.is_ascii_alphanumeric()) {
            return Err(self.unrecognized_token());
        }
        self.pos += len;
        Ok(token)
    }

    fn number(&mut self) -> Result<&'a str, String> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        let int_len = digits(&mut i);
        if int_len == 0 {
            return Err("Unexpected character: expected digit after minus sign".to_owned());
        }
        if int_len > 1 && bytes[int_start] == b'0' {
            return Err("Invalid numeric value: Leading zeroes not allowed".to_owned());
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return Err("Unexpected character: Decimal point not followed by a digit".to_owned());
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return Err("Unexpected character: Exponent indicator not followed by a digit".to_owned());
            }
        }
        self.pos = i;
        Ok(&self.src[start..i])
    }

    fn string(&mut self) -> Result<Cow<'a, str>, String> {
        let bytes = self.src.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        // Text without escapes is borrowed as it stands; only a string with escapes is copied,
        // one unescaped run at a time (runs end at ASCII bytes, so on character boundaries).
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            match bytes.get(i) {
                None => {
                    return Err(
                        "Unexpected end-of-input: was expecting closing quote for a string value".to_owned()
                    );
                }
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(&self.src[start..i]),
                        Some(mut out) => {
                            out.push_str(&self.src[run..i]);
                            Cow::Owned(out)
                        }
                    });
                }
                Some(b'\\') => {
                    let out = owned.get_or_insert_with(String::new);
                    out.push_str(&self.src[run..i]);
                    let escaped = *bytes
                        .get(i + 1)
                        .ok_or_else(|| "Unexpected end-of-input in character escape sequence".to_owned())?;
                    i += 2;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4(i)?;
                            i += 4;
                            let c = if (0xD800..0xDC00).contains(&unit)
                                && bytes.get(i) == Some(&b'\\')
                                && bytes.get(i + 1) == Some(&b'u')
                            {
                                let low = self.hex4(i + 2)?;
                                if (0xDC00..0xE000).contains(&low) {
                                    i += 6;
                                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(unit)
                            };
                            // A lone surrogate cannot live in a Rust string: it reads as U+FFFD.
                            out.push(c.unwrap_or('\u{FFFD}'));
                        }
                        other => {
                            return Err(format!(
                                "Unrecognized character escape '{}' (code {other})",
                                char::from(other)
                            ));
                        }
                    }
                    run = i;
                }
                Some(&b) if b < 0x20 => return Err(control_character(b)),
                Some(_) => i += 1,
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, String> {
        let digits = self
            .src
            .as_bytes()
            .get(at..at + 4)
            .ok_or_else(|| "Unexpected end-of-input in character escape sequence".to_owned())?;
        let mut value = 0u32;
        for &d in digits {
            let v = char::from(d).to_digit(16).ok_or_else(|| {
                "Unexpected character: expected a hex-digit for character escape sequence".to_owned()
            })?;
            value = value * 16 + v;
        }
        Ok(value)
    }

    fn skip_ws(&mut self) {
        let bytes = self.src.as_bytes();
        while bytes.get(self.pos).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn unexpected(&self, what: &str) -> String {
        let c = self.src[self.pos..].chars().next().unwrap_or('?');
        format!("Unexpected character ('{c}' (code {})): {what}", u32::from(c))
    }

    fn unrecognized_token(&self) -> String {
        let word: String =
            self.src[self.pos..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').take(256).collect();
        format!(
            "Unrecognized token '{word}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )
    }

    fn end_of_input(&self) -> String {
        match self.stack.last() {
            Some(true) => "Unexpected end-of-input: expected close marker for Object".to_owned(),
            Some(false) => "Unexpected end-of-input: expected close marker for Array".to_owned(),
            None => "No content to map due to end-of-input".to_owned(),
        }
    }
}

fn control_character(b: u8) -> String {
    format!(
        "Illegal unquoted character ((CTRL-CHAR, code {b})): has to be escaped using backslash to be included in string value"
    )
}

/// A parsed JSON document that keeps number text, key order and duplicate keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// How Jackson names the token a value starts with, for messages that quote it.
    pub(crate) fn token_text(&self) -> Cow<'_, str> {
        match self {
            Json::Null => "null".into(),
            Json::Bool(true) => "true".into(),
            Json::Bool(false) => "false".into(),
            Json::Number(n) => (*n).into(),
            Json::String(s) => s.as_ref().into(),
            Json::Array(_) => "[".into(),
            Json::Object(_) => "{".into(),
        }
    }
}

/// Reads a whole document into a tree (used for patterns, which are small).
pub(crate) fn parse(src: &str) -> Result<Json<'_>, String> {
    let mut tokens = Tokens::new(src);
    let first = tokens.next_token()?.ok_or_else(|| "No content to map due to end-of-input".to_owned())?;
    let value = build(&mut tokens, first)?;
    match tokens.next_token()? {
        None => Ok(value),
        Some(_) => Err("Unexpected content after the end of the document".to_owned()),
    }
}

fn build<'a>(tokens: &mut Tokens<'a>, token: Token<'a>) -> Result<Json<'a>, String> {
    // Recursion depth is bounded by MAX_DEPTH, which the tokenizer enforces.
    Ok(match token {
        Token::Null => Json::Null,
        Token::Bool(b) => Json::Bool(b),
        Token::Number(n) => Json::Number(n),
        Token::String(s) => Json::String(s),
        Token::BeginArray => {
            let mut items = Vec::new();
            loop {
                match tokens.next_token()?.ok_or("truncated array")? {
                    Token::EndArray => break Json::Array(items),
                    t => items.push(build(tokens, t)?),
                }
            }
        }
        Token::BeginObject => {
            let mut entries = Vec::new();
            loop {
                match tokens.next_token()?.ok_or("truncated object")? {
                    Token::EndObject => break Json::Object(entries),
                    Token::Key(k) => {
                        let t = tokens.next_token()?.ok_or("truncated object")?;
                        entries.push((k, build(tokens, t)?));
                    }
                    other => return Err(format!("unexpected token {other:?}")),
                }
            }
        }
        other => return Err(format!("unexpected token {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(src: &str) -> String {
        match parse(src).expect(src) {
            Json::String(s) => s.into_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        assert!(matches!(parse(r#""plain""#), Ok(Json::String(Cow::Borrowed("plain")))));
        assert_eq!(text(r#""a\"b\\c\/d\n\t""#), "a\"b\\c/d\n\t");
        assert_eq!(text(r#""\u00e9t\u00E9""#), "été");
        assert_eq!(text(r#""\ud83d\ude00 ok""#), "😀 ok");
        assert_eq!(text(r#""\ud83d x""#), "\u{FFFD} x");
        assert!(parse(r#""\x""#).is_err());
        assert!(parse("\"a\u{1}\"").is_err());
        assert!(parse(r#""\u12""#).is_err());
    }

    #[test]
    fn numbers_keep_their_text_and_follow_the_grammar() {
        assert_eq!(parse("-0.50e+3"), Ok(Json::Number("-0.50e+3")));
        for bad in ["01", "+1", ".5", "1.", "1e", "-", "NaN", "1.e5"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn objects_keep_order_and_duplicates() {
        let Ok(Json::Object(entries)) = parse(r#"{"b":1,"a":2,"b":3}"#) else { panic!("object") };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
    }
}
