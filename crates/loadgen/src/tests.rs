//! Tests of the command-line value parsers.

use std::time::Duration;

use crate::parse_duration;

#[test]
fn durations() {
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    assert!(parse_duration("10h").is_err());
    assert!(parse_duration("-1s").is_err());
    assert!(parse_duration("fast").is_err());
}
