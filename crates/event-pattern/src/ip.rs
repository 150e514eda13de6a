//! IP addresses and CIDR blocks, IPv4 and IPv6, as inclusive ranges of integers.
//!
//! Ruler's quirks are kept: the block starts at the address as written, not at the network
//! address (`10.0.0.5/24` spans `10.0.0.5`–`10.0.0.255`), and the mask must be below the address
//! width (`/32` and `/128` are refused). An IPv4 address only ever falls in an IPv4 block.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct IpRange {
    pub v6: bool,
    pub low: u128,
    pub high: u128,
}

impl IpRange {
    pub(crate) fn contains(&self, (v6, addr): (bool, u128)) -> bool {
        self.v6 == v6 && self.low <= addr && addr <= self.high
    }

    /// The block holding exactly one address.
    pub(crate) fn single((v6, addr): (bool, u128)) -> Self {
        IpRange { v6, low: addr, high: addr }
    }
}

/// An address literal as (is IPv6, value), or `None` if the text is not one.
pub(crate) fn parse_ip(text: &str) -> Option<(bool, u128)> {
    // Cheap refusal first: event strings are mostly not addresses.
    let first = *text.as_bytes().first()?;
    if !(first.is_ascii_hexdigit() || first == b':') || text.len() > 45 {
        return None;
    }
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some((false, u128::from(u32::from(a)))),
        IpAddr::V6(a) => Some((true, u128::from(a))),
    }
}

/// Parses `address/bits` with Ruler's reasons for refusing it.
pub(crate) fn parse_cidr(text: &str) -> Result<IpRange, String> {
    // Java's `split("/")` drops trailing empty pieces, so `10.0.0.0/` has one piece, not two.
    let mut pieces: Vec<&str> = text.split('/').collect();
    while pieces.last() == Some(&"") {
        pieces.pop();
    }
    let [address, bits] = pieces[..] else {
        return Err("Malformed CIDR, one '/' required".to_owned());
    };
    let bits =
        java_parse_int(bits).ok_or_else(|| "Malformed CIDR, mask bits must be an integer".to_owned())?;
    if bits < 0 {
        return Err("Malformed CIDR, mask bits must not be negative".to_owned());
    }
    let (v6, addr) = parse_ip(address).ok_or_else(|| format!("Nonstandard IP address: {address}"))?;
    let width: u32 = if v6 { 128 } else { 32 };
    let bits = u32::try_from(bits).unwrap_or(u32::MAX);
    if bits >= width {
        return Err(
            if v6 { "IPv6 mask bits must be < 128" } else { "IPv4 mask bits must be < 32" }.to_owned()
        );
    }
    let host_bits = width - bits;
    let host_mask = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    Ok(IpRange { v6, low: addr, high: addr | host_mask })
}

/// `Integer.parseInt`: an optional sign, decimal digits, and it must fit in an i32.
fn java_parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = text.parse().ok()?;
    i32::try_from(value).ok().map(i64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_blocks() {
        let r = parse_cidr("10.0.0.0/24").expect("valid");
        assert!(r.contains(parse_ip("10.0.0.255").expect("ip")));
        assert!(!r.contains(parse_ip("10.0.1.0").expect("ip")));
        assert!(parse_cidr("0.0.0.0/0").expect("valid").contains(parse_ip("255.255.255.255").expect("ip")));
        let quirk = parse_cidr("10.0.0.5/24").expect("valid");
        assert!(
            !quirk.contains(parse_ip("10.0.0.4").expect("ip")),
            "the block starts at the address as written"
        );
    }

    #[test]
    fn ipv6_blocks() {
        let r = parse_cidr("2001:db8:1234:1a00::/64").expect("valid");
        assert!(r.contains(parse_ip("2001:0db8:1234:1a00:0000:0000:0000:0000").expect("ip")));
        assert!(r.contains(parse_ip("2001:db8:1234:1a00:ffff:ffff:ffff:ffff").expect("ip")));
        assert!(!r.contains(parse_ip("2001:db8:1234:1a01::").expect("ip")));
        assert!(!r.contains(parse_ip("10.0.0.1").expect("ip")), "families never mix");
        assert!(parse_cidr("::/0").expect("valid").contains(parse_ip("ffff::1").expect("ip")));
    }

    #[test]
    fn refusals_carry_ruler_reasons() {
        let err = |s: &str| parse_cidr(s).expect_err(s);
        assert_eq!(err("10.0.0.0"), "Malformed CIDR, one '/' required");
        assert_eq!(err("10.0.0.0/"), "Malformed CIDR, one '/' required");
        assert_eq!(err("10.0.0.0/8/8"), "Malformed CIDR, one '/' required");
        assert_eq!(err("10.0.0.0/x"), "Malformed CIDR, mask bits must be an integer");
        assert_eq!(err("10.0.0.0/99999999999"), "Malformed CIDR, mask bits must be an integer");
        assert_eq!(err("10.0.0.0/-1"), "Malformed CIDR, mask bits must not be negative");
        assert_eq!(err("xx.11.xx/8"), "Nonstandard IP address: xx.11.xx");
        assert_eq!(err("xxxx:db8:1234:1a00::/64"), "Nonstandard IP address: xxxx:db8:1234:1a00::");
        assert_eq!(err("10.0.0.0/32"), "IPv4 mask bits must be < 32");
        assert_eq!(err("::/128"), "IPv6 mask bits must be < 128");
        assert_eq!(parse_cidr("10.0.0.0/+8").expect("java accepts a plus sign").high, 0x0AFF_FFFF);
    }
}
