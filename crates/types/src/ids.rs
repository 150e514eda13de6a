//! Random identifiers in AWS's shapes (`AROA…`, `ASIA…`, secrets): characters drawn from an
//! alphabet with the operating system's randomness.

/// Uppercase letters and digits: the alphabet of AWS resource ids and access key ids.
pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// `n` characters drawn from `alphabet`, with the randomness behind UUID v4. These ids only need
/// to be unique, not unpredictable to a cryptographer, so the slight bias of `% len` does not
/// matter.
pub fn random_chars(alphabet: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n);
    if alphabet.is_empty() {
        return out;
    }
    while out.len() < n {
        let uuid = uuid::Uuid::new_v4();
        // Bytes 6 and 8 carry the UUID's fixed version and variant bits.
        for (_, b) in uuid.as_bytes().iter().enumerate().filter(|(i, _)| *i != 6 && *i != 8) {
            if out.len() == n {
                break;
            }
            out.push(char::from(alphabet[usize::from(*b) % alphabet.len()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_alphabet() {
        for n in [0, 1, 14, 17, 40, 356] {
            let s = random_chars(UPPER_ALNUM, n);
            assert_eq!(s.len(), n);
            assert!(s.bytes().all(|b| UPPER_ALNUM.contains(&b)));
        }
        assert_ne!(random_chars(UPPER_ALNUM, 17), random_chars(UPPER_ALNUM, 17));
        assert_eq!(random_chars(b"", 5), "");
    }
}
