//! Unique ids in AWS's shapes: a four-letter prefix naming the kind (`AROA` roles, `ANPA`
//! managed policies) and 17 uppercase letters and digits.

use types::ids::UPPER_ALNUM as ALPHABET;

pub fn role_id() -> String {
    format!("AROA{}", random(17))
}

pub fn policy_id() -> String {
    format!("ANPA{}", random(17))
}

fn random(n: usize) -> String {
    types::ids::random_chars(ALPHABET, n)
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
