//! Schedule expressions, sans IO: `at(yyyy-mm-ddThh:mm:ss)`, `rate(n unit)` and the six-field
//! `cron(minutes hours day-of-month month day-of-week year)`, evaluated in the schedule's IANA
//! time zone. [`Expression::first`] and [`Expression::next_after`] answer when a schedule fires;
//! the worker asks them with the service's clock, so tests drive time.
//!
//! Daylight saving time follows Scheduler's documented rules: a cron time that does not exist
//! (clocks spring forward) is skipped, a cron time that exists twice (clocks fall back) fires
//! once, at its first occurrence; a rate counts fixed durations, whatever the wall clock does;
//! an `at()` time inside a gap fires at the first instant after the gap.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

const MINUTE_MS: i64 = 60_000;
const FIRST_YEAR: i16 = 1970;
const LAST_YEAR: i16 = 2199;
/// How far ahead a cron search looks: a schedule that fires at all does so within a few years,
/// unless its year field points further; the bound keeps a search over `cron(0 0 31 2 ? *)`
/// finite.
const SEARCH_DAYS: usize = 366 * 30;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    day_of_month: DayOfMonth,
    /// Index 1 = January.
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
    NearestWeekday(i8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    /// Index 1 = Sunday … 7 = Saturday.
    Days(Vec<bool>),
    /// `6L`: the last such weekday of the month.
    Last(i8),
    /// `2#1`: the n-th such weekday of the month.
    Nth(i8, i8),
}

const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

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

fn inside<'a>(expr: &'a str, open: &str) -> Option<&'a str> {
    expr.strip_prefix(open)?.strip_suffix(')')
}

/// `yyyy-mm-ddThh:mm:ss`, exactly.
fn parse_at(body: &str) -> Option<DateTime> {
    let b = body.as_bytes();
    let shape_ok = b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b.iter().enumerate().all(|(i, c)| [4, 7, 10, 13, 16].contains(&i) || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| body.get(r)?.parse::<i16>().ok();
    let year = num(0..4)?;
    let small = |r| num(r).and_then(|n| i8::try_from(n).ok());
    DateTime::new(year, small(5..7)?, small(8..10)?, small(11..13)?, small(14..16)?, small(17..19)?, 0).ok()
}

/// `N minute(s)|hour(s)|day(s)`, the unit singular exactly when N is 1.
fn parse_rate(body: &str) -> Option<i64> {
    let (n, unit) = body.split_once(' ')?;
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = n.parse().ok()?;
    let unit_ms = match (unit, n == 1) {
        ("minute", true) | ("minutes", false) => MINUTE_MS,
        ("hour", true) | ("hours", false) => 60 * MINUTE_MS,
        ("day", true) | ("days", false) => 24 * 60 * MINUTE_MS,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// A wall-clock time in `tz` as an instant; a time inside a gap moves past the gap.
fn at_instant(dt: DateTime, tz: &TimeZone) -> Option<i64> {
    tz.to_ambiguous_timestamp(dt).compatible().ok().map(Timestamp::as_millisecond)
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
            d if d.len() > 1 && d.ends_with('W') => {
                let n: i8 = number(&d[..d.len() - 1])?.try_into().ok()?;
                (1..=31).contains(&n).then_some(DayOfMonth::NearestWeekday(n))?
            }
            d => DayOfMonth::Days(members(d, 1, 31, &[])?),
        };
        let day_of_week = match *dow {
            "?" => DayOfWeek::Any,
            d if d.len() > 1 && d.ends_with('L') => DayOfWeek::Last(weekday(&d[..d.len() - 1])?),
            d if d.contains('#') => {
                let (day, n) = d.split_once('#')?;
                let n: i8 = number(n)?.try_into().ok()?;
                (1..=5).contains(&n).then_some(DayOfWeek::Nth(weekday(day)?, n))?
            }
            d => DayOfWeek::Days(members(d, 1, 7, &DAYS)?),
        };
        let years = members(year, FIRST_YEAR as u16, LAST_YEAR as u16, &[])?.split_off(FIRST_YEAR as usize);
        Some(Cron {
            minutes: members(minutes, 0, 59, &[])?,
            hours: members(hours, 0, 23, &[])?,
            day_of_month,
            months: members(month, 1, 12, &MONTHS)?,
            day_of_week,
            years,
        })
    }

    /// The first matching wall-clock minute strictly after `after_ms` that exists in `tz`.
    fn next_after(&self, after_ms: i64, tz: &TimeZone) -> Option<i64> {
        let start_ms = (after_ms.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
        let start = tz.to_datetime(Timestamp::from_millisecond(start_ms).ok()?);
        // Across a fall-back the local clock repeats an hour; the search walks local times from
        // `start` and skips any that map to an instant not after `after_ms`.
        let mut date = start.date();
        let (mut from_hour, mut from_minute) = (start.hour(), start.minute());
        for _ in 0..SEARCH_DAYS {
            if self.day_matches(date) {
                for hour in from_hour..24 {
                    if !self.hours[hour as usize] {
                        continue;
                    }
                    let first = if hour == from_hour { from_minute } else { 0 };
                    for minute in first..60 {
                        if !self.minutes[minute as usize] {
                            continue;
                        }
                        let dt = date.at(hour, minute, 0, 0);
                        let ambiguous = tz.to_ambiguous_timestamp(dt);
                        if matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
                            continue;
                        }
                        let Ok(ts) = ambiguous.earlier() else { continue };
                        let ms = ts.as_millisecond();
                        if ms > after_ms {
                            return Some(ms);
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
            (from_hour, from_minute) = (0, 0);
        }
        None
    }

    fn day_matches(&self, date: Date) -> bool {
        let year = usize::try_from(date.year() - FIRST_YEAR).unwrap_or(usize::MAX);
        if !self.years.get(year).copied().unwrap_or(false) || !self.months[date.month() as usize] {
            return false;
        }
        let day = date.day();
        let last = date.days_in_month();
        let dom = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(days) => days[day as usize],
            DayOfMonth::Last => day == last,
            DayOfMonth::LastWeekday => day == nearest_weekday(date, last),
            DayOfMonth::NearestWeekday(n) => *n <= last && day == nearest_weekday(date, *n),
        };
        let weekday = date.weekday().to_sunday_one_offset();
        let dow = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(days) => days[weekday as usize],
            DayOfWeek::Last(d) => weekday == *d && day + 7 > last,
            DayOfWeek::Nth(d, n) => weekday == *d && (day - 1) / 7 + 1 == *n,
        };
        dom && dow
    }
}

/// The weekday nearest to day `n` of `date`'s month, never leaving the month.
fn nearest_weekday(date: Date, n: i8) -> i8 {
    let Ok(target) = Date::new(date.year(), date.month(), n) else { return 0 };
    let last = date.days_in_month();
    match target.weekday().to_sunday_one_offset() {
        7 if n == 1 => 3,
        7 => n - 1,
        1 if n == last => n - 2,
        1 => n + 1,
        _ => n,
    }
}

fn weekday(text: &str) -> Option<i8> {
    let n = value(text, &DAYS, 1)?;
    i8::try_from(n).ok().filter(|n| (1..=7).contains(n))
}

fn number(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A number, or a name from `names` (the first numbered `base`).
fn value(text: &str, names: &[&str], base: u16) -> Option<u16> {
    match names.iter().position(|n| *n == text) {
        Some(i) => u16::try_from(i).ok().map(|i| i + base),
        None => number(text),
    }
}

/// A field of `*`, `a`, `a-b`, `*/s`, `a/s`, `a-b/s` items joined by commas, as a membership
/// table indexed by value (0..=max).
fn members(field: &str, min: u16, max: u16, names: &[&str]) -> Option<Vec<bool>> {
    let mut out = vec![false; usize::from(max) + 1];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, number(s).filter(|s| *s > 0)?),
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
            let Some(n) = v.checked_add(step) else { break };
            v = n;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
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
