//! AWS schedule expressions, sans IO: `at(yyyy-mm-ddThh:mm:ss)`, `rate(n unit)` and the
//! six-field `cron(minutes hours day-of-month month day-of-week year)` with `, - * / ? L W #`,
//! evaluated in an IANA time zone (EventBridge rules use UTC; Scheduler the schedule's zone).
//! Both services ask [`Cron::next_after`] with their own clock, so tests drive time.
//!
//! Daylight saving time follows Scheduler's documented rules: a cron time that does not exist
//! (clocks spring forward) is skipped, a cron time that exists twice (clocks fall back) fires
//! once, at its first occurrence; an `at()` time inside a gap fires at the first instant after
//! the gap.

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

/// A parsed `cron()` body.
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

/// The text between `open` (e.g. `cron(`) and the closing parenthesis of `expr`.
pub fn inside<'a>(expr: &'a str, open: &str) -> Option<&'a str> {
    expr.strip_prefix(open)?.strip_suffix(')')
}

/// `yyyy-mm-ddThh:mm:ss`, exactly.
pub fn parse_at(body: &str) -> Option<DateTime> {
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

/// `N minute(s)|hour(s)|day(s)` as milliseconds, the unit singular exactly when N is 1.
pub fn parse_rate(body: &str) -> Option<i64> {
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
pub fn at_instant(dt: DateTime, tz: &TimeZone) -> Option<i64> {
    tz.to_ambiguous_timestamp(dt).compatible().ok().map(Timestamp::as_millisecond)
}

impl Cron {
    /// Reads the six fields inside `cron(...)`; `None` when AWS would refuse them.
    pub fn parse(body: &str) -> Option<Cron> {
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
    pub fn next_after(&self, after_ms: i64, tz: &TimeZone) -> Option<i64> {
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

    fn next(body: &str, zone: &str, after: &str) -> String {
        let cron = Cron::parse(body).unwrap_or_else(|| panic!("{body} parses"));
        let tz = TimeZone::get(zone).expect("zone in the bundled database");
        let after = after.parse::<Timestamp>().expect("RFC 3339").as_millisecond();
        let ms = cron.next_after(after, &tz).expect("fires");
        Timestamp::from_millisecond(ms).expect("in range").to_string()
    }

    #[test]
    fn fields_parse_as_aws_accepts_them() {
        for good in [
            "0 12 * * ? *",
            "15 10 ? * 6L 2019-2022",
            "0/15 * * * ? *",
            "0 18 ? * MON-FRI *",
            "0 9 ? * 2#1 *",
            "0 0 LW * ? *",
            "0 0 15W * ? *",
        ] {
            assert!(Cron::parse(good).is_some(), "{good}");
        }
        for bad in [
            "0 1 * * * *",
            "0 1 ? * ? *",
            "0 25 * * ? *",
            "0 1 * * ?",
            "0/0 * * * ? *",
            "0 1 ? * 8 *",
            "0 0 32W * ? *",
            "0 0 ? * 2#6 *",
            "0 0 1 * ? 1969",
        ] {
            assert_eq!(Cron::parse(bad), None, "{bad}");
        }
        assert_eq!(parse_rate("5 minutes"), Some(300_000));
        assert_eq!(parse_rate("1 minutes"), None);
        assert_eq!(inside("cron(0 12 * * ? *)", "cron("), Some("0 12 * * ? *"));
        assert_eq!(inside("cron(0 12 * * ? *", "cron("), None);
    }

    #[test]
    fn last_weekday_and_nearest_weekday_stay_in_the_month() {
        // 2026-01-31 is a Saturday: the last weekday is Friday the 30th.
        assert_eq!(next("0 0 LW * ? *", "UTC", "2026-01-15T00:00:00Z"), "2026-01-30T00:00:00Z");
        // 2026-08-01 is a Saturday: 1W is Monday the 3rd, not July 31st.
        assert_eq!(next("0 0 1W * ? *", "UTC", "2026-07-15T00:00:00Z"), "2026-08-03T00:00:00Z");
        // The third Friday of March 2026 is the 20th; the last Friday the 27th.
        assert_eq!(next("0 9 ? * 6#3 *", "UTC", "2026-03-01T00:00:00Z"), "2026-03-20T09:00:00Z");
        assert_eq!(next("0 9 ? * 6L *", "UTC", "2026-03-01T00:00:00Z"), "2026-03-27T09:00:00Z");
    }
}
