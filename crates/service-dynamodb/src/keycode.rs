//! The order-preserving binary encoding of key attribute values, so that the store's bytewise
//! key order is DynamoDB's order: strings and binary bytewise, numbers numerically.
//!
//! Every encoding is self-delimiting, so the concatenation `enc(partition) ++ enc(sort)` orders
//! as the pair does and a partition's items are one contiguous range:
//! - S and B: the bytes with `00` escaped as `00 FF`, then the terminator `00 01`. Any byte
//!   after a common prefix decides as it would unescaped, and the end sorts before every byte.
//! - N: a class byte (negative `01`, zero `02`, positive `03`), then for non-zero numbers the
//!   power of ten of the leading digit (+ 0x8000, two bytes big-endian) and the significant
//!   digits as `digit + 1` closed by `00` (no trailing zeros, so a shorter digit string with
//!   the same prefix is the smaller number). A negative number's exponent and digit bytes are
//!   inverted, which reverses their order as negatives need.
//!
//! Only `Number`'s canonical text is used, so this module needs nothing private from it.

use dynamodb_expr::{AttributeValue, Number};

/// Appends the encoding of one key value. Non-key types cannot reach here (keys are checked
/// against the schema first); they encode as nothing, which is harmless.
pub fn encode_value(out: &mut Vec<u8>, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => encode_bytes(out, s.as_bytes()),
        AttributeValue::B(b) => encode_bytes(out, b),
        AttributeValue::N(n) => encode_number(out, n),
        _ => {}
    }
}

fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// The encoding of a string prefix, without its terminator: every encoded string that starts
/// with the prefix starts with these bytes (`begins_with` on the sort key).
pub fn encode_prefix(out: &mut Vec<u8>, value: &AttributeValue) {
    let bytes = match value {
        AttributeValue::S(s) => s.as_bytes(),
        AttributeValue::B(b) => b.as_slice(),
        _ => return,
    };
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
}

fn encode_number(out: &mut Vec<u8>, n: &Number) {
    if n.is_zero() {
        out.push(0x02);
        return;
    }
    let (digits, exponent) = decompose(n);
    let negative = n.is_negative();
    let flip = |b: u8| if negative { !b } else { b };
    out.push(if negative { 0x01 } else { 0x03 });
    // DynamoDB's range keeps the leading exponent within -130..=125.
    let biased = (exponent + 0x8000).clamp(0, 0xffff) as u16;
    for b in biased.to_be_bytes() {
        out.push(flip(b));
    }
    for d in digits {
        out.push(flip(d + 1));
    }
    out.push(flip(0));
}

/// The significant digits and the power of ten of the first, read from the canonical plain
/// notation (`-0.00120` never appears; it is `-0.0012`).
fn decompose(n: &Number) -> (Vec<u8>, i32) {
    let text = n.to_string();
    let text = text.trim_start_matches('-');
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let int = int.trim_start_matches('0');
    let mut digits: Vec<u8> = Vec::with_capacity(int.len() + frac.len());
    let exponent;
    if !int.is_empty() {
        exponent = int.len() as i32 - 1;
        digits.extend(int.bytes().chain(frac.bytes()).map(|c| c - b'0'));
    } else {
        let zeros = frac.bytes().take_while(|&c| c == b'0').count();
        exponent = -(zeros as i32) - 1;
        digits.extend(frac.bytes().skip(zeros).map(|c| c - b'0'));
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    (digits, exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &AttributeValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(&mut out, v);
        out
    }

    /// A small deterministic generator (xorshift), so the property checks need no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_number(rng: &mut Rng) -> Number {
        let len = 1 + rng.below(38) as usize;
        let digits: String = (0..len).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
        let sign = if rng.below(2) == 0 { "-" } else { "" };
        let exp = rng.below(60) as i64 - 30;
        Number::parse(&format!("{sign}{digits}e{exp}")).expect("in range")
    }

    #[test]
    fn numbers_sort_numerically() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut numbers: Vec<Number> = (0..2000).map(|_| random_number(&mut rng)).collect();
        for fixed in
            ["0", "-0", "1", "-1", "10", "9.99", "1e125", "-1e125", "1e-130", "-1e-130", "0.1", "100"]
        {
            numbers.push(Number::parse(fixed).expect("valid"));
        }
        for pair in numbers.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let ea = enc(&AttributeValue::N(a.clone()));
            let eb = enc(&AttributeValue::N(b.clone()));
            assert_eq!(a.cmp(b), ea.cmp(&eb), "{a} vs {b}");
        }
        let mut sorted = numbers.clone();
        sorted.sort();
        let mut by_code = numbers;
        by_code.sort_by_key(|n| enc(&AttributeValue::N(n.clone())));
        assert_eq!(sorted, by_code);
    }

    #[test]
    fn strings_and_binary_sort_bytewise_and_concatenate() {
        let mut rng = Rng(42);
        let alphabet = [0u8, 1, 2, b'a', b'b', 0xfe, 0xff];
        let values: Vec<Vec<u8>> =
            (0..500).map(|_| (0..rng.below(5)).map(|_| alphabet[rng.below(7) as usize]).collect()).collect();
        for a in &values {
            for b in values.iter().take(60) {
                let ea = enc(&AttributeValue::B(a.clone()));
                let eb = enc(&AttributeValue::B(b.clone()));
                assert_eq!(a.cmp(b), ea.cmp(&eb), "{a:?} vs {b:?}");
                // As a partition key followed by any sort key, the pair order holds.
                let mut ka = ea.clone();
                encode_value(&mut ka, &AttributeValue::n("5"));
                let mut kb = eb.clone();
                encode_value(&mut kb, &AttributeValue::n("-5"));
                if a != b {
                    assert_eq!(a.cmp(b), ka.cmp(&kb));
                }
            }
        }
    }

    #[test]
    fn prefix_bytes_start_every_match() {
        let mut p = Vec::new();
        encode_prefix(&mut p, &AttributeValue::s("ab"));
        assert!(enc(&AttributeValue::s("abc")).starts_with(&p));
        assert!(enc(&AttributeValue::s("ab")).starts_with(&p));
        assert!(!enc(&AttributeValue::s("b")).starts_with(&p));
    }
}
