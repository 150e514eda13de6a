//! Pagination tokens. Every token is opaque to clients but self-describing to us, so paging
//! needs no server-side state: it names the last item a page returned (or, for GetLogEvents,
//! the position a direction resumes at) and a malformed one is `The specified nextToken is
//! invalid.` rather than a silent restart.

use crate::error::{self, Error};
use crate::model::Position;

/// Which way a GetLogEvents token pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// GetLogEvents' `f/…/s` and `b/…/s` tokens, shaped like AWS's: a direction, 40 digits (the
/// timestamp and seq of the position, 20 digits each), and `/s`. The same position always
/// gives the same string, which is how a client sees "no more events": the token it sent
/// comes back.
pub fn stream_token(direction: Direction, at: Position) -> String {
    let d = match direction {
        Direction::Forward => 'f',
        Direction::Backward => 'b',
    };
    format!("{d}/{:020}{:020}/s", at.timestamp, at.seq)
}

pub fn parse_stream_token(token: &str) -> Result<(Direction, Position), Error> {
    let (direction, rest) = match token.split_at_checked(2) {
        Some(("f/", rest)) => (Direction::Forward, rest),
        Some(("b/", rest)) => (Direction::Backward, rest),
        _ => return Err(error::invalid_token()),
    };
    let digits = rest.strip_suffix("/s").ok_or_else(error::invalid_token)?;
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error::invalid_token());
    }
    let number = |s: &str| s.parse::<u64>().map_err(|_| error::invalid_token());
    Ok((direction, Position { timestamp: number(&digits[..20])?, seq: number(&digits[20..])? }))
}

/// A list token: the hex of the last name a page returned, so the next page starts after it.
pub fn after_name(name: &str) -> String {
    hex::encode(name)
}

pub fn parse_after_name(token: &str) -> Result<String, Error> {
    hex::decode(token).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(error::invalid_token)
}

/// FilterLogEvents' token: the last event returned, as (timestamp, stream name, seq), which is
/// the order events interleave in.
pub fn filter_token(timestamp: u64, stream: &str, seq: u64) -> String {
    format!("{timestamp}-{seq}-{}", hex::encode(stream))
}

pub fn parse_filter_token(token: &str) -> Result<(u64, String, u64), Error> {
    let mut parts = token.splitn(3, '-');
    let mut next = || parts.next().ok_or_else(error::invalid_token);
    let timestamp = next()?.parse().map_err(|_| error::invalid_token())?;
    let seq = next()?.parse().map_err(|_| error::invalid_token())?;
    let stream = parse_after_name(next()?)?;
    Ok((timestamp, stream, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_tokens_round_trip_and_look_like_aws() {
        let at = Position { timestamp: 1_700_000_000_000, seq: 7 };
        let t = stream_token(Direction::Forward, at);
        assert!(t.starts_with("f/") && t.ends_with("/s") && t.len() == 44);
        assert_eq!(parse_stream_token(&t).expect("valid"), (Direction::Forward, at));
        let b = stream_token(Direction::Backward, Position::MAX);
        assert_eq!(parse_stream_token(&b).expect("valid"), (Direction::Backward, Position::MAX));
    }

    #[test]
    fn bad_tokens_are_refused() {
        for t in ["", "f/", "x/0000/s", "f/123/s", "f/0000000000000000000a0000000000000000000/s", "f/é"] {
            assert!(parse_stream_token(t).is_err(), "{t:?}");
        }
        assert!(parse_after_name("zz").is_err());
        assert!(parse_filter_token("1-2").is_err());
        assert!(parse_filter_token("a-2-61").is_err());
        assert_eq!(parse_filter_token(&filter_token(5, "s-1", 3)).expect("valid"), (5, "s-1".to_owned(), 3));
    }
}
