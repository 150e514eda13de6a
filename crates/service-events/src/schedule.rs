//! Schedule expressions of scheduled rules, sans IO: `rate(N unit)` and AWS's six-field
//! `cron(minutes hours day-of-month month day-of-week year)` with `, - * / ? L W #`, in UTC, at
//! one-minute granularity. [`Schedule::next_after`] answers when a rule fires next; the
//! scheduler in `queue.rs` asks it with the service's clock, so tests drive time.

use time::{Date, Month, OffsetDateTime, Weekday};

const MINUTE_MS: i64 = 60_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Fires every `every_ms`, counted from the rule's creation.
    Rate {
        every_ms: i64,
    },
    Cron(Box<Cron>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    day_of_month: DayOfMonth,
    months: Vec<bool>,
    day_of_week: DayOfWeek,
    /// Index 0 is 1970.
    years: Vec<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfMonth {
    Any,
    Days(Vec<bool>),
    Last,
    LastWeekday,
    NearestWeekday(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    /// Index 1 = Sunday … 7 = Saturday.
    Days(Vec<bool>),
    /// `5L`: the last such weekday of the month.
    Last(u8),
    /// `2#1`: the n-th such weekday of the month.
    Nth(u8, u8),
}

const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIRST_YEAR: u16 = 1970;
const LAST_YEAR: u16 = 2199;

impl Schedule {
    /// Reads an expression; `None` is AWS's `Parameter ScheduleExpression is not valid.`
    pub fn parse(expr: &str) -> Option<Schedule> {
        if let Some(body) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            let (n, unit) = body.split_once(' ')?;
            if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: i64 = n.parse().ok()?;
            // The unit is singular exactly when N is 1.
            let unit_ms = match (unit, n == 1) {
                ("minute", true) | ("minutes", false) => MINUTE_MS,
                ("hour", true) | ("hours", false) => 60 * MINUTE_MS,
                ("day", true) | ("days", false) => 24 * 60 * MINUTE_MS,
                _ => return None,
            };
            return Some(Schedule::Rate { every_ms: n.checked_mul(unit_ms)? });
        }
        let body = expr.strip_prefix("cron(")?.strip_suffix(')')?;
        Cron::parse(body).map(|c| Schedule::Cron(Box::new(c)))
    }

    /// The first firing strictly after `after_ms` (Unix ms); a rate counts from `anchor_ms`.
    pub fn next_after(&self, after_ms: i64, anchor_ms: i64) -> Option<i64> {
        match self {
            Schedule::Rate { every_ms } => {
                let periods = (after_ms - anchor_ms).div_euclid(*every_ms) + 1;
                Some(anchor_ms.saturating_add(periods.max(1).saturating_mul(*every_ms)))
            }
            Schedule::Cron(c) => c.next_after(after_ms),
        }
    }
}

impl Cron {
    fn parse(body: &str) -> Option<Cron> {
        let fields: Vec<&str> = body.split(' ').collect();
        let [minutes, hours, dom, month, dow, year] = fields.as_slice() else { return None };
        // Exactly one of day-of-month and day-of-week is `?`.
        if (*dom == "?") == (*dow == "?") {
            return None;
        }
        let day_of_month = match *dom {
            "?" => DayOfMonth::Any,
            "L" => DayOfMonth::Last,
            "LW" => DayOfMonth::LastWeekday,
            d if d.ends_with('W') => {
                let n: u8 = d[..d.len() - 1].parse().ok()?;
                if !(1..=31).contains(&n) {
                    return None;
                }
                DayOfMonth::NearestWeekday(n)
            }
            d => DayOfMonth::Days(set(d, 1, 31, &[])?),
        };
        let day_of_week = match *dow {
            "?" => DayOfWeek::Any,
            d if d.ends_with('L') && d.len() > 1 => DayOfWeek::Last(day_number(&d[..d.len() - 1])?),
            d if d.contains('#') => {
                let (day, n) = d.split_once('#')?;
                let n: u8 = n.parse().ok()?;
                if !(1..=5).contains(&n) {
                    return None;
                }
                DayOfWeek::Nth(day_number(day)?, n)
            }
            d => DayOfWeek::Days(set(d, 1, 7, &DAYS)?),
        };
        Some(Cron {
            minutes: set(minutes, 0, 59, &[])?,
            hours: set(hours, 0, 23, &[])?,
            day_of_month,
            months: set(month, 1, 12, &MONTHS)?,
            day_of_week,
            years: set(year, FIRST_YEAR, LAST_YEAR, &[])?.split_off(usize::from(FIRST_YEAR)),
        })
    }

    fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = (after_ms.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
        let start = OffsetDateTime::from_unix_timestamp(start / 1000).ok()?;
        let mut date = start.date();
        let (mut from_hour, mut from_minute) = (start.hour(), start.minute());
        // A schedule that matches at all matches within a few years, unless its year field
        // points far ahead; looking 30 years ahead bounds the work.
        for _ in 0..(366 * 30) {
            if self.day_matches(date) {
                for hour in from_hour..24 {
                    if !self.hours[usize::from(hour)] {
                        continue;
                    }
                    let first = if hour == from_hour { from_minute } else { 0 };
                    if let Some(minute) = (first..60).find(|m| self.minutes[usize::from(*m)]) {
                        let t = date.with_hms(hour, minute, 0).ok()?.assume_utc();
                        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
                    }
                }
            }
            date = date.next_day()?;
            (from_hour, from_minute) = (0, 0);
        }
        None
    }

    fn day_matches(&self, date: Date) -> bool {
        let year = usize::from(u16::try_from(date.year()).unwrap_or(0).saturating_sub(FIRST_YEAR));
        if !self.years.get(year).copied().unwrap_or(false)
            || !self.months[usize::from(u8::from(date.month()))]
        {
            return false;
        }
        let day = date.day();
        let last = last_day(date.year(), date.month());
        let dom = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(days) => days[usize::from(day)],
            DayOfMonth::Last => day == last,
            DayOfMonth::LastWeekday => day == nearest_weekday(date, last),
            DayOfMonth::NearestWeekday(n) => *n <= last && day == nearest_weekday(date, *n),
        };
        let weekday = date.weekday().number_from_sunday();
        let dow = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(days) => days[usize::from(weekday)],
            DayOfWeek::Last(d) => weekday == *d && day + 7 > last,
            DayOfWeek::Nth(d, n) => weekday == *d && (day - 1) / 7 + 1 == *n,
        };
        dom && dow
    }
}

fn last_day(year: i32, month: Month) -> u8 {
    time::util::days_in_month(month, year)
}

/// The weekday nearest to day `n` of `date`'s month, without leaving the month.
fn nearest_weekday(date: Date, n: u8) -> u8 {
    let Ok(target) = date.replace_day(n) else { return 0 };
    let last = last_day(date.year(), date.month());
    match target.weekday() {
        Weekday::Saturday if n == 1 => 3,
        Weekday::Saturday => n - 1,
        Weekday::Sunday if n == last => n - 2,
        Weekday::Sunday => n + 1,
        _ => n,
    }
}

fn day_number(text: &str) -> Option<u8> {
    let n = value(text, &DAYS, 1)?;
    u8::try_from(n).ok().filter(|n| (1..=7).contains(n))
}

/// A number, or a name from `names` (numbered from `base`).
fn value(text: &str, names: &[&str], base: u16) -> Option<u16> {
    if let Some(i) = names.iter().position(|n| *n == text) {
        return u16::try_from(i).ok().map(|i| i + base);
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A field of `*`, `a`, `a-b`, `*/s`, `a/s`, `a-b/s` items joined by commas, as a membership
/// table indexed by value (0..=max).
fn set(field: &str, min: u16, max: u16, names: &[&str]) -> Option<Vec<bool>> {
    let mut out = vec![false; usize::from(max) + 1];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, value(s, &[], 0).filter(|s| *s > 0)?),
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min)?, value(b, names, min)?)
        } else {
            let v = value(range, names, min)?;
            (v, if item.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return None;
        }
        let mut v = lo;
        while v <= hi {
            out[usize::from(v)] = true;
            // A huge step ends the range rather than overflowing.
            let Some(n) = v.checked_add(step) else { break };
            v = n;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
