//! Schedule expressions as Scheduler reads them, sans IO: `at(yyyy-mm-ddThh:mm:ss)`,
//! `rate(n unit)` and the six-field `cron(...)`, evaluated in the schedule's IANA time zone.
//! [`Expression::first`] and [`Expression::next_after`] answer when a schedule fires; the worker
//! asks them with the service's clock, so tests drive time.
//!
//! The expressions themselves (and daylight saving time) are `schedule-expr`'s; this module adds
//! what only Scheduler has: one-time `at()` schedules and rates anchored at a StartDate. A rate
//! counts fixed durations, whatever the wall clock does.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use schedule_expr::{Cron, at_instant, inside, parse_at, parse_rate};

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expression {
    /// A one-time schedule: this wall-clock time in the schedule's zone.
    At(DateTime),
    /// Every `every_ms`, counted from the schedule's anchor (its StartDate, or when it was
    /// created or last updated).
    Rate {
        every_ms: i64,
    },
    Cron(Box<Cron>),
}

impl Expression {
    /// Reads an expression; `None` is Scheduler's `Invalid Schedule Expression …`.
    pub fn parse(expr: &str) -> Option<Expression> {
        if let Some(body) = inside(expr, "at(") {
            return parse_at(body).map(Expression::At);
        }
        if let Some(body) = inside(expr, "rate(") {
            return parse_rate(body).map(|every_ms| Expression::Rate { every_ms });
        }
        let body = inside(expr, "cron(")?;
        Cron::parse(body).map(|c| Expression::Cron(Box::new(c)))
    }

    pub fn is_one_time(&self) -> bool {
        matches!(self, Expression::At(_))
    }

    /// The first firing at or after `from_ms` (Unix ms) for a rate (counting from `anchor_ms`),
    /// strictly after it for a cron; the `at()` time itself for a one-time schedule, wherever it
    /// lies (the caller decides what a past one means).
    pub fn first(&self, from_ms: i64, anchor_ms: i64, tz: &TimeZone) -> Option<i64> {
        match self {
            Expression::At(dt) => at_instant(*dt, tz),
            Expression::Rate { every_ms } => {
                if from_ms <= anchor_ms {
                    Some(anchor_ms)
                } else {
                    self.next_after(from_ms - 1, anchor_ms, tz).filter(|_| *every_ms > 0)
                }
            }
            Expression::Cron(c) => c.next_after(from_ms, tz),
        }
    }

    /// The first firing strictly after `after_ms`; `None` for a one-time schedule or a cron that
    /// never matches again.
    pub fn next_after(&self, after_ms: i64, anchor_ms: i64, tz: &TimeZone) -> Option<i64> {
        match self {
            Expression::At(_) => None,
            Expression::Rate { every_ms } => {
                if after_ms < anchor_ms {
                    return Some(anchor_ms);
                }
                let periods = (after_ms - anchor_ms).div_euclid(*every_ms) + 1;
                anchor_ms.checked_add(periods.checked_mul(*every_ms)?)
            }
            Expression::Cron(c) => c.next_after(after_ms, tz),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("zone in the bundled database")
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().expect("RFC 3339").as_millisecond()
    }

    fn show(ms: i64) -> String {
        Timestamp::from_millisecond(ms).expect("in range").to_string()
    }

    fn next(expr: &str, zone: &str, after: &str) -> String {
        let e = Expression::parse(expr).unwrap_or_else(|| panic!("{expr} parses"));
        show(e.next_after(ms(after), 0, &tz(zone)).expect("fires"))
    }

    #[test]
    fn at_rate_and_cron_parse_as_scheduler_accepts_them() {
        for good in [
            "at(2024-05-01T12:00:00)",
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(2 days)",
            "cron(0 12 * * ? *)",
            "cron(15 10 ? * 6L 2019-2022)",
            "cron(0/15 * * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 15W * ? *)",
        ] {
            assert!(Expression::parse(good).is_some(), "{good}");
        }
        for bad in [
            "at(2024-05-01 12:00:00)",
            "at(2024-5-01T12:00:00)",
            "at(2024-02-30T12:00:00)",
            "at(2024-05-01T24:00:00)",
            "rate(10 seconds)",
            "rate(1 minutes)",
            "rate(10 minute)",
            "rate(0 minutes)",
            "rate(-1 minutes)",
            "rate(01 minutes)",
            "cron(0 1 * * * *)",
            "cron(0 1 ? * ? *)",
            "cron(0 25 * * ? *)",
            "cron(0 1 * * ?)",
            "cron(0/0 * * * ? *)",
            "cron(0 1 ? * 8 *)",
            "every 5 minutes",
            "",
        ] {
            assert_eq!(Expression::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn at_is_read_in_the_schedules_zone() {
        let e = Expression::parse("at(2024-07-01T09:30:00)").expect("parses");
        assert_eq!(show(e.first(0, 0, &TimeZone::UTC).expect("t")), "2024-07-01T09:30:00Z");
        // New York is UTC-4 in summer, Tokyo UTC+9 all year.
        assert_eq!(show(e.first(0, 0, &tz("America/New_York")).expect("t")), "2024-07-01T13:30:00Z");
        assert_eq!(show(e.first(0, 0, &tz("Asia/Tokyo")).expect("t")), "2024-07-01T00:30:00Z");
        assert_eq!(e.next_after(0, 0, &TimeZone::UTC), None, "a one-time schedule fires once");
        // 02:30 does not exist on 2024-03-10 in New York: it fires right after the gap.
        let gap = Expression::parse("at(2024-03-10T02:30:00)").expect("parses");
        assert_eq!(show(gap.first(0, 0, &tz("America/New_York")).expect("t")), "2024-03-10T07:30:00Z");
    }

    #[test]
    fn a_rate_counts_from_its_anchor() {
        let e = Expression::parse("rate(5 minutes)").expect("parses");
        let utc = TimeZone::UTC;
        let anchor = ms("2024-05-01T12:00:00Z");
        assert_eq!(e.first(anchor, anchor, &utc), Some(anchor), "fires at once without a StartDate");
        assert_eq!(e.first(anchor - 10_000, anchor, &utc), Some(anchor), "waits for a later StartDate");
        assert_eq!(show(e.first(anchor + 1, anchor, &utc).expect("t")), "2024-05-01T12:05:00Z");
        assert_eq!(show(e.next_after(anchor, anchor, &utc).expect("t")), "2024-05-01T12:05:00Z");
        assert_eq!(show(e.next_after(anchor + 299_999, anchor, &utc).expect("t")), "2024-05-01T12:05:00Z");
        // A day is 24 hours even when DST makes the calendar day 23 hours long.
        let day = Expression::parse("rate(1 day)").expect("parses");
        let start = ms("2024-03-09T12:00:00-05:00");
        assert_eq!(
            show(day.next_after(start, start, &tz("America/New_York")).expect("t")),
            "2024-03-10T17:00:00Z"
        );
    }

    #[test]
    fn cron_next_fire_times_in_utc() {
        let at = "2024-05-01T12:00:30Z"; // a Wednesday
        assert_eq!(next("cron(0 12 * * ? *)", "UTC", at), "2024-05-02T12:00:00Z");
        assert_eq!(next("cron(0/15 * * * ? *)", "UTC", at), "2024-05-01T12:15:00Z");
        assert_eq!(next("cron(0 18 ? * MON-FRI *)", "UTC", at), "2024-05-01T18:00:00Z");
        assert_eq!(next("cron(0 9 ? * SAT *)", "UTC", at), "2024-05-04T09:00:00Z");
        assert_eq!(next("cron(0 0 L * ? *)", "UTC", at), "2024-05-31T00:00:00Z");
        assert_eq!(next("cron(0 0 L FEB ? *)", "UTC", at), "2025-02-28T00:00:00Z");
        // 2024-06-01 is a Saturday: 1W is Monday the 3rd.
        assert_eq!(next("cron(0 0 1W JUN ? *)", "UTC", at), "2024-06-03T00:00:00Z");
        assert_eq!(next("cron(0 9 ? JUN 2#1 *)", "UTC", at), "2024-06-03T09:00:00Z");
        assert_eq!(next("cron(0 9 ? * 6L *)", "UTC", at), "2024-05-31T09:00:00Z");
        assert_eq!(next("cron(0 9 1 1 ? 2030)", "UTC", at), "2030-01-01T09:00:00Z");
        let past = Expression::parse("cron(0 9 1 1 ? 2020)").expect("parses");
        assert_eq!(past.next_after(ms(at), 0, &TimeZone::UTC), None);
    }

    #[test]
    fn cron_follows_the_zone_and_its_daylight_saving_time() {
        // 08:00 in New York is 13:00Z in winter and 12:00Z in summer.
        assert_eq!(
            next("cron(0 8 * * ? *)", "America/New_York", "2024-01-15T00:00:00Z"),
            "2024-01-15T13:00:00Z"
        );
        assert_eq!(
            next("cron(0 8 * * ? *)", "America/New_York", "2024-07-15T00:00:00Z"),
            "2024-07-15T12:00:00Z"
        );
        assert_eq!(
            next("cron(30 9 * * ? *)", "Asia/Kolkata", "2024-07-15T00:00:00Z"),
            "2024-07-15T04:00:00Z"
        );
        // Spring forward: 02:30 does not exist on 2024-03-10, so that day is skipped.
        assert_eq!(
            next("cron(30 2 * * ? *)", "America/New_York", "2024-03-09T08:00:00Z"),
            "2024-03-11T06:30:00Z"
        );
        // Fall back: 01:30 happens twice on 2024-11-03; the schedule fires once, the first time.
        let first = next("cron(30 1 * * ? *)", "America/New_York", "2024-11-03T04:00:00Z");
        assert_eq!(first, "2024-11-03T05:30:00Z");
        assert_eq!(
            next("cron(30 1 * * ? *)", "America/New_York", "2024-11-03T05:30:00Z"),
            "2024-11-04T06:30:00Z",
            "the repeated 01:30 does not fire again"
        );
        // Every 15 minutes across the fall-back hour: the repeated hour does not fire again.
        let e = Expression::parse("cron(0/15 * * * ? *)").expect("parses");
        let ny = tz("America/New_York");
        let mut t = ms("2024-11-03T05:50:00Z");
        let mut seen = Vec::new();
        for _ in 0..6 {
            t = e.next_after(t, 0, &ny).expect("fires");
            seen.push(show(t));
        }
        assert_eq!(
            seen,
            [
                "2024-11-03T07:00:00Z",
                "2024-11-03T07:15:00Z",
                "2024-11-03T07:30:00Z",
                "2024-11-03T07:45:00Z",
                "2024-11-03T08:00:00Z",
                "2024-11-03T08:15:00Z"
            ]
        );
    }
}
