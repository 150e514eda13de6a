//! DynamoDB's reserved words: a bare attribute name in an expression may not be one of them
//! (any case); `#placeholders` exist to get around it.
//!
//! The list is the one the DynamoDB developer guide publishes ("Reserved words in DynamoDB"),
//! kept as data in `reserved_words.txt`, in alphabetical order.

use std::sync::OnceLock;

const LIST: &str = include_str!("reserved_words.txt");

fn words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words: Vec<&str> = LIST.split_whitespace().collect();
        words.sort_unstable();
        words
    })
}

/// Whether `name` is a reserved word, in any case.
pub fn is_reserved(name: &str) -> bool {
    // No reserved word is longer than this; longer names skip the uppercase copy.
    if name.len() > 16 || !name.is_ascii() {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    words().binary_search(&upper.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_list() {
        assert_eq!(words().len(), 573);
        for word in ["status", "Name", "SIZE", "ttl", "zone", "abort"] {
            assert!(is_reserved(word), "{word}");
        }
        for word in ["pk", "sk", "image", "status_code", "é"] {
            assert!(!is_reserved(word), "{word}");
        }
        assert!(words().iter().all(|w| w.len() <= 16));
    }
}
