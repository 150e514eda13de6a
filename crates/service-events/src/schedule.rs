//! Schedule expressions of scheduled rules, sans IO: `rate(N unit)` and AWS's six-field
//! `cron(...)` (parsed and searched by `schedule-expr`), in UTC, at one-minute granularity.
//! [`Schedule::next_after`] answers when a rule fires next; the scheduler in `queue.rs` asks it
//! with the service's clock, so tests drive time.

use jiff::tz::TimeZone;
use schedule_expr::{Cron, inside, parse_rate};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Fires every `every_ms`, counted from the rule's creation.
    Rate {
        every_ms: i64,
    },
    Cron(Box<Cron>),
}

impl Schedule {
    /// Reads an expression; `None` is AWS's `Parameter ScheduleExpression is not valid.`
    pub fn parse(expr: &str) -> Option<Schedule> {
        if let Some(body) = inside(expr, "rate(") {
            return parse_rate(body).map(|every_ms| Schedule::Rate { every_ms });
        }
        Cron::parse(inside(expr, "cron(")?).map(|c| Schedule::Cron(Box::new(c)))
    }

    /// The first firing strictly after `after_ms` (Unix ms); a rate counts from `anchor_ms`.
    pub fn next_after(&self, after_ms: i64, anchor_ms: i64) -> Option<i64> {
        match self {
            Schedule::Rate { every_ms } => {
                let periods = (after_ms - anchor_ms).div_euclid(*every_ms) + 1;
                Some(anchor_ms.saturating_add(periods.max(1).saturating_mul(*every_ms)))
            }
            Schedule::Cron(c) => c.next_after(after_ms, &TimeZone::UTC),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;

    fn ms(t: OffsetDateTime) -> i64 {
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).expect("fits")
    }

    fn next(expr: &str, after: OffsetDateTime) -> OffsetDateTime {
        let s = Schedule::parse(expr).unwrap_or_else(|| panic!("{expr} parses"));
        let n = s.next_after(ms(after), 0).expect("fires");
        OffsetDateTime::from_unix_timestamp(n / 1000).expect("time")
    }

    #[test]
    fn rates_parse_as_aws_accepts_them() {
        assert_eq!(Schedule::parse("rate(1 minute)"), Some(Schedule::Rate { every_ms: 60_000 }));
        assert_eq!(Schedule::parse("rate(5 minutes)"), Some(Schedule::Rate { every_ms: 300_000 }));
        assert_eq!(Schedule::parse("rate(2 days)"), Some(Schedule::Rate { every_ms: 172_800_000 }));
        // LocalStack's AWS-validated invalid expressions.
        for bad in [
            "rate(10 seconds)",
            "rate(1 minutes)",
            "rate(10 minute)",
            "rate(0 minutes)",
            "rate(10 MINUTES)",
            "rate( 10 minutes )",
            " rate(10 minutes)",
            "rate(-1 minutes)",
            "rate(01 minutes)",
        ] {
            assert_eq!(Schedule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_rate_counts_from_its_anchor() {
        let s = Schedule::Rate { every_ms: 60_000 };
        assert_eq!(s.next_after(1_000, 1_000), Some(61_000));
        assert_eq!(s.next_after(60_999, 1_000), Some(61_000));
        assert_eq!(s.next_after(61_000, 1_000), Some(121_000));
    }

    #[test]
    fn crons_parse_as_aws_accepts_them() {
        for good in [
            "cron(0 12 * * ? *)",
            "cron(15 10 ? * 6L 2019-2022)",
            "cron(0/15 * * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 15W * ? *)",
            "cron(0 10 * JAN,JUL ? *)",
            "cron(0 0 1 1 ? 2000/65535)",
        ] {
            assert!(Schedule::parse(good).is_some(), "{good}");
        }
        for bad in [
            "cron(0 1 * * * *)",
            "cron(71 8 1 * ? *)",
            "cron(0 1 ? * ? *)",
            "cron(0 25 * * ? *)",
            "cron(0 1 * * ?)",
            "cron(0 1 * 13 ? *)",
            "cron(0 1 ? * 8 *)",
            "cron(0/0 * * * ? *)",
        ] {
            assert_eq!(Schedule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cron_next_fire_times() {
        let at = datetime!(2024-05-01 12:00:30 UTC); // a Wednesday
        assert_eq!(next("cron(0 12 * * ? *)", at), datetime!(2024-05-02 12:00 UTC));
        assert_eq!(next("cron(0/15 * * * ? *)", at), datetime!(2024-05-01 12:15 UTC));
        assert_eq!(next("cron(0 18 ? * MON-FRI *)", at), datetime!(2024-05-01 18:00 UTC));
        assert_eq!(next("cron(0 9 ? * SAT *)", at), datetime!(2024-05-04 09:00 UTC));
        assert_eq!(next("cron(0 0 L * ? *)", at), datetime!(2024-05-31 00:00 UTC));
        assert_eq!(next("cron(0 0 L FEB ? *)", at), datetime!(2025-02-28 00:00 UTC));
        // 2024-06-01 is a Saturday: 1W is Monday the 3rd.
        assert_eq!(next("cron(0 0 1W JUN ? *)", at), datetime!(2024-06-03 00:00 UTC));
        // The first Monday of June 2024 is the 3rd; the last Friday of May the 31st.
        assert_eq!(next("cron(0 9 ? JUN 2#1 *)", at), datetime!(2024-06-03 09:00 UTC));
        assert_eq!(next("cron(0 9 ? * 6L *)", at), datetime!(2024-05-31 09:00 UTC));
        assert_eq!(next("cron(0 9 1 1 ? 2030)", at), datetime!(2030-01-01 09:00 UTC));
        assert_eq!(Schedule::parse("cron(0 9 1 1 ? 2020)").and_then(|s| s.next_after(ms(at), 0)), None);
    }
}
