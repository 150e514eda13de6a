//! The timestamp spellings AWS APIs write, from Unix milliseconds: every service formats the
//! same few shapes, so they live here once.

use time::OffsetDateTime;

fn utc(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-05-01T12:00:03Z` (EventBridge's `time`, S3's `ServerTime`).
pub fn iso_seconds(ms: i64) -> String {
    let t = utc(ms);
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

/// `2024-05-01T12:00:03.013` followed by `zone`: `Z` (Lambda destination records) or `+0000`
/// (Lambda's `LastModified`).
pub fn iso_millis(ms: i64, zone: &str) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(iso_seconds(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(iso_millis(1_700_000_000_123, "+0000"), "2023-11-14T22:13:20.123+0000");
        assert_eq!(iso_millis(-1, "Z"), "1969-12-31T23:59:59.999Z");
    }
}
