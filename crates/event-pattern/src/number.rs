//! Number canonicalisation: when two JSON number literals are the same number, and numeric ranges.
//!
//! Ruler (≥ 1.8) compares numbers as IEEE-754 doubles, but only numbers a double holds
//! *exactly*: a literal is comparable when its decimal value equals the shortest decimal form of
//! the nearest double (`0.1`, `300.0`, `3e2`, `1e300` are; `0.30000000000000001` and `1e400` are
//! not). Such a literal then equals any other literal of the same value, so `300`, `300.0` and
//! `3.0e2` match each other, and `-0` equals `0`. A literal that is not comparable still matches
//! its own text exactly, but never a numeric range.

use std::cmp::Ordering;

/// The comparable value of a JSON number literal, or `None` when a double cannot hold it exactly.
pub(crate) fn comparable(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    // -0 and 0 are the same number to Ruler (it goes through BigDecimal, which has no -0).
    let value = if value == 0.0 { 0.0 } else { value };
    // Fast path: a decimal of at most 15 significant digits in the normal range always survives
    // the trip through a double (DBL_DIG), so no exactness check is needed.
    // (A literal with digits that rounds to zero, like 1e-400, goes the slow way and fails.)
    let digits = significant_digits(text);
    if digits <= 15 && (digits == 0 || value.abs() >= f64::MIN_POSITIVE) {
        return Some(value);
    }
    let shortest = format!("{value:e}");
    (decimal(text)? == decimal(&shortest)?).then_some(value)
}

/// Significant digits in a literal: leading and trailing zeros of the mantissa don't count.
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits = mantissa.bytes().filter(u8::is_ascii_digit);
    let (mut first, mut last) = (None, 0);
    for (i, d) in digits.enumerate() {
        if d != b'0' {
            first.get_or_insert(i);
            last = i;
        }
    }
    first.map_or(0, |f| last - f + 1)
}

/// A decimal literal as (negative, significant digits, exponent) with value `0.DIGITS × 10^exp`;
/// zero is `(false, [], 0)`. Two literals have the same value iff their forms are equal.
fn decimal(text: &str) -> Option<(bool, Vec<u8>, i64)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, "0"),
    };
    // An exponent too large for i64 cannot belong to a finite double anyway.
    let exponent: i64 = exponent.strip_prefix('+').unwrap_or(exponent).parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let Some(first) = all.iter().position(|&d| d != b'0') else {
        return Some((false, Vec::new(), 0));
    };
    let last = all.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let point = i64::try_from(int.len()).ok()? - i64::try_from(first).ok()?;
    Some((negative, all[first..=last].to_vec(), point.checked_add(exponent)?))
}

/// The key numbers are hashed by: the bits of the canonical double.
pub(crate) fn key(value: f64) -> u64 {
    value.to_bits()
}

/// One side of a numeric range: the bound, and whether the bound itself is included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bound {
    pub value: f64,
    pub inclusive: bool,
}

/// A numeric range; a missing side is unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub low: Option<Bound>,
    pub high: Option<Bound>,
}

impl Range {
    pub(crate) fn contains(&self, v: f64) -> bool {
        let above = self.low.is_none_or(|b| match v.partial_cmp(&b.value) {
            Some(Ordering::Greater) => true,
            Some(Ordering::Equal) => b.inclusive,
            _ => false,
        });
        let below = self.high.is_none_or(|b| match v.partial_cmp(&b.value) {
            Some(Ordering::Less) => true,
            Some(Ordering::Equal) => b.inclusive,
            _ => false,
        });
        above && below
    }

    /// The lowest value the range can hold, for ordering ranges by where they start.
    pub(crate) fn start(&self) -> f64 {
        self.low.map_or(f64::NEG_INFINITY, |b| b.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_in_different_spellings_compare_equal() {
        for (a, b) in [
            ("300", "300.0"),
            ("300", "3e2"),
            ("300", "3.0E+2"),
            ("1e2", "100"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("0.5", "5e-1"),
            ("1e300", "1E+300"),
        ] {
            assert_eq!(comparable(a), comparable(b), "{a} vs {b}");
            assert!(comparable(a).is_some(), "{a}");
        }
        assert_ne!(comparable("300"), comparable("300.000001"));
    }

    #[test]
    fn only_exactly_representable_literals_are_comparable() {
        assert_eq!(comparable("0.1"), Some(0.1));
        assert_eq!(comparable("123456789012345"), Some(123_456_789_012_345.0));
        // 2^53 + 1 is not a double.
        assert_eq!(comparable("9007199254740993"), None);
        assert_eq!(comparable("9007199254740992"), Some(9_007_199_254_740_992.0));
        assert_eq!(comparable("0.30000000000000001"), None);
        assert_eq!(comparable("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(comparable("1e400"), None);
        assert_eq!(comparable("-1e400"), None);
        assert_eq!(comparable("5e-324"), Some(5e-324));
        assert_eq!(comparable("4e-324"), None, "rounds to the smallest subnormal, 5e-324");
        assert_eq!(comparable("1e-400"), None, "rounds to zero");
        assert_eq!(comparable("0e5"), Some(0.0));
        assert_eq!(comparable("5000000000"), Some(5e9));
        assert_eq!(comparable("-5000000000.000001"), Some(-5_000_000_000.000001));
    }

    #[test]
    fn ranges_respect_open_and_closed_bounds() {
        let r = Range {
            low: Some(Bound { value: 0.0, inclusive: false }),
            high: Some(Bound { value: 5.0, inclusive: true }),
        };
        assert!(!r.contains(0.0));
        assert!(r.contains(1e-300));
        assert!(r.contains(5.0));
        assert!(!r.contains(5.000001));
        let open = Range { low: None, high: None };
        assert!(open.contains(f64::MAX) && open.contains(f64::MIN));
    }
}
