//! The tokens of DynamoDB's expression languages, and syntax errors quoted as DynamoDB quotes
//! them (`token: "…", near: "…"`).
//!
//! The whole expression is tokenized up front: expressions are at most 4 KB, and having every
//! token at hand makes the `near` text (previous token through next token) trivial.

use crate::{Error, ExpressionKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A name or keyword: `[A-Za-z_][A-Za-z0-9_]*`.
    Ident,
    /// `#name`.
    Name,
    /// `:value`.
    Value,
    /// Digits, only meaningful as a list index.
    Int,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character that starts no token.
    Unknown,
    Eof,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let word_end = |from: usize| from + bytes[from..].iter().take_while(|&&c| is_word(c)).count();
        let (tok, end) = match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => (Tok::Ident, word_end(i)),
            b'#' => (Tok::Name, word_end(i + 1)),
            b':' => (Tok::Value, word_end(i + 1)),
            b'0'..=b'9' => (Tok::Int, i + bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count()),
            b'(' => (Tok::LParen, i + 1),
            b')' => (Tok::RParen, i + 1),
            b'[' => (Tok::LBracket, i + 1),
            b']' => (Tok::RBracket, i + 1),
            b',' => (Tok::Comma, i + 1),
            b'.' => (Tok::Dot, i + 1),
            b'+' => (Tok::Plus, i + 1),
            b'-' => (Tok::Minus, i + 1),
            b'=' => (Tok::Eq, i + 1),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (Tok::Ne, i + 2),
                Some(b'=') => (Tok::Le, i + 2),
                _ => (Tok::Lt, i + 1),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (Tok::Ge, i + 2),
                _ => (Tok::Gt, i + 1),
            },
            _ => {
                // One whole character, so that the quoted token stays valid UTF-8.
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                (Tok::Unknown, i + len)
            }
        };
        out.push(Token { tok, start, end });
        i = end;
    }
    out.push(Token { tok: Tok::Eof, start: src.len(), end: src.len() });
    out
}

/// The syntax error DynamoDB reports at token `at`: the token's text (`<EOF>` at the end) and
/// the source from the previous token's start through the next token's end.
pub(crate) fn syntax_error(kind: ExpressionKind, src: &str, tokens: &[Token], at: usize) -> Error {
    let at = at.min(tokens.len().saturating_sub(1));
    let current = tokens[at];
    let token = match current.tok {
        Tok::Eof => "<EOF>".to_owned(),
        _ => src[current.start..current.end].to_owned(),
    };
    let from = if at > 0 { tokens[at - 1].start } else { current.start };
    let to = match tokens.get(at + 1) {
        Some(next) if next.tok != Tok::Eof => next.end,
        _ => src.len(),
    };
    let to = if current.tok == Tok::Eof { src.len() } else { to };
    Error::Syntax { kind, token, near: src[from..to].to_owned() }
}
