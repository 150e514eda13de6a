//! Unique ids in AWS's shapes: a four-letter prefix naming the kind (`AROA` roles, `ANPA`
//! managed policies) and 17 uppercase letters and digits.

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

pub fn role_id() -> String {
    format!("AROA{}", random(17))
}

pub fn policy_id() -> String {
    format!("ANPA{}", random(17))
}

/// `n` characters of [`ALPHABET`] from the operating system's randomness behind UUID v4
/// (17 characters carry about 88 bits, plenty for ids that only need to be unique).
fn random(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let uuid = uuid::Uuid::new_v4();
        // Bytes 6 and 8 carry the UUID's fixed version and variant bits.
        for (_, b) in uuid.as_bytes().iter().enumerate().filter(|(i, _)| *i != 6 && *i != 8) {
            if out.len() == n {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = role_id();
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AROA"));
        assert!(id.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(policy_id().starts_with("ANPA"));
        assert_ne!(role_id(), role_id());
    }
}
