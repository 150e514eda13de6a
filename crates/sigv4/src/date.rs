//! The two timestamp shapes SigV4 meets: ISO 8601 basic (`20150830T123600Z`, in `X-Amz-Date`
//! and the string to sign) and the HTTP `Date` header (`Sun, 30 Aug 2015 12:36:00 GMT`).
//!
//! Parsed by hand rather than with format descriptions so that the accepted shapes are exactly
//! these and nothing the `time` crate happens to be lenient about.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Parses `YYYYMMDDTHHMMSSZ`, the only shape AWS accepts in `X-Amz-Date`.
pub(crate) fn parse_basic(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[4..6])?;
    let day = digits(&b[6..8])?;
    let hour = digits(&b[9..11])?;
    let minute = digits(&b[11..13])?;
    let second = digits(&b[13..15])?;
    assemble(year, month, day, hour, minute, second)
}

/// Parses the IMF-fixdate of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`), the shape every HTTP
/// client sends in `Date`. The weekday is not checked: AWS signs the string, not the weekday.
pub(crate) fn parse_http(s: &str) -> Option<OffsetDateTime> {
    let mut words = s.split_ascii_whitespace();
    let weekday = words.next()?;
    if !weekday.ends_with(',') {
        return None;
    }
    let day = digits(words.next()?.as_bytes())?;
    let month = match words.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = digits(words.next()?.as_bytes())?;
    let clock = words.next()?.as_bytes();
    if clock.len() != 8 || clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (digits(&clock[0..2])?, digits(&clock[3..5])?, digits(&clock[6..8])?);
    if words.next()? != "GMT" || words.next().is_some() {
        return None;
    }
    assemble(year, month, day, hour, minute, second)
}

/// `20150830T123600Z`. Fractions of a second are dropped, as AWS does when it prints times.
pub fn basic(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2015-08-30T12:36:00Z`, the shape of S3's `ServerTime` and `Expires` error fields.
pub(crate) fn extended(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')))
}

fn assemble(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<OffsetDateTime> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time =
        Time::from_hms(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?)
            .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}
