//! DynamoDB's number type: an exact decimal of at most 38 significant digits whose magnitude
//! lies in 1E-130 ..= 9.99…E+125, with exact comparison, addition and subtraction.
//!
//! Floating point would round, and `rust_decimal` stops at 28 digits, so a number is kept as
//! its significant digits (one per byte, no leading or trailing zeros) and a power of ten. All
//! values this type can hold are already in DynamoDB's range, so arithmetic stays small: an
//! intermediate result has at most a few hundred digits before it is normalized and checked.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

/// Significant digits DynamoDB keeps.
pub const MAX_DIGITS: usize = 38;
/// The largest power of ten of a number's leading digit (9.99…E+125).
const MAX_LEADING_EXPONENT: i64 = 125;
/// The smallest power of ten of a number's leading digit (1E-130).
const MIN_LEADING_EXPONENT: i64 = -130;

/// An exact DynamoDB number. Equal numbers have equal representations ("1.0" and "01" are the
/// same `Number`), so derived equality and hashing are numeric.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Significant digits (0..=9), most significant first; empty for zero.
    digits: Vec<u8>,
    /// The value is `digits × 10^scale`.
    scale: i32,
}

impl Number {
    /// Zero.
    pub fn zero() -> Self {
        Self { negative: false, digits: Vec::new(), scale: 0 }
    }

    /// Reads a number as DynamoDB accepts it: an optional sign, digits with an optional point,
    /// an optional exponent (`-1.5e3`, `.5`, `5.`, `+7`), then checks range and precision.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let not_a_number = || Error::NotANumber(text.to_owned());
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&sign @ (b'+' | b'-')) = bytes.first() {
            negative = sign == b'-';
            i = 1;
        }
        let mut digits = Vec::new();
        let mut fraction_len: i64 = 0;
        let mut seen_point = false;
        let mut seen_digit = false;
        while let Some(&c) = bytes.get(i) {
            match c {
                b'0'..=b'9' => {
                    seen_digit = true;
                    // Leading zeros carry no information; dropping them early keeps huge
                    // inputs like "000…0001" cheap.
                    if !(digits.is_empty() && c == b'0') {
                        digits.push(c - b'0');
                    }
                    if seen_point {
                        fraction_len += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if !seen_digit {
            return Err(not_a_number());
        }
        let mut exponent: i64 = 0;
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            let mut exp_negative = false;
            if let Some(&sign @ (b'+' | b'-')) = bytes.get(i) {
                exp_negative = sign == b'-';
                i += 1;
            }
            let start = i;
            while let Some(&c @ b'0'..=b'9') = bytes.get(i) {
                // Saturate: anything this large is out of range either way.
                exponent = (exponent * 10 + i64::from(c - b'0')).min(1_000_000_000_000);
                i += 1;
            }
            if i == start {
                return Err(not_a_number());
            }
            if exp_negative {
                exponent = -exponent;
            }
        }
        if i != bytes.len() {
            return Err(not_a_number());
        }
        let scale = exponent.saturating_sub(fraction_len);
        Self::normalized(negative, digits, scale)
    }

    /// Strips zeros, then refuses what DynamoDB cannot store, in DynamoDB's order: overflow,
    /// underflow, precision.
    fn normalized(negative: bool, mut digits: Vec<u8>, mut scale: i64) -> Result<Self, Error> {
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
            scale += 1;
        }
        if digits.is_empty() {
            return Ok(Self::zero());
        }
        let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
        let leading_exponent = scale.saturating_add(len - 1);
        if leading_exponent > MAX_LEADING_EXPONENT {
            return Err(Error::NumberOverflow);
        }
        if leading_exponent < MIN_LEADING_EXPONENT {
            return Err(Error::NumberUnderflow);
        }
        if digits.len() > MAX_DIGITS {
            return Err(Error::NumberPrecision);
        }
        // In range, so the scale is within a few hundred of zero.
        let scale = i32::try_from(scale).map_err(|_| Error::NumberOverflow)?;
        Ok(Self { negative, digits, scale })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// How many significant digits (at least one, for zero): the basis of the size formula.
    pub fn significant_digits(&self) -> usize {
        self.digits.len().max(1)
    }

    /// `self + other`, exact; fails as DynamoDB does when the sum does not fit.
    pub fn checked_add(&self, other: &Number) -> Result<Number, Error> {
        if other.is_zero() {
            return Ok(self.clone());
        }
        if self.is_zero() {
            return Ok(other.clone());
        }
        let scale = self.scale.min(other.scale);
        let a = self.aligned(scale);
        let b = other.aligned(scale);
        let (negative, magnitude) = if self.negative == other.negative {
            (self.negative, add_magnitudes(&a, &b))
        } else {
            match compare_magnitudes(&a, &b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, subtract_magnitudes(&a, &b)),
                Ordering::Less => (other.negative, subtract_magnitudes(&b, &a)),
            }
        };
        Self::normalized(negative, magnitude, i64::from(scale))
    }

    /// `self - other`, exact.
    pub fn checked_sub(&self, other: &Number) -> Result<Number, Error> {
        self.checked_add(&other.negated())
    }

    pub fn negated(&self) -> Number {
        Number { negative: !self.negative && !self.is_zero(), ..self.clone() }
    }

    /// The digits shifted so that the value is `result × 10^scale` (`scale` ≤ `self.scale`).
    fn aligned(&self, scale: i32) -> Vec<u8> {
        let shift = usize::try_from(self.scale - scale).unwrap_or(0);
        let mut out = Vec::with_capacity(self.digits.len() + shift);
        out.extend_from_slice(&self.digits);
        out.resize(self.digits.len() + shift, 0);
        out
    }

    /// The power of ten of the leading digit; meaningless for zero.
    fn leading_exponent(&self) -> i64 {
        i64::from(self.scale) + self.digits.len() as i64 - 1
    }

    fn compare_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        // Same leading power: the digit strings compare lexicographically, a prefix being
        // smaller, because neither has trailing zeros.
        self.leading_exponent().cmp(&other.leading_exponent()).then_with(|| self.digits.cmp(&other.digits))
    }
}

/// Compares two digit strings of the same alignment as integers.
fn compare_magnitudes(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_leading_zeros(a);
    let b = strip_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_leading_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|&&x| x == 0).count();
    &d[n..]
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let len = a.len().max(b.len()) + 1;
    let mut out = vec![0u8; len];
    let mut carry = 0;
    for i in 0..len {
        let x = digit_from_right(a, i) + digit_from_right(b, i) + carry;
        out[len - 1 - i] = x % 10;
        carry = x / 10;
    }
    out
}

/// `a - b` for `a ≥ b`.
fn subtract_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let len = a.len().max(b.len());
    let mut out = vec![0u8; len];
    let mut borrow = 0;
    for i in 0..len {
        let mut x = digit_from_right(a, i) as i8 - digit_from_right(b, i) as i8 - borrow;
        borrow = 0;
        if x < 0 {
            x += 10;
            borrow = 1;
        }
        out[len - 1 - i] = x as u8;
    }
    out
}

fn digit_from_right(d: &[u8], i: usize) -> u8 {
    if i < d.len() { d[d.len() - 1 - i] } else { 0 }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.compare_magnitude(other),
            (true, true) => other.compare_magnitude(self),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The canonical form DynamoDB answers with: plain notation, no exponent, no superfluous zeros
/// ("1.0" → "1", "01" → "1", "1e3" → "1000", "-0" → "0").
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut s = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            s.push('-');
        }
        let digit = |d: &u8| char::from(b'0' + d);
        if self.scale >= 0 {
            s.extend(self.digits.iter().map(digit));
            s.extend(std::iter::repeat_n('0', self.scale as usize));
        } else {
            let point = self.digits.len() as i64 + i64::from(self.scale);
            if point > 0 {
                let (int, frac) = self.digits.split_at(point as usize);
                s.extend(int.iter().map(digit));
                s.push('.');
                s.extend(frac.iter().map(digit));
            } else {
                s.push_str("0.");
                s.extend(std::iter::repeat_n('0', (-point) as usize));
                s.extend(self.digits.iter().map(digit));
            }
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl std::str::FromStr for Number {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        Number::parse(&value.to_string()).expect("every i64 has at most 19 digits")
    }
}
